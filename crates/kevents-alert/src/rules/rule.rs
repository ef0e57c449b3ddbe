//! A rule ready to evaluate: compiled matchers, durations and templates.

use super::format::{duration, RuleError, RuleFile, RuleSpec};
use super::template;
use kevents_model::{EventMatcher, MatchField, MatchSpec, Template};
use serde_saphyr::Spanned;
use std::collections::BTreeMap;

/// When a group is active.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// Any occurrence (until `resolve_after` passes without one).
    Any,
    /// At least `min` occurrences within `window` microseconds.
    Count {
        /// Occurrences needed.
        min: u64,
        /// The window.
        window: i64,
    },
    /// At least `per_second` occurrences per second over `window` microseconds.
    Rate {
        /// Rate needed.
        per_second: f64,
        /// The window.
        window: i64,
    },
    /// The rate a linear fit over the last `window` microseconds predicts `horizon`
    /// microseconds ahead is at least `per_second` (`forecast(window, horizon)`).
    Forecast {
        /// Rate predicted.
        per_second: f64,
        /// The window fitted.
        window: i64,
        /// How far ahead.
        horizon: i64,
    },
    /// The group's occurrences span more than this many microseconds.
    Lasting(i64),
}

impl Condition {
    /// The window of occurrences the condition looks at (0 for none).
    pub fn window(&self) -> i64 {
        match *self {
            Condition::Count { window, .. }
            | Condition::Rate { window, .. }
            | Condition::Forecast { window, .. } => window,
            Condition::Any | Condition::Lasting(_) => 0,
        }
    }
}

pub use kevents_model::glob_match;

/// A loaded rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The alert name.
    pub name: String,
    /// Which events count.
    pub matcher: EventMatcher,
    /// When a group is active.
    pub condition: Condition,
    /// How long the condition must hold before firing (microseconds).
    pub hold: i64,
    /// Quiet time after which `any`/`lasting` alerts resolve (microseconds).
    pub resolve_after: i64,
    /// Grouping fields.
    pub group_by: Vec<MatchField>,
    /// Extra labels.
    pub labels: BTreeMap<String, String>,
    /// Annotation templates.
    pub annotations: BTreeMap<String, Template>,
}

const DEFAULT_RESOLVE_AFTER: i64 = 5 * 60 * 1_000_000;

fn compile_matcher(
    file: &str,
    index: usize,
    spec: MatchSpec<Spanned<String>>,
) -> Result<EventMatcher, RuleError> {
    let line = spec.message.as_ref().map_or(0, |m| m.referenced.line());
    EventMatcher::compile(spec, |pattern| &pattern.value).map_err(|e| RuleError {
        file: file.to_string(),
        line,
        field: format!("rules[{index}].match.{}", e.field()),
        message: e.to_string(),
    })
}

fn compile(file: &str, index: usize, spec: RuleSpec) -> Result<Rule, RuleError> {
    let at = |line: u64, field: &str, message: String| RuleError {
        file: file.to_string(),
        line,
        field: format!("rules[{index}].{field}"),
        message,
    };
    let name_line = spec.name.referenced.line();
    if spec.name.value.trim().is_empty() {
        return Err(at(name_line, "name", "must not be empty".into()));
    }
    let condition = match &spec.when {
        None => Condition::Any,
        Some(when) => {
            let window = when
                .window
                .as_ref()
                .map(|w| duration(file, &format!("rules[{index}].when.window"), w))
                .transpose()?;
            let horizon = when
                .horizon
                .as_ref()
                .map(|h| duration(file, &format!("rules[{index}].when.horizon"), h))
                .transpose()?;
            if let Some(per_second) = when.forecast {
                match (when.count, when.rate, &when.lasting, window, horizon) {
                    (None, None, None, Some(window), Some(horizon))
                        if window > 0 && horizon > 0 && per_second > 0.0 =>
                    {
                        Condition::Forecast { per_second, window, horizon }
                    }
                    _ => {
                        return Err(at(
                            name_line,
                            "when",
                            "`forecast` needs a positive rate, `window` and `horizon`, and no `count`, `rate` or `lasting`".into(),
                        ))
                    }
                }
            } else {
                match (when.count, when.rate, &when.lasting, window) {
                (Some(min), None, None, Some(window)) if window > 0 => Condition::Count { min, window },
                (None, Some(per_second), None, Some(window)) if window > 0 && per_second > 0.0 => {
                    Condition::Rate { per_second, window }
                }
                (None, None, Some(lasting), None) => {
                    Condition::Lasting(duration(file, &format!("rules[{index}].when.lasting"), lasting)?)
                }
                _ => {
                    return Err(at(
                        name_line,
                        "when",
                        "give exactly one of `count` (with `window`), `rate` (with `window`), `forecast` (with `window` and `horizon`) or `lasting`".into(),
                    ))
                }
            }
            }
        }
    };
    let hold = spec
        .hold
        .as_ref()
        .map(|h| duration(file, &format!("rules[{index}].for"), h))
        .transpose()?
        .unwrap_or(0);
    let resolve_after = spec
        .resolve_after
        .as_ref()
        .map(|r| duration(file, &format!("rules[{index}].resolveAfter"), r))
        .transpose()?
        .unwrap_or(DEFAULT_RESOLVE_AFTER);
    let group_by = match spec.group_by {
        None => vec![MatchField::Cluster, MatchField::Namespace, MatchField::Kind, MatchField::Name],
        Some(fields) => fields
            .iter()
            .map(|f| {
                MatchField::parse(f).ok_or_else(|| {
                    at(
                        name_line,
                        "groupBy",
                        format!("unknown field {f:?}; use cluster, namespace, kind, name, reason, type or source"),
                    )
                })
            })
            .collect::<Result<_, _>>()?,
    };
    let mut annotations = BTreeMap::new();
    for (key, text) in spec.annotations {
        let template = template::parse(&text.value).map_err(|e| {
            at(
                text.referenced.line(),
                &format!("annotations.{key}"),
                e.to_string(),
            )
        })?;
        annotations.insert(key, template);
    }
    Ok(Rule {
        name: spec.name.value,
        matcher: compile_matcher(file, index, spec.matches)?,
        condition,
        hold,
        resolve_after,
        group_by,
        labels: spec.labels,
        annotations,
    })
}

