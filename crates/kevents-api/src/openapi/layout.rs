//! How the two API groups' documents are named and laid out.

use kevents_model::ApiGroup;

/// Schema-name prefix of the apimachinery `meta/v1` types.
pub(super) const META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1";
/// Schema-name prefix of the `core/v1` types.
pub(super) const CORE: &str = "io.k8s.api.core.v1";
/// Schema-name prefix of the `events.k8s.io/v1` types.
pub(super) const EVENTS: &str = "io.k8s.api.events.v1";
/// The version of both groups.
pub(super) const VERSION: &str = "v1";

/// Where a group's paths live and how its operations and schemas are named.
#[derive(Clone, Copy)]
pub(super) struct Layout {
    pub(super) group: ApiGroup,
    /// URL prefix of the group version, e.g. `/api/v1`.
    pub(super) prefix: &'static str,
    /// Operation-id infix, e.g. `CoreV1` in `patchCoreV1NamespacedEvent`.
    pub(super) id: &'static str,
    /// Operation tag, e.g. `core_v1`.
    pub(super) tag: &'static str,
    /// Schema-name prefix of the group's own types.
    pub(super) schemas: &'static str,
}

impl Layout {
    pub(super) fn of(group: ApiGroup) -> Self {
        let (prefix, id, tag, schemas) = match group {
            ApiGroup::Core => ("/api/v1", "CoreV1", "core_v1", CORE),
            ApiGroup::Events => ("/apis/events.k8s.io/v1", "EventsV1", "events_v1", EVENTS),
        };
        Layout {
            group,
            prefix,
            id,
            tag,
            schemas,
        }
    }

    /// The key of this group version in the `/openapi/v3` index.
    pub(super) fn key(self) -> &'static str {
        self.prefix.trim_start_matches('/')
    }

    /// The full schema name of one of the group's own kinds.
    pub(super) fn schema(self, kind: &str) -> String {
        format!("{}.{kind}", self.schemas)
    }
}
