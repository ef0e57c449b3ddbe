use super::*;
use kevents_model::ObjectRef;
use std::time::Duration;

fn config(limits: &str) -> RateLimitConfig {
    let text = format!("kind: Configuration\napiVersion: eventratelimit.admission.k8s.io/v1alpha1\nlimits:\n{limits}");
    RateLimitConfig::from_yaml(&text).expect("valid configuration")
}

fn event(pod: &str) -> EventRecord {
    EventRecord {
        namespace: "default".into(),
        involved_object: ObjectRef {
            kind: "Pod".into(),
            namespace: "default".into(),
            name: pod.into(),
            ..Default::default()
        },
        source_component: "kubelet".into(),
        source_host: "node-1".into(),
        ..Default::default()
    }
}

fn request<'a>(namespace: &'a str, user: &'a str, event: &'a EventRecord) -> RateLimitRequest<'a> {
    RateLimitRequest {
        cluster: "",
        namespace,
        user,
        event,
    }
}

#[test]
fn the_plugin_configuration_parses() {
    let parsed = config("- type: Namespace\n  qps: 50\n  burst: 100\n  cacheSize: 2000\n- type: Server\n  qps: 5\n  burst: 20\n");
    assert_eq!(
        parsed.limits,
        vec![
            Limit {
                limit_type: LimitType::Namespace,
                qps: 50,
                burst: 100,
                cache_size: 2000
            },
            Limit {
                limit_type: LimitType::Server,
                qps: 5,
                burst: 20,
                cache_size: 0
            },
        ]
    );
    assert_eq!(parsed.limits[0].buckets(), 2000);
    assert_eq!(parsed.limits[1].buckets(), 1);
    let json = r#"{"kind":"Configuration","apiVersion":"eventratelimit.admission.k8s.io/v1alpha1","limits":[{"type":"User","qps":1,"burst":1}]}"#;
    assert_eq!(
        RateLimitConfig::from_yaml(json).map(|c| c.limits[0].buckets()),
        Ok(DEFAULT_CACHE_SIZE)
    );
}

#[test]
fn bad_configurations_name_the_field() {
    let header = "kind: Configuration\napiVersion: eventratelimit.admission.k8s.io/v1alpha1\n";
    let unknown_field = RateLimitConfig::from_yaml(&format!(
        "{header}limits:\n- type: User\n  qps: 1\n  burst: 1\n  burts: 2\n"
    ));
    assert!(
        matches!(&unknown_field, Err(RateLimitConfigError::Parse(m)) if m.contains("burts")),
        "{unknown_field:?}"
    );
    let unknown_type = RateLimitConfig::from_yaml(&format!(
        "{header}limits:\n- type: Pod\n  qps: 1\n  burst: 1\n"
    ));
    assert!(
        matches!(&unknown_type, Err(RateLimitConfigError::Parse(m)) if m.contains("Pod")),
        "{unknown_type:?}"
    );
    let missing = RateLimitConfig::from_yaml(&format!("{header}limits:\n- type: User\n  qps: 1\n"));
    assert!(
        matches!(&missing, Err(RateLimitConfigError::Parse(m)) if m.contains("burst")),
        "{missing:?}"
    );
    let invalid = RateLimitConfig::from_yaml(
        "kind: Config\napiVersion: v1\nlimits:\n- type: User\n  qps: 0\n  burst: -1\n  cacheSize: -5\n",
    );
    let Err(RateLimitConfigError::Invalid(problems)) = invalid else {
        panic!("invalid values are reported: {invalid:?}");
    };
    assert_eq!(
        problems,
        vec![
            "kind: Unsupported value: \"Config\": supported values: \"Configuration\"",
            "apiVersion: Unsupported value: \"v1\": supported values: \"eventratelimit.admission.k8s.io/v1alpha1\"",
            "limits[0].burst: Invalid value: -1: must be positive",
            "limits[0].qps: Invalid value: 0: must be positive",
            "limits[0].cacheSize: Invalid value: -5: must not be negative",
        ]
    );
    let empty = RateLimitConfig::from_yaml(&format!("{header}limits: []\n"));
    assert!(
        matches!(empty, Err(RateLimitConfigError::Invalid(p)) if p[0].contains("must not be empty"))
    );
}

#[test]
fn server_limits_share_one_bucket() {
    let mut limiter = RateLimiter::new(&config("- type: Server\n  qps: 1\n  burst: 2\n"));
    let now = Instant::now();
    let (a, b) = (event("a"), event("b"));
    assert!(limiter.check(&request("one", "alice", &a), now).is_ok());
    assert!(limiter.check(&request("two", "bob", &b), now).is_ok());
    let refused = limiter
        .check(&request("three", "carol", &a), now)
        .expect_err("bucket empty");
    assert_eq!(refused.limit_type, LimitType::Server);
    assert_eq!(refused.retry_after_seconds, 1);
    assert_eq!(refused.to_string(), "limit reached on type Server for key ");
    assert!(limiter
        .check(&request("three", "carol", &a), now + Duration::from_secs(1))
        .is_ok());
}

