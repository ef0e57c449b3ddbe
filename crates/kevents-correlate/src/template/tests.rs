use super::*;

#[test]
fn numbers_durations_sizes_and_addresses_are_replaced() {
    let cases = [
        (
            "0/5 nodes are available: 3 Insufficient memory",
            "<n>/<n> nodes are available: <n> Insufficient memory",
        ),
        (
            "Back-off 5m30s restarting failed container",
            "Back-off <duration> restarting failed container",
        ),
        (
            "Pulled image in 1.5s (1.2s including waiting)",
            "Pulled image in <duration> (<duration> including waiting)",
        ),
        (
            "timeout after 300ms and 300µs",
            "timeout after <duration> and <duration>",
        ),
        (
            "Memory limit 512Mi exceeded, usage 1.5Gi of 2G",
            "Memory limit <size> exceeded, usage <size> of <size>",
        ),
        (
            "dial tcp 10.244.1.7:8080: connect: connection refused",
            "dial tcp <ip>: connect: connection refused",
        ),
        (
            "listen on 10.0.0.1 and 10.0.0.0/16",
            "listen on <ip> and <ip>/<n>",
        ),
        (
            "dial tcp [2001:db8::1]:443: i/o timeout",
            "dial tcp <ip>: i/o timeout",
        ),
        (
            "route via fe80::1ff:fe23:4567:890a failed",
            "route via <ip> failed",
        ),
        ("fe80::1: no route", "<ip>: no route"),
        ("ratio 0.25 of 1.25.3", "ratio <n> of <n>.<n>"),
        ("used 85% of quota", "used <n>% of quota"),
    ];
    for (message, want) in cases {
        assert_eq!(template(message), want, "{message}");
    }
}

#[test]
fn identifiers_and_timestamps_are_replaced() {
    let cases = [
        (
            "volume 0b8e3a53-2a2c-4b8e-9f3c-2a1d3c4b5e6f not found",
            "volume <uuid> not found",
        ),
        (
            "container 3f4e5d6c7b8a9f0e1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b6a7f8e9d0c1b2a3f4e exited",
            "container <hex> exited",
        ),
        (
            "image sha256:ab12cd34ef56 pulled",
            "image sha<n>:<hex> pulled",
        ),
        ("fault at 0x7ffd1234", "fault at <hex>"),
        ("token a1b2c3d4e5f6g7 expired", "token <id> expired"),
        ("at 2024-01-02T03:04:05.123Z retrying", "at <time> retrying"),
        (
            "since 2024-01-02 03:04:05.123456789 +0000 UTC m=+0.001 ok",
            "since <time> ok",
        ),
        ("at 2024-01-02T03:04:05+01:00.", "at <time>."),
        (
            "backup on 2024-01-02 failed at 03:04:05",
            "backup on <time> failed at <time>",
        ),
        (
            "apiVersion v1beta1 on node12 with k8s",
            "apiVersion v<n>beta<n> on node<n> with k<n>s",
        ),
        ("the 3rd attempt", "the <n>rd attempt"),
    ];
    for (message, want) in cases {
        assert_eq!(template(message), want, "{message}");
    }
}

#[test]
fn pod_name_suffixes_are_replaced() {
    let cases = [
        ("Created pod: web-7d9f8b6c5d-x2x4q", "Created pod: web-<pod>"),
        ("Back-off restarting failed container web in pod web-7d9f8b6c5d-x2x4q_default(0b8e3a53-2a2c-4b8e-9f3c-2a1d3c4b5e6f)",
         "Back-off restarting failed container web in pod web-<pod>_default(<uuid>)"),
        ("Scaled up replica set api-5d8f7b9c4 to 3", "Scaled up replica set api-<rs> to <n>"),
        ("Created pod: fluentd-bcdfg", "Created pod: fluentd-<pod>"),
        ("Created pod: backup-28391234-kq5hh", "Created pod: backup-<n>-<pod>"),
        ("Created pod: web-0", "Created pod: web-<n>"),
        ("pod web-0_default", "pod web-<n>_default"),
        ("event web-7d9f8b6c5d-x2x4q.17a1b2c3d4e5f607", "event web-<pod>.<hex>"),
        ("pod web-7d9f8b6c5d-0a1e2 and web-7d9f8b6c5d-ab", "pod web-<pod> and web-<rs>-ab"),
    ];
    for (message, want) in cases {
        assert_eq!(template(message), want, "{message}");
    }
}

#[test]
fn quoted_values_are_replaced_but_apostrophes_are_not() {
    let cases = [
        ("Pulling image \"nginx:1.25\"", "Pulling image \"*\""),
        ("Pulling image 'nginx:1.25'", "Pulling image '*'"),
        (
            "Get \"http://10.0.0.7:8080/healthz\": dial tcp 10.0.0.7:8080",
            "Get \"*\": dial tcp <ip>",
        ),
        ("error \"a \\\"quoted\\\" word\" here", "error \"*\" here"),
        (
            "the pod's volume can't mount",
            "the pod's volume can't mount",
        ),
        ("said 'it's fine' and left", "said '*' and left"),
        ("unterminated \"quote here", "unterminated \"quote here"),
        ("run `kubectl get pods`", "run `*`"),
    ];
    for (message, want) in cases {
        assert_eq!(template(message), want, "{message}");
    }
}

