//! The human form of a report: one block per finding, worst first within each area.

use crate::finding::{Report, Status};
use std::fmt::Write;

/// The report as text: a line per finding (`STATUS  AREA  SUBJECT  summary`), its evidence
/// indented below it, then what to do; and a closing count.
pub fn render_table(report: &Report) -> String {
    let mut out = String::new();
    let width = report
        .findings
        .iter()
        .map(|f| f.subject.len())
        .max()
        .unwrap_or(0);
    for area in ["source", "pipeline", "hub"] {
        for finding in report.findings.iter().filter(|f| f.area == area) {
            let _ = writeln!(
                out,
                "{:<8} {:<8} {:<width$}  {}: {}",
                finding.status.as_str().to_uppercase(),
                finding.area,
                finding.subject,
                finding.check,
                finding.summary,
            );
            for fact in &finding.evidence {
                let _ = writeln!(out, "{:18}{:width$}  - {fact}", "", "");
            }
            if let Some(action) = &finding.action {
                let _ = writeln!(out, "{:18}{:width$}  → {action}", "", "");
            }
        }
    }
    let count = |status: Status| {
        report
            .findings
            .iter()
            .filter(|f| f.status == status)
            .count()
    };
    let plural = |n: usize, word: &str| match n {
        1 => format!("1 {word}"),
        n => format!("{n} {word}s"),
    };
    let _ = writeln!(
        out,
        "{} ok, {}, {}",
        count(Status::Ok),
        plural(count(Status::Warning), "warning"),
        plural(count(Status::Problem), "problem")
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Finding;

    #[test]
    fn findings_print_by_area_with_evidence_and_action() {
        let report = Report::new(vec![
            Finding::new(
                "hub",
                "disk",
                "hub",
                Status::Ok,
                "the store uses 3% of --retention-size",
            ),
            Finding::new(
                "source",
                "rbac",
                "prod",
                Status::Problem,
                "the context's user may not watch events",
            )
            .evidence("watch events: denied (SelfSubjectAccessReview)")
            .action("bind a ClusterRole"),
        ]);
        let text = render_table(&report);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "PROBLEM  source   prod  rbac: the context's user may not watch events"
        );
        assert_eq!(
            lines[1],
            "                        - watch events: denied (SelfSubjectAccessReview)"
        );
        assert_eq!(lines[2], "                        → bind a ClusterRole");
        assert_eq!(
            lines[3],
            "OK       hub      hub   disk: the store uses 3% of --retention-size"
        );
        assert_eq!(lines[4], "1 ok, 0 warnings, 1 problem");
    }
}
