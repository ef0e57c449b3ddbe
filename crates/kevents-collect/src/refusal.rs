//! Telling a source cluster's refusal (bad credentials, a missing permission) apart from passing
//! trouble, so that the collector can say what to fix instead of a generic watch error.

use kube::core::Status;
use kube::runtime::watcher;

/// What the collector's user needs on every source cluster, as the message says it.
pub const NEEDED: &str = "the collector needs list and watch on events in all namespaces \
(a ClusterRole with apiGroups [\"\"], resources [events], verbs [list, watch], bound to its user)";

/// The message to log when `error` is the source refusing the collector (401 or 403), `None`
/// for anything else (timeouts, `410 Expired`, a dropped connection).
pub fn refusal(error: &watcher::Error) -> Option<String> {
    let (call, status) = match error {
        watcher::Error::InitialListFailed(kube::Error::Api(status)) => ("list", status),
        watcher::Error::WatchStartFailed(kube::Error::Api(status))
        | watcher::Error::WatchFailed(kube::Error::Api(status)) => ("watch", status),
        watcher::Error::WatchError(status) => ("watch", status),
        _ => return None,
    };
    refusal_of(call, status)
}

fn refusal_of(call: &str, status: &Status) -> Option<String> {
    let said = if status.message.is_empty() {
        status.reason.as_str()
    } else {
        status.message.as_str()
    };
    match status.code {
        401 => Some(format!(
            "the cluster refused the collector's credentials to {call} events (401 Unauthorized: {said}): \
check the kubeconfig's token or certificate (in a pod, its ServiceAccount token)"
        )),
        403 => Some(format!(
            "the cluster forbids the collector to {call} events (403 Forbidden: {said}): {NEEDED}"
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16, message: &str) -> Box<Status> {
        Box::new(Status {
            code,
            message: message.to_string(),
            reason: "Forbidden".to_string(),
            ..Status::default()
        })
    }

    #[test]
    fn a_forbidden_watch_names_the_missing_permission() {
        let apiserver = "events is forbidden: User \"system:serviceaccount:kevents:kevents-collector\" cannot watch resource \"events\" in API group \"\" at the cluster scope";
        let error = watcher::Error::WatchStartFailed(kube::Error::Api(status(403, apiserver)));
        let message = refusal(&error).expect("a 403 is a refusal");
        assert!(message.starts_with("the cluster forbids the collector to watch events (403 Forbidden: events is forbidden: User"), "{message}");
        assert!(message.ends_with(NEEDED), "{message}");
    }

    #[test]
    fn a_forbidden_list_says_list() {
        let error = watcher::Error::InitialListFailed(kube::Error::Api(status(403, "")));
        let message = refusal(&error).expect("a 403 is a refusal");
        assert!(
            message.starts_with(
                "the cluster forbids the collector to list events (403 Forbidden: Forbidden)"
            ),
            "{message}"
        );
    }

    #[test]
    fn bad_credentials_point_at_the_credentials() {
        let error = watcher::Error::WatchError(status(401, "Unauthorized"));
        let message = refusal(&error).expect("a 401 is a refusal");
        assert!(
            message.contains("refused the collector's credentials to watch events"),
            "{message}"
        );
    }

    #[test]
    fn expired_and_other_errors_are_not_refusals() {
        let expired = watcher::Error::WatchError(status(410, "too old resource version"));
        assert_eq!(refusal(&expired), None);
        assert_eq!(refusal(&watcher::Error::NoResourceVersion), None);
    }
}
