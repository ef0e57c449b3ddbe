//! Bad input through the endpoint's own calls: refused with a message, nothing changed.

use super::*;

#[tokio::test]
async fn bad_input_is_refused_with_a_message_and_changes_nothing() {
    let f = fixture().await;
    let before = f.server.current_revision();
    let pod = b"/registry/pods/default/web";
    let refused = f
        .server
        .txn(optimistic_put(pod, value("pod"), 0, 0))
        .await
        .unwrap_err();
    assert!(matches!(refused, EtcdError::Refused(_)));
    assert!(
        refused.to_string().contains("/registry/events/"),
        "{refused}"
    );
    let malformed = f
        .server
        .txn(optimistic_put(&key("x"), b"{}".to_vec(), 0, 0))
        .await
        .unwrap_err();
    assert!(malformed.to_string().contains("k8s\\0"), "{malformed}");
    let huge = envelope(&vec![b'x'; 2 << 20]);
    let too_large = f
        .server
        .txn(optimistic_put(&key("x"), huge, 0, 0))
        .await
        .unwrap_err();
    assert!(matches!(too_large, EtcdError::TooLarge { .. }));
    let nested = TxnRequest {
        success: vec![op(Request::Txn(TxnRequest::default()))],
        ..Default::default()
    };
    assert!(matches!(
        f.server.txn(nested).await.unwrap_err(),
        EtcdError::Unsupported(_)
    ));
    let no_lease = f
        .server
        .txn(optimistic_put(&key("x"), value("x"), 0, 42))
        .await
        .unwrap_err();
    assert_eq!(no_lease, EtcdError::LeaseNotFound);
    assert_eq!(f.server.current_revision(), before);
    assert!(f.store.get(&EventKey::new("default", "x")).is_none());
    let status: tonic::Status = refused.into();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
}
