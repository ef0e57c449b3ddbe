use super::*;
use crate::template::template;

fn learn(miner: &mut Miner, reason: &str, message: &str) -> String {
    let mut out = String::new();
    miner.learn(reason, &template(message), &mut out);
    out
}

/// Kubelet-style messages that differ only in a short id the masking rules do not recognise.
pub(crate) fn kubelet_messages() -> Vec<String> {
    (0..30u32)
        .map(|i| {
            let id = format!("{:x}-{}", 0x1a3f2 + i * 0x1b7, i % 8);
            format!("Error syncing pod, skipping: failed to \"StartContainer\" for \"web\" ({id})")
        })
        .collect()
}

#[test]
fn thirty_messages_differing_in_a_short_id_share_one_template() {
    let mut miner = Miner::default();
    let masked: std::collections::HashSet<String> =
        kubelet_messages().iter().map(|m| template(m)).collect();
    assert!(masked.len() > 20, "the masking rules alone keep them apart");
    let learned: Vec<String> = kubelet_messages()
        .iter()
        .map(|m| learn(&mut miner, "FailedSync", m))
        .collect();
    let last = learned.last().expect("30 messages");
    assert_eq!(
        last,
        "Error syncing pod, skipping: failed to \"*\" for \"*\" <*>"
    );
    assert_eq!(miner.stats().patterns, 1);
    assert_eq!(miner.stats().generalized, 1, "one wildcard, gained once");
}

#[test]
fn the_first_message_keeps_its_masked_template_until_another_differs() {
    let mut miner = Miner::default();
    let mut out = String::new();
    assert_eq!(miner.learn("R", "Failed (<n>a<n>)", &mut out), None);
    assert_eq!(out, "Failed (<n>a<n>)");
    assert_eq!(miner.learn("R", "Failed (<n>a<n>)", &mut out), None);
    assert_eq!(
        miner.learn("R", "Failed (<n>b<n>-<n>)", &mut out),
        Some("Failed (<n>a<n>)".to_string())
    );
    assert_eq!(out, "Failed <*>");
    miner.lookup("R", "Failed (<n>a<n>)", &mut out);
    assert_eq!(
        out, "Failed <*>",
        "the old message now maps to the new template"
    );
}

#[test]
fn different_words_and_reasons_and_lengths_keep_different_patterns() {
    let mut miner = Miner::default();
    assert_eq!(
        learn(&mut miner, "Created", "Created container web"),
        "Created container web"
    );
    assert_eq!(
        learn(&mut miner, "Created", "Created container db"),
        "Created container db"
    );
    assert_eq!(
        learn(&mut miner, "Other", "Failed (1a3f2-7)"),
        "Failed (<id>-<n>)"
    );
    assert_eq!(
        learn(&mut miner, "Failed", "Failed (1a3f2-7)"),
        "Failed (<id>-<n>)"
    );
    assert_eq!(
        learn(&mut miner, "Failed", "Failed now (1a3f2-7)"),
        "Failed now (<id>-<n>)"
    );
    assert_eq!(miner.stats().patterns, 5);
}

#[test]
fn mostly_variable_messages_need_the_similarity_threshold() {
    let mut miner = Miner::default();
    let mut out = String::new();
    miner.learn("R", "x<n> y<n> z<n> ok", &mut out);
    miner.learn("R", "a<n> b<n> c<n> ok", &mut out);
    assert_eq!(
        out, "a<n> b<n> c<n> ok",
        "one equal token in four is below 0.5"
    );
    miner.learn("R", "a<n> b<n> q<n> ok", &mut out);
    assert_eq!(out, "a<n> b<n> <*> ok");
}

#[test]
fn patterns_beyond_the_cap_of_a_reason_go_to_the_other_bucket() {
    let mut miner = Miner::new(MinerConfig {
        max_patterns_per_reason: 3,
        ..MinerConfig::default()
    });
    let words = ["alpha", "beta", "gamma", "delta", "epsilon"];
    let learned: Vec<String> = words
        .iter()
        .map(|w| learn(&mut miner, "R", &format!("volume {w} failed")))
        .collect();
    assert_eq!(learned[2], "volume gamma failed");
    assert_eq!(learned[3], OTHER);
    assert_eq!(learned[4], OTHER);
    assert_eq!(
        learn(&mut miner, "R", "volume beta failed"),
        "volume beta failed",
        "known patterns still match"
    );
    assert_eq!(
        learn(&mut miner, "S", "volume delta failed"),
        "volume delta failed",
        "another reason has room"
    );
    let stats = miner.stats();
    assert_eq!((stats.patterns, stats.generalized, stats.other), (4, 0, 2));
}