/// Parses and compiles a rule file's text; `file` names it in errors.
pub fn load_rules(file: &str, text: &str) -> Result<Vec<Rule>, RuleError> {
    let parsed: RuleFile = serde_saphyr::from_str(text).map_err(|e| {
        let message = e.to_string();
        let line = message
            .split("line ")
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        RuleError {
            file: file.to_string(),
            line,
            field: "rules".to_string(),
            message: message.lines().next().unwrap_or("invalid YAML").to_string(),
        }
    })?;
    let mut names = std::collections::HashSet::new();
    let mut rules = Vec::new();
    for (index, spec) in parsed.rules.into_iter().enumerate() {
        let line = spec.name.referenced.line();
        let rule = compile(file, index, spec)?;
        if !names.insert(rule.name.clone()) {
            return Err(RuleError {
                file: file.to_string(),
                line,
                field: format!("rules[{index}].name"),
                message: format!("duplicate rule name {:?}", rule.name),
            });
        }
        rules.push(rule);
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kevents_model::EventRecord;

    #[test]
    fn errors_name_file_line_and_field() {
        let text = "rules:\n- name: A\n  match:\n    message: \"(unclosed\"\n";
        let err = load_rules("a.yaml", text).unwrap_err();
        assert_eq!(
            (err.file.as_str(), err.line, err.field.as_str()),
            ("a.yaml", 4, "rules[0].match.message")
        );
        let err = load_rules("b.yaml", "rules:\n- name: A\n  for: soon\n").unwrap_err();
        assert_eq!((err.line, err.field.as_str()), (3, "rules[0].for"));
        let err = load_rules("c.yaml", "rules:\n- name: A\n  colour: red\n").unwrap_err();
        assert!(err.message.contains("colour"), "{err}");
        assert!(err.line >= 2, "{err}");
        let err = load_rules(
            "d.yaml",
            "rules:\n- name: A\n  annotations:\n    summary: \"{{ nope }}\"\n",
        )
        .unwrap_err();
        assert_eq!(
            (err.line, err.field.as_str()),
            (4, "rules[0].annotations.summary")
        );
        let err = load_rules("e.yaml", "rules:\n- name: A\n  when: {count: 3}\n").unwrap_err();
        assert_eq!(err.field, "rules[0].when");
        let err = load_rules("f.yaml", "rules:\n- name: A\n- name: A\n").unwrap_err();
        assert_eq!((err.line, err.field.as_str()), (3, "rules[1].name"));
    }

    #[test]
    fn matcher_combines_fields_labels_and_message() {
        let rules = load_rules(
            "r.yaml",
            "rules:\n- name: A\n  match:\n    type: Warning\n    reason: [BackOff, Failed]\n    name: 'web-*'\n    labels: {app: web}\n    message: '(?i)back-off'\n",
        )
        .unwrap();
        let mut event = EventRecord {
            event_type: "Warning".into(),
            reason: "BackOff".into(),
            message: "Back-off restarting".into(),
            ..Default::default()
        };
        event.involved_object.name = "web-0".into();
        event.labels.insert("app".into(), "web".into());
        assert!(rules[0].matcher.matches(&event, "c"));
        event.reason = "Pulled".into();
        assert!(!rules[0].matcher.matches(&event, "c"));
    }
}
