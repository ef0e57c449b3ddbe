//! Findings and the report they make.

use serde::{Deserialize, Serialize};

/// How bad a finding is. Ordered: the worst of a report decides its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Nothing to do.
    Ok,
    /// Worth a look: events may be late, or will be lost if nothing changes.
    Warning,
    /// Events are missing, being lost, or cannot be collected.
    Problem,
}

impl Status {
    /// The word printed for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warning => "warning",
            Status::Problem => "problem",
        }
    }
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// `source`, `pipeline` or `hub`.
    pub area: String,
    /// What was checked, a stable name (`rbac`, `event-ttl`, `gaps`, `sink-backlog`, ...).
    pub check: String,
    /// What it is about: a context, a cluster, a sink, or `hub`.
    pub subject: String,
    /// How bad.
    pub status: Status,
    /// One line saying what was found.
    pub summary: String,
    /// The facts behind it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
    /// What to do, when something is to be done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
}

impl Finding {
    /// A finding without evidence or action yet.
    pub fn new(
        area: &str,
        check: &str,
        subject: &str,
        status: Status,
        summary: impl Into<String>,
    ) -> Finding {
        Finding {
            area: area.into(),
            check: check.into(),
            subject: subject.into(),
            status,
            summary: summary.into(),
            evidence: Vec::new(),
            action: None,
        }
    }

    /// Adds a fact.
    pub fn evidence(mut self, fact: impl Into<String>) -> Finding {
        self.evidence.push(fact.into());
        self
    }

    /// Says what to do.
    pub fn action(mut self, action: impl Into<String>) -> Finding {
        self.action = Some(action.into());
        self
    }
}

/// Every finding of a run, and their worst status.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The worst status of the findings (`ok` without any).
    pub status: Option<Status>,
    /// The findings, in the order the checks ran.
    pub findings: Vec<Finding>,
}

impl Report {
    /// A report of `findings`.
    pub fn new(findings: Vec<Finding>) -> Report {
        let status = findings
            .iter()
            .map(|f| f.status)
            .max()
            .unwrap_or(Status::Ok);
        Report {
            status: Some(status),
            findings,
        }
    }

    /// The worst status.
    pub fn worst(&self) -> Status {
        self.findings
            .iter()
            .map(|f| f.status)
            .max()
            .unwrap_or(Status::Ok)
    }

    /// The process exit code for it: 0 all ok, 1 warnings, 2 problems.
    pub fn exit_code(&self) -> i32 {
        match self.worst() {
            Status::Ok => 0,
            Status::Warning => 1,
            Status::Problem => 2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_finding_decides_the_exit_code() {
        let ok = Finding::new("hub", "disk", "hub", Status::Ok, "fine");
        let warning = Finding::new("hub", "disk", "hub", Status::Warning, "full-ish");
        let problem = Finding::new("hub", "disk", "hub", Status::Problem, "full");
        assert_eq!(Report::new(vec![]).exit_code(), 0);
        assert_eq!(Report::new(vec![ok.clone()]).exit_code(), 0);
        assert_eq!(
            Report::new(vec![ok.clone(), warning.clone()]).exit_code(),
            1
        );
        let all = Report::new(vec![problem, ok, warning]);
        assert_eq!(all.exit_code(), 2);
        assert_eq!(all.status, Some(Status::Problem));
    }

    #[test]
    fn findings_are_json_with_lowercase_statuses() {
        let finding = Finding::new("source", "rbac", "prod", Status::Problem, "no watch")
            .evidence("watch events: denied")
            .action("grant it");
        let json = serde_json::to_value(&finding).unwrap();
        assert_eq!(json["status"], "problem");
        assert_eq!(json["evidence"][0], "watch events: denied");
        let back: Finding = serde_json::from_value(json).unwrap();
        assert_eq!(back, finding);
    }
}
