use super::*;

#[test]
fn attributes_of_event_paths() {
    let a = attributes("GET", "/api/v1/namespaces/prod/events", "limit=500", "c").unwrap();
    assert_eq!(
        (a.verb.as_str(), a.namespace.as_deref(), a.group.as_str()),
        ("list", Some("prod"), "")
    );
    let a = attributes("GET", "/apis/events.k8s.io/v1/events", "watch=true", "c").unwrap();
    assert_eq!(
        (a.verb.as_str(), a.namespace, a.group.as_str()),
        ("watch", None, "events.k8s.io")
    );
    let a = attributes("DELETE", "/api/v1/namespaces/p/events/x", "", "c").unwrap();
    assert_eq!((a.verb.as_str(), a.name.as_deref()), ("delete", Some("x")));
    assert_eq!(
        attributes("GET", "/api/v1/watch/namespaces/p/events/x", "", "c")
            .unwrap()
            .verb,
        "watch"
    );
    let a = attributes("GET", "/apis/kevents.io/v1/eventseries", "", "c").unwrap();
    assert_eq!(
        (
            a.verb.as_str(),
            a.group.as_str(),
            a.resource.as_str(),
            a.namespace
        ),
        ("list", "kevents.io", "eventseries", None)
    );
    let a = attributes("GET", "/apis/kevents.io/v1/eventpatterns/p1", "", "c").unwrap();
    assert_eq!(
        (a.verb.as_str(), a.resource.as_str()),
        ("get", "eventpatterns")
    );
    let a = attributes(
        "GET",
        "/clusters/edge/apis/kevents.io/v1/namespaces/dev/eventcounts",
        "by=object",
        "c",
    )
    .unwrap();
    assert_eq!(
        (a.verb.as_str(), a.group.as_str(), a.resource.as_str()),
        ("list", "", "events")
    );
    assert_eq!(
        (a.namespace.as_deref(), a.cluster.as_str()),
        (Some("dev"), "edge")
    );
    assert!(attributes("GET", "/api/v1", "", "c").is_none());
    assert!(attributes("GET", "/version", "", "c").is_none());
}

#[test]
fn cluster_paths_are_checked_in_their_cluster() {
    let a = attributes(
        "GET",
        "/clusters/prod/api/v1/namespaces/web/events",
        "",
        "own",
    )
    .unwrap();
    assert_eq!(
        (a.verb.as_str(), a.namespace.as_deref(), a.cluster.as_str()),
        ("list", Some("web"), "prod")
    );
    let a = attributes("POST", "/kevents/v1/clusters/prod/ingest", "", "own").unwrap();
    assert_eq!(
        (a.verb.as_str(), a.resource.as_str(), a.cluster.as_str()),
        ("create", "events", "prod")
    );
    let a = attributes("GET", "/kevents/v1/clusters", "", "own").unwrap();
    assert_eq!(
        (a.verb.as_str(), a.group.as_str(), a.cluster.as_str()),
        ("list", "kevents.io", "own")
    );
    let a = attributes("GET", "/kevents/v1/clusters", "watch=1", "own").unwrap();
    assert_eq!(
        (a.verb.as_str(), a.resource.as_str(), a.cluster.as_str()),
        ("watch", "clusters", "own")
    );
    assert!(attributes("GET", "/clusters/prod/api", "", "own").is_none());
    assert!(attributes("DELETE", "/kevents/v1/clusters/prod/ingest", "", "own").is_none());
}

#[test]
fn forbidden_message_matches_the_apiserver() {
    let who = Identity {
        user: "bob".into(),
        uid: String::new(),
        groups: vec![],
    };
    let what = attributes("GET", "/api/v1/namespaces/prod/events", "", "c").unwrap();
    assert_eq!(
        forbidden(&who, &what).message,
        r#"events is forbidden: User "bob" cannot list resource "events" in API group "" in the namespace "prod""#
    );
    let what = attributes("GET", "/apis/events.k8s.io/v1/events", "", "c").unwrap();
    assert_eq!(
        forbidden(&who, &what).message,
        r#"events.events.k8s.io is forbidden: User "bob" cannot list resource "events" in API group "events.k8s.io" at the cluster scope"#
    );
}

#[test]
fn system_masters_is_allowed_everything_without_a_policy() {
    let security = Security {
        client_certificates: true,
        ..Security::default()
    };
    let delete = attributes("DELETE", "/api/v1/namespaces/p/events/x", "", "c").unwrap();
    let admin = Identity {
        user: "admin".into(),
        uid: String::new(),
        groups: vec!["system:authenticated".into(), SUPERUSER_GROUP.into()],
    };
    let someone = Identity {
        groups: vec!["system:authenticated".into()],
        ..admin.clone()
    };
    assert!(security.allows(&admin, &delete));
    assert!(
        !security.allows(&someone, &delete),
        "without a policy everyone else is denied"
    );
}
