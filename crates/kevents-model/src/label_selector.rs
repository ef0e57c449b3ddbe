//! Kubernetes label selectors: equality (`a=b`, `a!=b`), set (`a in (x,y)`, `a notin (x)`),
//! existence (`a`, `!a`) and numeric comparison (`a>1`, `a<1`).

use std::collections::BTreeMap;

/// The operator of one requirement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LabelOperator {
    /// `key in (values)`, `key=value`, `key==value`
    In(Vec<String>),
    /// `key notin (values)`, `key!=value` (also matches when the key is absent)
    NotIn(Vec<String>),
    /// `key`
    Exists,
    /// `!key`
    DoesNotExist,
    /// `key>n`
    GreaterThan(i64),
    /// `key<n`
    LessThan(i64),
}

/// One requirement on one label key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelRequirement {
    /// The label key.
    pub key: String,
    /// What must hold for its value.
    pub operator: LabelOperator,
}

/// A parsed label selector: all requirements must hold. Empty matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelSelector {
    /// The requirements, in the order written.
    pub requirements: Vec<LabelRequirement>,
}

/// A label selector that could not be parsed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unable to parse requirement: {0}")]
pub struct LabelSelectorError(String);

impl LabelSelector {
    /// Parses selector text.
    pub fn parse(text: &str) -> Result<LabelSelector, LabelSelectorError> {
        let mut requirements = Vec::new();
        for term in split_top_level(text)? {
            let term = term.trim();
            if term.is_empty() {
                continue;
            }
            requirements.push(parse_requirement(term)?);
        }
        Ok(LabelSelector { requirements })
    }

    /// True when every requirement holds for `labels`.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| {
            let value = labels.get(&r.key);
            match &r.operator {
                LabelOperator::In(values) => value.is_some_and(|v| values.contains(v)),
                LabelOperator::NotIn(values) => value.is_none_or(|v| !values.contains(v)),
                LabelOperator::Exists => value.is_some(),
                LabelOperator::DoesNotExist => value.is_none(),
                LabelOperator::GreaterThan(n) => value
                    .and_then(|v| v.parse::<i64>().ok())
                    .is_some_and(|v| v > *n),
                LabelOperator::LessThan(n) => value
                    .and_then(|v| v.parse::<i64>().ok())
                    .is_some_and(|v| v < *n),
            }
        })
    }

    /// True when nothing is required.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }
}

fn split_top_level(text: &str) -> Result<Vec<&str>, LabelSelectorError> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| LabelSelectorError(format!("unbalanced ')' in {text:?}")))?
            }
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(LabelSelectorError(format!("unclosed '(' in {text:?}")));
    }
    parts.push(&text[start..]);
    Ok(parts)
}

fn parse_requirement(term: &str) -> Result<LabelRequirement, LabelSelectorError> {
    if let Some(key) = term.strip_prefix('!') {
        let key = key.trim();
        validate_key(key)?;
        return Ok(LabelRequirement {
            key: key.to_string(),
            operator: LabelOperator::DoesNotExist,
        });
    }
    for (operator, negated) in [("!=", true), ("==", false), ("=", false)] {
        if let Some((key, value)) = term.split_once(operator) {
            let (key, value) = (key.trim(), value.trim());
            validate_key(key)?;
            validate_value(value)?;
            let values = vec![value.to_string()];
            let operator = if negated {
                LabelOperator::NotIn(values)
            } else {
                LabelOperator::In(values)
            };
            return Ok(LabelRequirement {
                key: key.to_string(),
                operator,
            });
        }
    }
    for (symbol, greater) in [('>', true), ('<', false)] {
        if let Some((key, value)) = term.split_once(symbol) {
            let key = key.trim();
            validate_key(key)?;
            let number: i64 = value.trim().parse().map_err(|_| {
                LabelSelectorError(format!(
                    "for 'Gt', 'Lt' operators, the value must be an integer: {value:?}"
                ))
            })?;
            let operator = if greater {
                LabelOperator::GreaterThan(number)
            } else {
                LabelOperator::LessThan(number)
            };
            return Ok(LabelRequirement {
                key: key.to_string(),
                operator,
            });
        }
    }
    let words: Vec<&str> = term.splitn(2, char::is_whitespace).collect();
    if let [key, rest] = words.as_slice() {
        let rest = rest.trim_start();
        let (negated, list) = if let Some(list) = rest.strip_prefix("notin") {
            (true, list)
        } else if let Some(list) = rest.strip_prefix("in") {
            (false, list)
        } else {
            let found = rest.split_whitespace().next().unwrap_or(rest);
            return Err(LabelSelectorError(format!(
                "found '{found}', expected: in, notin, =, ==, !=, gt, lt"
            )));
        };
        let list = list.trim();
        let inner = list
            .strip_prefix('(')
            .and_then(|l| l.strip_suffix(')'))
            .ok_or_else(|| LabelSelectorError(format!("expected '(values)' in {term:?}")))?;
        validate_key(key)?;
        let mut values = Vec::new();
        for value in inner.split(',') {
            let value = value.trim();
            validate_value(value)?;
            values.push(value.to_string());
        }
        let operator = if negated {
            LabelOperator::NotIn(values)
        } else {
            LabelOperator::In(values)
        };
        return Ok(LabelRequirement {
            key: key.to_string(),
            operator,
        });
    }
    validate_key(term)?;
    Ok(LabelRequirement {
        key: term.to_string(),
        operator: LabelOperator::Exists,
    })
}

fn validate_key(key: &str) -> Result<(), LabelSelectorError> {
    let errors = crate::validation::qualified_name_errors(key);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(LabelSelectorError(format!(
            "<nil>: Invalid value: {key:?}: {}",
            errors.join("; ")
        )))
    }
}

fn validate_value(value: &str) -> Result<(), LabelSelectorError> {
    let bytes = value.as_bytes();
    let valid = value.is_empty()
        || (bytes.len() <= 63
            && bytes[0].is_ascii_alphanumeric()
            && bytes[bytes.len() - 1].is_ascii_alphanumeric()
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')));
    if valid {
        Ok(())
    } else {
        Err(LabelSelectorError(format!(
            "values[0]: Invalid value: {value:?}: a valid label must be an empty string or consist \
             of alphanumeric characters, '-', '_' or '.', and must start and end with an \
             alphanumeric character"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn all_operators_match_like_kubernetes() {
        let l = labels(&[("app", "web"), ("tier", "front"), ("replicas", "3")]);
        let m = |s: &str| LabelSelector::parse(s).unwrap().matches(&l);
        assert!(m("app=web"));
        assert!(m("app==web,tier=front"));
        assert!(!m("app!=web"));
        assert!(m("missing!=x"));
        assert!(m("app in (web, api)"));
        assert!(!m("app notin (web)"));
        assert!(m("missing notin (web)"));
        assert!(m("app"));
        assert!(m("!missing"));
        assert!(!m("!app"));
        assert!(m("replicas>2,replicas<4"));
        assert!(m(""));
        assert!(m("example.com/key notin (a),app"));
    }

    #[test]
    fn malformed_selectors_are_errors() {
        for bad in [
            "app in (web",
            "app in web",
            "a b c",
            "bad key=x",
            "app=has space",
            "n>x",
        ] {
            assert!(LabelSelector::parse(bad).is_err(), "{bad} should fail");
        }
    }
}