#[test]
fn words_without_variable_parts_stay() {
    let cases = [
        "Successfully assigned default/web to node",
        "Node status is now: NodeNotReady",
        "decade added faded deface effaced",
        "Back-off restarting failed container",
        "ünïcode ✓ text stays, including €5 and 5€",
    ];
    for message in cases {
        let want = message.replace('5', "<n>");
        assert_eq!(template(message), want, "{message}");
    }
}

#[test]
fn cli_top_patterns_keeps_its_groupings() {
    // The messages of the CLI's golden fixture and of its former masking tests.
    let cases = [
        ("Back-off restarting failed container web in pod web-0_default", "Back-off restarting failed container web in pod web-<n>_default"),
        ("0/3 nodes are available: 3 Insufficient cpu.", "<n>/<n> nodes are available: <n> Insufficient cpu."),
        (
            "Readiness probe failed: Get \"http://10.0.0.7:8080/healthz\": dial tcp 10.0.0.7:8080: connect: connection refused",
            "Readiness probe failed: Get \"*\": dial tcp <ip>: connect: connection refused",
        ),
        ("Created pod: web-7d4b9c8f6-x2k4q", "Created pod: web-<pod>"),
        ("Memory limit 512Mi exceeded after 30s", "Memory limit <size> exceeded after <duration>"),
        ("Pulling image 'nginx:1.25'", "Pulling image '*'"),
    ];
    for (message, want) in cases {
        assert_eq!(template(message), want, "{message}");
    }
    assert_eq!(
        template("Back-off 40s restarting failed container"),
        template("Back-off 5m0s restarting failed container")
    );
}

#[test]
fn template_into_reuses_the_buffer() {
    let mut out = String::with_capacity(256);
    let before = out.as_ptr();
    template_into(
        "Back-off 10s restarting failed container web in pod web-7d9f8b6c5d-x2x4q",
        &mut out,
    );
    template_into("dial tcp 10.0.0.1:80: refused", &mut out);
    assert_eq!(out, "dial tcp <ip>: refused");
    assert_eq!(
        out.as_ptr(),
        before,
        "no reallocation for messages that fit"
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Message-like text: words, numbers, punctuation, quotes, brackets and some non-ASCII.
    fn message() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            "[a-zA-Z]{1,8}",
            "[0-9]{1,6}",
            "[0-9a-f]{4,12}",
            "[bcdfghjklmnpqrstvwxz2456789]{5}",
            "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}(:[0-9]{2,5})?",
            "[0-9]{1,2}(h|m|s|ms)[0-9]{0,2}",
            "[ .,:;/_()<>\\[\\]=-]",
            "[\"'`]",
            "[ü✓µ€]",
            "[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2})?)?",
            "[+-][0-9]{2}:?[0-9]{2}( [A-Z]{3})?( m=\\+[0-9]\\.[0-9]{3})?",
            "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "\\[?[0-9a-f]{1,4}::?[0-9a-f]{0,4}(::[0-9a-f]{1,4})?\\]?(:[0-9]{1,5})?",
            "0x[0-9a-fA-F]{1,8}",
            "[a-z]{1,5}-[4-9bcdf]{6,10}(-[bcdfghjklmnpqrstvwxz2456789]{5})?",
            "[0-9]{1,4}(\\.[0-9]{1,2})?(Ki|Mi|Gi|M|G|B|µs|ms|s)",
            " ",
        ];
        proptest::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #[test]
        fn templating_is_idempotent(message in message()) {
            let once = template(&message);
            prop_assert_eq!(template(&once), once);
        }

        #[test]
        fn templating_is_idempotent_on_character_soup(message in "[a-fA-Fg-kx0-9:. _/\\-<>\"'`\\[\\]µTZmsiM+]{0,40}") {
            let once = template(&message);
            prop_assert_eq!(template(&once), once);
        }

        #[test]
        fn templating_is_stable(message in message()) {
            prop_assert_eq!(template(&message), template(&message));
        }

        #[test]
        fn messages_differing_only_in_variable_parts_share_a_template(
            restarts in 1u32..10_000,
            other_restarts in 1u32..10_000,
            back_off in "[1-9][0-9]?m[1-5]?[0-9]s",
            other_back_off in "[1-9][0-9]?s",
            hash in "[4-9bcdf]{9,10}",
            suffix in "[bcdfghjklmnpqrstvwxz2456789]{5}",
            other_suffix in "[bcdfghjklmnpqrstvwxz2456789]{5}",
            address in (0u8..=255, 0u8..=255, 1u16..=65535),
            id in "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        ) {
            let render = |restarts: u32, back_off: &str, suffix: &str, id: &str, (a, b, port): (u8, u8, u16)| format!(
                "Back-off {back_off} restarting failed container web in pod web-{hash}-{suffix}_default({id}) \
                 after {restarts} restarts; probe of 10.{a}.{b}.7:{port} failed"
            );
            let first = render(restarts, &back_off, &suffix, &id, address);
            let second = render(other_restarts, &other_back_off, &other_suffix, "00000000-0000-4000-8000-000000000000", (1, 2, 80));
            prop_assert_eq!(template(&first), template(&second));
        }

        #[test]
        fn messages_with_different_words_keep_different_templates(
            word in "[a-z]{3,10}",
            other in "[a-z]{3,10}",
            count in 0u32..1000,
        ) {
            prop_assume!(word != other);
            let first = template(&format!("Failed to {word} volume after {count} tries"));
            let second = template(&format!("Failed to {other} volume after {count} tries"));
            prop_assert_ne!(first, second);
        }
    }
}
