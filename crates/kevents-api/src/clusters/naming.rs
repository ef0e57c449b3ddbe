//! Cluster names and the label that shows an event's cluster.

use crate::error::ApiError;
use kevents_model::EventRecord;

/// The label that names the cluster of a collected event.
pub const CLUSTER_LABEL: &str = "kevents.io/cluster";

/// Cluster names are DNS-1123 labels, like namespaces.
pub(crate) fn check_name(cluster: &str) -> Result<(), ApiError> {
    let valid = !cluster.is_empty()
        && cluster.len() <= 63
        && cluster
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !cluster.starts_with('-')
        && !cluster.ends_with('-');
    if valid {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "invalid cluster name {cluster:?}: a lowercase RFC 1123 label must consist of lower \
             case alphanumeric characters or '-', start and end with an alphanumeric character, \
             and be at most 63 characters"
        )))
    }
}

/// Puts `record` in `cluster` (`""`: the hub's own), with the label that shows it; the label is
/// server-owned, so a client's value is replaced.
pub(crate) fn settle_cluster(record: &mut EventRecord, cluster: &str) {
    record.cluster = cluster.to_string();
    if cluster.is_empty() {
        record.labels.remove(CLUSTER_LABEL);
    } else {
        record
            .labels
            .insert(CLUSTER_LABEL.to_string(), cluster.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_names_are_dns_labels() {
        for good in ["prod", "eu-west-1", "a", "0"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        let long = "a".repeat(64);
        for bad in ["", "Prod", "-a", "a-", "a.b", "a/b", long.as_str()] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn settle_cluster_owns_the_label() {
        let mut record = EventRecord::default();
        record.labels.insert(CLUSTER_LABEL.into(), "spoofed".into());
        settle_cluster(&mut record, "");
        assert!(record.labels.is_empty());
        settle_cluster(&mut record, "prod");
        assert_eq!(record.labels[CLUSTER_LABEL], "prod");
        assert_eq!(record.cluster, "prod");
    }
}
