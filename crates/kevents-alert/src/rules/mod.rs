//! The rule engine: rule files (YAML, validated strictly), the built-in pack, evaluation, and
//! reloading when files change.

mod engine;
mod export;
mod format;
mod group;
mod list;
mod listing;
mod rebuild;
mod refs;
mod rule;
mod template;

pub use crate::occurrences::occurrences_added;
pub use engine::{RuleEngine, DEFAULT_MAX_GROUPS};
pub use export::{prometheus_rule_object, prometheus_rules, promql};
pub use format::RuleError;
pub use listing::{AlertState, ListedAlert, RESOLVED_KEPT, RESOLVED_MAX_AGE};
pub use rebuild::Rebuild;
pub use refs::{EventRef, ObjectRef, EVENTS_KEPT};
pub use rule::{glob_match, load_rules, Condition, Rule};

use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The built-in rule pack's source.
pub const BUILTIN_RULES: &str = include_str!("builtin.yaml");

/// Where rules come from: the built-in pack and files or directories of `*.yaml`/`*.yml`.
#[derive(Debug, Clone)]
pub struct RuleSources {
    /// Include the built-in pack.
    pub builtin: bool,
    /// Files or directories.
    pub paths: Vec<PathBuf>,
}

impl RuleSources {
    fn files(&self) -> Result<Vec<PathBuf>, RuleError> {
        let mut files = Vec::new();
        for path in &self.paths {
            if path.is_dir() {
                let entries = std::fs::read_dir(path).map_err(|e| io_error(path, e))?;
                let mut found: Vec<PathBuf> = entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
                    .collect();
                found.sort();
                files.extend(found);
            } else {
                files.push(path.clone());
            }
        }
        Ok(files)
    }

    /// Loads every rule; a name defined twice across files is an error.
    pub fn load(&self) -> Result<Vec<Rule>, RuleError> {
        let mut rules = Vec::new();
        if self.builtin {
            rules.extend(load_rules("<builtin>", BUILTIN_RULES)?);
        }
        for file in self.files()? {
            let text = std::fs::read_to_string(&file).map_err(|e| io_error(&file, e))?;
            for rule in load_rules(&file.display().to_string(), &text)? {
                // A file may override a built-in rule of the same name.
                rules.retain(|r: &Rule| r.name != rule.name);
                rules.push(rule);
            }
        }
        Ok(rules)
    }

    /// A fingerprint of the files (names and modification times) to notice changes.
    pub fn stamp(&self) -> Vec<(PathBuf, Option<SystemTime>)> {
        self.files()
            .unwrap_or_default()
            .into_iter()
            .map(|f| {
                let modified = std::fs::metadata(&f).and_then(|m| m.modified()).ok();
                (f, modified)
            })
            .collect()
    }
}

fn io_error(path: &Path, error: std::io::Error) -> RuleError {
    RuleError {
        file: path.display().to_string(),
        line: 0,
        field: "file".to_string(),
        message: error.to_string(),
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod rebuild_tests;
