//! Whether each collector is of the hub's release line: a collector and a hub are built and
//! tested together per minor version, so one of another minor (or major) version is worth a
//! warning; a different patch version is not.

use crate::finding::{Finding, Status};
use crate::pipeline::ClusterFacts;

/// The `collector-version` finding of `cluster` on a hub of `hub_version`; none when the
/// collector did not say its version (one older than the check, or another client).
pub(crate) fn collector_version_finding(
    cluster: &ClusterFacts,
    hub_version: &str,
) -> Option<Finding> {
    let collector = cluster.collector_version.as_deref()?;
    let subject = cluster.name.as_str();
    let finding = match (minor_line(collector), minor_line(hub_version)) {
        (Some(theirs), Some(ours)) if theirs == ours => Finding::new(
            "pipeline",
            "collector-version",
            subject,
            Status::Ok,
            format!("the collector of {subject} is kevents {collector}, like the hub ({hub_version})"),
        ),
        _ => Finding::new(
            "pipeline",
            "collector-version",
            subject,
            Status::Warning,
            format!(
                "the collector of {subject} is kevents {collector}, the hub {hub_version}: \
                 another minor version"
            ),
        )
        .evidence(format!(
            "collector {collector} (its User-Agent), hub {hub_version}"
        ))
        .action("run collectors of the hub's minor version (upgrade the hub first, then the collectors)"),
    };
    Some(finding)
}

/// `(major, minor)` of a `MAJOR.MINOR.PATCH[-pre][+build]` version.
fn minor_line(version: &str) -> Option<(u64, u64)> {
    let mut parts = version.trim_start_matches('v').split(['.', '-', '+']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collector(version: Option<&str>) -> ClusterFacts {
        ClusterFacts {
            name: "prod".into(),
            collector_version: version.map(String::from),
            ..ClusterFacts::default()
        }
    }

    #[test]
    fn a_collector_of_another_minor_version_is_a_warning() {
        for (theirs, ours, expected) in [
            ("0.1.0", "0.1.0", Status::Ok),
            ("0.1.3", "0.1.0", Status::Ok),
            ("0.2.0", "0.1.4", Status::Warning),
            ("0.1.0", "0.2.0", Status::Warning),
            ("1.1.0", "0.1.0", Status::Warning),
            ("0.1.0-rc.1", "0.1.2", Status::Ok),
            ("unknown", "0.1.0", Status::Warning),
        ] {
            let finding = collector_version_finding(&collector(Some(theirs)), ours)
                .expect("a collector that says its version is checked");
            assert_eq!(finding.status, expected, "collector {theirs}, hub {ours}");
            assert_eq!(finding.check, "collector-version");
        }
        let warning = collector_version_finding(&collector(Some("0.2.0")), "0.1.4").unwrap();
        assert_eq!(
            warning.summary,
            "the collector of prod is kevents 0.2.0, the hub 0.1.4: another minor version"
        );
    }

    #[test]
    fn a_collector_that_does_not_say_its_version_is_not_judged() {
        assert!(collector_version_finding(&collector(None), "0.1.0").is_none());
    }
}
