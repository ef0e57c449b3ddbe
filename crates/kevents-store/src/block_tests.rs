//! Round trips of sealed blocks, including every field of an event.

use super::*;
use kevents_model::EventField;
use std::collections::BTreeMap;

/// Every field set, with values that exercise each encoding's edge.
fn full(i: u64) -> StoredEvent {
    let at = Micros(1_760_000_000_123_456 + i as i64 * 1_000_037);
    let mut labels = BTreeMap::new();
    labels.insert("app".to_string(), format!("web-{}", i % 3));
    let mut extra = serde_json::Map::new();
    extra.insert("finalizers".into(), serde_json::json!(["x"]));
    // Destructured without `..`: a new field makes this fail to compile until the block format
    // stores it.
    let EventRecord {
        cluster,
        source_resource_version,
        namespace,
        name,
        generate_name,
        uid,
        resource_version,
        creation_timestamp,
        labels,
        annotations,
        extra_metadata,
        involved_object,
        related,
        reason,
        message,
        event_type,
        action,
        reporting_controller,
        reporting_instance,
        event_time,
        series,
        source_component,
        source_host,
        first_timestamp,
        last_timestamp,
        count,
    } = EventRecord {
        cluster: if i.is_multiple_of(2) { "" } else { "prod" }.into(),
        source_resource_version: format!("{}", 900 + i),
        namespace: "default".into(),
        name: if i.is_multiple_of(3) {
            format!("web-{i}.{:x}", 0x17f0_0000_0000_0000u64 + i)
        } else {
            format!("web-{i}.0{i}") // a leading zero: kept as text
        },
        generate_name: if i == 1 { "web-".into() } else { String::new() },
        uid: if i.is_multiple_of(4) {
            "not-a-uuid".into()
        } else {
            format!("0193a4b2-7c1d-4e5f-8a9b-{:012x}", i)
        },
        resource_version: 1000 - i * 7,
        creation_timestamp: Some(Micros(at.0 - at.0 % 1_000_000)),
        labels,
        annotations: BTreeMap::new(),
        extra_metadata: extra,
        involved_object: ObjectRef {
            kind: "Pod".into(),
            namespace: "default".into(),
            name: format!("web-{i}"),
            uid: format!("AB{i}"),
            api_version: "v1".into(),
            resource_version: "77".into(),
            field_path: "spec.containers{web}".into(),
        },
        related: (i == 2).then(|| ObjectRef {
            kind: "Node".into(),
            name: "node-1".into(),
            ..Default::default()
        }),
        reason: "BackOff".into(),
        message: format!("Back-off restarting failed container web in pod web-{i} ✓"),
        event_type: "Warning".into(),
        action: "Restart".into(),
        reporting_controller: "kubelet".into(),
        reporting_instance: "node-1".into(),
        event_time: (i % 2 == 1).then_some(Micros(at.0 - 5)),
        series: (i % 3 == 1).then_some(Series {
            count: i as i32,
            last_observed: (i > 3).then_some(Micros(i64::MIN + 1)),
        }),
        source_component: "kubelet".into(),
        source_host: "node-1".into(),
        first_timestamp: Some(Micros(-3_000_000)),
        last_timestamp: Some(Micros(i64::MAX)),
        count: -(i as i32),
    };
    StoredEvent {
        record: EventRecord {
            cluster,
            source_resource_version,
            namespace,
            name,
            generate_name,
            uid,
            resource_version,
            creation_timestamp,
            labels,
            annotations,
            extra_metadata,
            involved_object,
            related,
            reason,
            message,
            event_type,
            action,
            reporting_controller,
            reporting_instance,
            event_time,
            series,
            source_component,
            source_host,
            first_timestamp,
            last_timestamp,
            count,
        },
        updated_at: at,
    }
}

