//! The lines shared between watchers stay within their bytes.

use super::*;
use kevents_model::{EventRecord, Micros};
use kevents_store::StoredEvent;

#[test]
fn shared_watch_lines_of_large_events_stay_within_their_bytes() {
    let event = Arc::new(StoredEvent {
        record: EventRecord {
            namespace: "default".into(),
            name: "big".into(),
            message: "m".repeat(900_000),
            ..Default::default()
        },
        updated_at: Micros(0),
    });
    for version in 0..200 {
        let change = Arc::new(Change {
            resource_version: version,
            change_type: ChangeType::Modified,
            object: event.clone(),
            previous: Some(event.clone()),
            committed_at: Micros(0),
        });
        let line = shared_line(&change, ApiGroup::Core, || Bytes::from(vec![b'x'; 900_000]));
        assert_eq!(line.len(), 900_000);
        let held = LINES.lock().bytes;
        // Other tests may share lines meanwhile; none of them is larger than this one's.
        assert!(
            held <= SHARED_LINES_BYTES + 3_000_000,
            "{held} bytes after {version}"
        );
    }
}
