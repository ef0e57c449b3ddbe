//! The two API groups that serve events.

/// The API group a request came through; both serve the same stored events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ApiGroup {
    /// The legacy core group: `/api/v1`, `apiVersion: v1`.
    Core,
    /// `events.k8s.io/v1`.
    Events,
}

impl ApiGroup {
    /// `apiVersion` of objects in this group.
    pub fn api_version(self) -> &'static str {
        match self {
            ApiGroup::Core => "v1",
            ApiGroup::Events => "events.k8s.io/v1",
        }
    }

    /// The group name: empty for core.
    pub fn group_name(self) -> &'static str {
        match self {
            ApiGroup::Core => "",
            ApiGroup::Events => "events.k8s.io",
        }
    }

    /// How the resource is named in error messages: `events` or `events.events.k8s.io`.
    pub fn qualified_resource(self) -> &'static str {
        match self {
            ApiGroup::Core => "events",
            ApiGroup::Events => "events.events.k8s.io",
        }
    }

    /// The JSON field holding the object the event is about.
    pub fn involved_object_field(self) -> &'static str {
        match self {
            ApiGroup::Core => "involvedObject",
            ApiGroup::Events => "regarding",
        }
    }
}