#[test]
fn every_field_survives_a_block_round_trip() {
    let events: Vec<StoredEvent> = (0..40).map(full).collect();
    let refs: Vec<&StoredEvent> = events.iter().collect();
    assert_eq!(decode(&encode(&refs)).unwrap(), events);
    let empty = StoredEvent {
        record: EventRecord::default(),
        updated_at: Micros(0),
    };
    assert_eq!(decode(&encode(&[&empty])).unwrap(), vec![empty]);
    assert!(decode(&encode(&[])).unwrap().is_empty());
}

#[test]
fn truncated_or_extended_blocks_do_not_decode() {
    let events: Vec<StoredEvent> = (0..5).map(full).collect();
    let refs: Vec<&StoredEvent> = events.iter().collect();
    let bytes = encode(&refs);
    for cut in [1, bytes.len() / 2, bytes.len() - 1] {
        assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(decode(&longer).is_err());
}

#[test]
fn uuids_and_client_go_names_are_recognised_exactly() {
    assert!(parse_uuid("0193a4b2-7c1d-4e5f-8a9b-00000000002a").is_some());
    assert!(parse_uuid("0193A4B2-7C1D-4E5F-8A9B-00000000002A").is_none());
    assert!(parse_uuid("0193a4b2x7c1d-4e5f-8a9b-00000000002a").is_none());
    let bytes = parse_uuid("0193a4b2-7c1d-4e5f-8a9b-00000000002a").unwrap();
    assert_eq!(format_uuid(&bytes), "0193a4b2-7c1d-4e5f-8a9b-00000000002a");
    let mut record = EventRecord {
        name: "web.17f0".into(),
        ..Default::default()
    };
    record.involved_object.name = "web".into();
    assert_eq!(name_number(&record), Some(0x17f0));
    record.name = "web.017f0".into();
    assert_eq!(name_number(&record), None);
    record.name = "webx17f0".into();
    assert_eq!(name_number(&record), None);
}

#[test]
fn row_views_agree_with_built_events_and_filters_pick_exactly_their_rows() {
    let events: Vec<StoredEvent> = (0..40)
        .map(|i| {
            let mut event = full(i);
            if i % 5 == 0 {
                event.record.event_type = "Normal".into();
                event.record.source_component = String::new(); // source falls back
            }
            event
        })
        .collect();
    let refs: Vec<&StoredEvent> = events.iter().collect();
    let bytes = encode(&refs);
    let fields = [
        EventField::Cluster,
        EventField::Namespace,
        EventField::Reason,
        EventField::Type,
        EventField::ReportingController,
        EventField::Source,
        EventField::ObjectKind,
        EventField::ObjectNamespace,
        EventField::ObjectName,
        EventField::ObjectApiVersion,
        EventField::ObjectResourceVersion,
        EventField::ObjectFieldPath,
    ];
    let mut row = 0;
    decode_where(&bytes, |view| {
        for field in fields {
            assert_eq!(view.field(field), Some(field.value(&events[row].record)));
        }
        assert_eq!(view.field(EventField::Name), None);
        let name = &events[row].record.name;
        assert!(view.name_is(name), "{name}");
        assert!(!view.name_is(&format!("{name}0")));
        assert!(!view.name_is(&name.to_uppercase()));
        assert!(!view.name_is(&name.replacen('.', ".0", 1)), "leading zero");
        row += 1;
        false
    })
    .unwrap();
    assert_eq!(row, events.len());
    let picked = decode_where(&bytes, |view| {
        view.field(EventField::Type) == Some("Normal") || view.object_name() == "web-7"
    })
    .unwrap();
    let expected: Vec<(usize, StoredEvent)> = events
        .iter()
        .cloned()
        .enumerate()
        .filter(|(_, e)| {
            e.record.event_type == "Normal" || e.record.involved_object.name == "web-7"
        })
        .collect();
    assert_eq!(expected.len(), 9);
    assert_eq!(picked, expected);
}

/// UTF-8 is checked where a value is read, not for every value of a block: a damaged value
/// in a column no filter reads and no kept row needs costs nothing, one a filter reads fails
/// the block, and so does one in a row that is built.
#[test]
fn a_damaged_string_fails_the_block_where_it_is_read() {
    let mut events: Vec<StoredEvent> = (0..4).map(full).collect();
    // A message unlike any other (the column stays plain) and a reason in every row.
    events[2].record.message = "MARK-of-damage".into();
    let refs: Vec<&StoredEvent> = events.iter().collect();
    let mut bytes = encode(&refs);
    let at = bytes
        .windows(4)
        .position(|w| w == b"MARK")
        .expect("the message is stored as is");
    bytes[at] = 0xff;
    assert!(decode(&bytes).is_err(), "building every row reads it");
    let reasons = decode_where(&bytes, |view| view.field(EventField::Reason).is_some());
    assert!(reasons.is_err(), "row 2 is built");
    let not_row_2 = decode_where(&bytes, |view| view.row != 2).unwrap();
    assert_eq!(
        not_row_2.iter().map(|(row, _)| *row).collect::<Vec<_>>(),
        [0, 1, 3]
    );
    assert_eq!(not_row_2[0].1, events[0]);

    // The same damage in a column a filter reads fails the block even if nothing is kept.
    let mut events: Vec<StoredEvent> = (0..4).map(full).collect();
    events[2].record.involved_object.name = "MARK-object".into();
    let refs: Vec<&StoredEvent> = events.iter().collect();
    let mut bytes = encode(&refs);
    let at = bytes.windows(4).position(|w| w == b"MARK").unwrap();
    bytes[at] = 0xff;
    let by_object = decode_where(&bytes, |view| view.object_name() == "nothing");
    assert!(by_object.is_err());
}

/// One table says where each string field goes: every column of a block, read at its number
/// through a row view, holds the table's value for that row's event, and those values differ
/// from column to column (so a writer and a reader that disagreed on the order would not
/// round-trip, and the round trip above would fail).
#[test]
fn every_string_column_holds_its_fields_value_at_its_number() {
    let events: Vec<StoredEvent> = (0..8).map(distinct_strings).collect();
    let refs: Vec<&StoredEvent> = events.iter().collect();
    let bytes = encode(&refs);
    assert_eq!(decode(&bytes).unwrap(), events);
    let mut row = 0;
    decode_where(&bytes, |view| {
        let record = &events[row].record;
        let json = json_fields(record);
        let mut seen = std::collections::HashSet::new();
        for column in StringColumn::ALL {
            let value = column.value(record, &json);
            assert_eq!(view.column(column), value, "{column:?}");
            assert!(seen.insert(value), "{column:?} repeats {value:?}");
        }
        row += 1;
        false
    })
    .unwrap();
    assert_eq!(row, events.len());
}

/// An event whose string fields all hold different values.
fn distinct_strings(i: u64) -> StoredEvent {
    let mut event = full(i);
    let r = &mut event.record;
    let fields = [
        &mut r.cluster,
        &mut r.namespace,
        &mut r.generate_name,
        &mut r.source_resource_version,
        &mut r.reason,
        &mut r.event_type,
        &mut r.action,
        &mut r.reporting_controller,
        &mut r.reporting_instance,
        &mut r.source_component,
        &mut r.source_host,
        &mut r.involved_object.kind,
        &mut r.involved_object.namespace,
        &mut r.involved_object.name,
        &mut r.involved_object.api_version,
        &mut r.involved_object.resource_version,
        &mut r.involved_object.field_path,
        &mut r.message,
    ];
    for (n, field) in fields.into_iter().enumerate() {
        *field = format!("value-{n}-{i}");
    }
    r.annotations.insert("note".into(), format!("{i}"));
    r.related = Some(ObjectRef {
        kind: "Node".into(),
        ..Default::default()
    });
    event
}