#[test]
fn patterns_beyond_the_byte_bound_go_to_the_other_bucket_and_are_counted() {
    let max_bytes = 4 << 10;
    let mut miner = Miner::new(MinerConfig {
        max_bytes,
        ..MinerConfig::default()
    });
    let words: Vec<String> = (0..200)
        .map(|n| format!("word{}", "x".repeat(n % 7 + 3)))
        .collect();
    let mut others = 0;
    for (n, word) in words.iter().enumerate() {
        let message = format!(
            "volume {word} number{} failed {}",
            "q".repeat(n % 5 + 3),
            "z".repeat(40)
        );
        let reason = format!("Reason{}", n % 13);
        if learn(&mut miner, &reason, &message) == OTHER {
            others += 1;
        }
        let stats = miner.stats();
        assert!(stats.bytes <= max_bytes, "{} bytes", stats.bytes);
        let text: usize = miner.templates().map(|t| 2 * t.len()).sum();
        assert!(text <= stats.bytes, "the gauge counts the templates held");
    }
    let stats = miner.stats();
    assert!(others > 0 && stats.patterns > 0, "{stats:?}");
    assert_eq!(stats.other, others);
    assert!(
        stats.bytes + 256 > max_bytes,
        "the bound is filled before messages overflow: {stats:?}"
    );
    let message = format!("volume wordxxx numberqqq failed {}", "z".repeat(40));
    let first = learn(&mut miner, "Reason0", &message);
    assert_ne!(first, OTHER, "a known pattern still takes its messages");
}

#[test]
fn a_full_node_sends_new_words_to_the_wildcard_branch_and_still_keeps_them_apart() {
    let mut miner = Miner::new(MinerConfig {
        max_children: 2,
        ..MinerConfig::default()
    });
    for word in ["a", "b", "c", "d", "c"] {
        let text = format!("{word} volume failed");
        assert_eq!(learn(&mut miner, "R", &text), text);
    }
    assert_eq!(miner.stats().patterns, 4);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn word() -> impl Strategy<Value = String> {
        "[a-z]{3,9}"
    }

    /// A short identifier the masking rules leave partly as it is: `(1a3f2-7)`.
    fn short_id() -> impl Strategy<Value = String> {
        "\\([0-9][a-f][0-9]{1,2}[a-f]?[0-9]?-[0-9]\\)"
    }

    proptest! {
        #[test]
        fn messages_differing_in_one_variable_token_share_a_pattern(
            words in proptest::collection::vec(word(), 2..8),
            at in 0usize..8,
            ids in proptest::collection::vec(short_id(), 2..6),
        ) {
            let mut miner = Miner::default();
            let at = at % (words.len() + 1);
            let render = |id: &str| {
                let mut tokens: Vec<&str> = words.iter().map(String::as_str).collect();
                tokens.insert(at, id);
                tokens.join(" ")
            };
            let mut last = String::new();
            for id in &ids {
                last = learn(&mut miner, "R", &render(id));
            }
            prop_assert_eq!(miner.stats().patterns, 1);
            let mut out = String::new();
            for id in &ids {
                miner.lookup("R", &template(&render(id)), &mut out);
                prop_assert_eq!(&out, &last);
            }
        }

        #[test]
        fn messages_with_different_words_do_not_share_a_pattern(
            words in proptest::collection::vec(word(), 2..8),
            at in 0usize..8,
            other in word(),
            id in short_id(),
        ) {
            let at = at % words.len();
            prop_assume!(words[at] != other);
            let mut changed = words.clone();
            changed[at] = other;
            let mut miner = Miner::default();
            let first = learn(&mut miner, "R", &format!("{} {id}", words.join(" ")));
            let second = learn(&mut miner, "R", &format!("{} {id}", changed.join(" ")));
            prop_assert_ne!(first, second);
            prop_assert_eq!(miner.stats().patterns, 2);
        }

        #[test]
        fn learned_templates_are_the_masked_template_with_some_wildcards(
            messages in proptest::collection::vec("[a-z]{2,6}( [a-z0-9()<>-]{1,7}){0,5}", 1..30),
        ) {
            // The masking rules' invariants carry over: a learned template has the masked
            // template's tokens, some replaced by a wildcard where the masked token varies, and
            // templating it again changes nothing but what the masking rules already did.
            let mut miner = Miner::default();
            for message in &messages {
                let masked = template(message);
                let mut out = String::new();
                miner.learn("R", &masked, &mut out);
                let tokens: Vec<&str> = out.split(' ').collect();
                let masked_tokens: Vec<&str> = masked.split(' ').collect();
                prop_assert_eq!(tokens.len(), masked_tokens.len());
                for (learned, masked) in tokens.iter().zip(&masked_tokens) {
                    prop_assert!(learned == masked || (*learned == WILDCARD && is_variable(masked)));
                }
                prop_assert_eq!(template(&out), out.clone());
            }
        }

        #[test]
        fn final_templates_do_not_depend_on_the_order_of_messages(
            ids in proptest::collection::vec(short_id(), 1..10),
            words in proptest::collection::vec(word(), 1..3),
        ) {
            let messages: Vec<String> = ids
                .iter()
                .flat_map(|id| words.iter().map(move |w| format!("Failed {w} {id}")))
                .collect();
            let final_templates = |order: Vec<&String>| {
                let mut miner = Miner::default();
                for message in order {
                    learn(&mut miner, "R", message);
                }
                let mut templates: Vec<String> = miner.templates().map(str::to_string).collect();
                templates.sort();
                templates
            };
            prop_assert_eq!(
                final_templates(messages.iter().collect()),
                final_templates(messages.iter().rev().collect())
            );
        }
    }
}
