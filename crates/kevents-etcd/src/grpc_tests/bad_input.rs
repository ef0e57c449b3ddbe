//! Bad input answers a status with a message and changes nothing.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_over_grpc_is_a_status_with_a_message_and_changes_nothing() {
    let e = endpoint(None).await;
    put(&e.server, "a", "one").await;
    let before = e.server.current_revision();
    let mut client = connect(e.address, None).await.unwrap();
    let put_path = "/etcdserverpb.KV/Put";
    let txn_path = "/etcdserverpb.KV/Txn";
    let put_of = |key: Vec<u8>, value: Vec<u8>| PutRequest {
        key,
        value,
        ..Default::default()
    };
    let refused = |status: Status, code: tonic::Code, text: &str| {
        assert_eq!(status.code(), code, "{status:?}");
        assert!(status.message().contains(text), "{status:?}");
    };
    let outside = put_of(b"/registry/pods/default/web".to_vec(), event_value("pod"));
    let answer = call::<_, PutResponse>(&mut client, put_path, outside).await;
    refused(
        answer.unwrap_err(),
        tonic::Code::InvalidArgument,
        "/registry/events/",
    );
    for value in [
        b"{\"kind\":\"Event\"}".to_vec(),
        b"k8s\0\xff\xff\x01".to_vec(),
    ] {
        let answer = call::<_, PutResponse>(&mut client, put_path, put_of(key("b"), value)).await;
        refused(
            answer.unwrap_err(),
            tonic::Code::InvalidArgument,
            "cannot store",
        );
    }
    // Past the value limit, and past the message limit as well (refused by the codec).
    for (kib, code) in [
        (1540, tonic::Code::InvalidArgument),
        (2048, tonic::Code::OutOfRange),
    ] {
        let huge = put_of(key("b"), envelope(&vec![b'x'; kib * 1024]));
        let answer = call::<_, PutResponse>(&mut client, put_path, huge).await;
        refused(answer.unwrap_err(), code, "too large");
    }
    let shapes = [
        // A compare over a range of keys.
        TxnRequest {
            compare: vec![Compare {
                key: key("a"),
                range_end: key("z"),
                target_union: Some(TargetUnion::Version(1)),
                ..Default::default()
            }],
            ..Default::default()
        },
        // A put that keeps the old value.
        TxnRequest {
            success: vec![RequestOp {
                request: Some(Request::Put(PutRequest {
                    ignore_value: true,
                    ..put_of(key("a"), event_value("x"))
                })),
            }],
            ..Default::default()
        },
        // A nested transaction.
        TxnRequest {
            success: vec![RequestOp {
                request: Some(Request::Txn(TxnRequest::default())),
            }],
            ..Default::default()
        },
    ];
    for shape in shapes {
        let answer = call::<_, TxnResponse>(&mut client, txn_path, shape).await;
        refused(
            answer.unwrap_err(),
            tonic::Code::Unimplemented,
            "kevents does not serve",
        );
    }
    let defragment = "/etcdserverpb.Maintenance/Defragment";
    let answer = call::<_, StatusResponse>(&mut client, defragment, StatusRequest {}).await;
    refused(answer.unwrap_err(), tonic::Code::Unimplemented, defragment);

    assert_eq!(e.server.current_revision(), before);
    let all = RangeRequest {
        key: b"/registry/events/".to_vec(),
        range_end: b"/registry/events0".to_vec(),
        ..Default::default()
    };
    let answer: RangeResponse = call(&mut client, "/etcdserverpb.KV/Range", all)
        .await
        .unwrap();
    assert_eq!(answer.kvs.len(), 1);
    assert_eq!(answer.kvs[0].value, event_value("one"));
    assert!(
        e.server
            .hub_settled(std::time::Duration::from_secs(30))
            .await
    );
    assert_eq!(
        e.store.stats().events,
        1,
        "the hub holds only the good event"
    );
}