#[test]
fn namespace_user_and_source_object_limits_keep_a_bucket_per_key() {
    let mut limiter = RateLimiter::new(&config(
        "- type: Namespace\n  qps: 1\n  burst: 1\n- type: User\n  qps: 1\n  burst: 2\n- type: SourceAndObject\n  qps: 1\n  burst: 3\n",
    ));
    let now = Instant::now();
    let (a, b) = (event("a"), event("b"));
    assert!(limiter.check(&request("one", "alice", &a), now).is_ok());
    let by_namespace = limiter
        .check(&request("one", "bob", &b), now)
        .expect_err("namespace one is spent");
    assert_eq!(
        (by_namespace.limit_type, by_namespace.key.as_str()),
        (LimitType::Namespace, "one")
    );
    assert!(limiter.check(&request("two", "carol", &b), now).is_ok());
    assert!(limiter.check(&request("three", "alice", &a), now).is_ok());
    let by_user = limiter
        .check(&request("four", "alice", &b), now)
        .expect_err("alice spent her burst of 2");
    assert_eq!(
        (by_user.limit_type, by_user.key.as_str()),
        (LimitType::User, "alice")
    );
    let by_source = limiter
        .check(&request("five", "dave", &b), now)
        .expect_err("pod b's bucket of 3 is spent");
    assert_eq!(
        (by_source.limit_type, by_source.key.as_str()),
        (LimitType::SourceAndObject, "kubelet/node-1/Pod/default/b")
    );
    let stats = limiter.stats();
    assert_eq!((stats.checked, stats.refused), (6, 3));
    assert_eq!(stats.refused_by[LimitType::Namespace.index()], 1);
}

#[test]
fn every_limit_is_charged_even_when_one_refuses() {
    let mut limiter = RateLimiter::new(&config(
        "- type: Namespace\n  qps: 1\n  burst: 1\n- type: User\n  qps: 1\n  burst: 2\n",
    ));
    let now = Instant::now();
    let a = event("a");
    assert!(limiter.check(&request("one", "alice", &a), now).is_ok());
    assert!(
        limiter.check(&request("one", "alice", &a), now).is_err(),
        "refused by Namespace, charged to User"
    );
    let refused = limiter
        .check(&request("two", "alice", &a), now)
        .expect_err("alice's bucket was charged");
    assert_eq!(refused.limit_type, LimitType::User);
}

#[test]
fn retry_after_is_the_wait_for_a_token_rounded_up() {
    let mut limiter = RateLimiter::new(&config(
        "- type: Namespace\n  qps: 1\n  burst: 1\n- type: Server\n  qps: 1\n  burst: 1\n",
    ));
    let now = Instant::now();
    let a = event("a");
    assert!(limiter.check(&request("one", "", &a), now).is_ok());
    let refused = limiter
        .check(&request("one", "", &a), now + Duration::from_millis(300))
        .expect_err("both empty");
    assert_eq!(refused.retry_after_seconds, 1, "0.7 s rounds up to 1");
}

#[test]
fn an_evicted_bucket_starts_full_again() {
    let mut limiter = RateLimiter::new(&config(
        "- type: Namespace\n  qps: 1\n  burst: 1\n  cacheSize: 1\n",
    ));
    let now = Instant::now();
    let a = event("a");
    assert!(limiter.check(&request("one", "", &a), now).is_ok());
    assert!(limiter.check(&request("one", "", &a), now).is_err());
    assert!(
        limiter.check(&request("two", "", &a), now).is_ok(),
        "evicts namespace one"
    );
    assert!(
        limiter.check(&request("one", "", &a), now).is_ok(),
        "a clean slate, as the plugin documents"
    );
}

#[test]
fn clusters_have_their_own_namespace_buckets() {
    let mut limiter = RateLimiter::new(&config("- type: Namespace\n  qps: 1\n  burst: 1\n"));
    let now = Instant::now();
    let a = event("a");
    assert!(limiter.check(&request("default", "", &a), now).is_ok());
    let other = RateLimitRequest {
        cluster: "prod",
        ..request("default", "", &a)
    };
    assert!(limiter.check(&other, now).is_ok());
    let refused = limiter.check(&other, now).expect_err("spent");
    assert_eq!(refused.key, "prod/default");
}
