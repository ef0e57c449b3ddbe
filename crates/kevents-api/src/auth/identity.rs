//! Who asks and what they ask for, in authentication and authorization terms.

use std::net::SocketAddr;

/// The connection a request came on; set by the server loop.
#[derive(Clone, Debug)]
pub struct Peer {
    /// The client's address.
    pub address: SocketAddr,
    /// True over TLS.
    pub tls: bool,
    /// The identity of a verified client certificate, if one was presented.
    pub client: Option<Identity>,
}

/// Who is asking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// User name.
    pub user: String,
    /// User id.
    pub uid: String,
    /// Groups.
    pub groups: Vec<String>,
}

impl Identity {
    pub(super) fn anonymous() -> Identity {
        Identity {
            user: "system:anonymous".into(),
            uid: String::new(),
            groups: vec!["system:unauthenticated".into()],
        }
    }
}

/// What a request does, in authorization terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attributes {
    /// get, list, watch, create, update, patch, delete, deletecollection.
    pub verb: String,
    /// API group: `""` or `events.k8s.io`.
    pub group: String,
    /// The resource (`events`).
    pub resource: String,
    /// The namespace; `None` across all namespaces.
    pub namespace: Option<String>,
    /// The object name.
    pub name: Option<String>,
    /// The cluster.
    pub cluster: String,
}

/// The group whose members are allowed everything (Kubernetes' `user.SystemPrivilegedGroup`).
pub const SUPERUSER_GROUP: &str = "system:masters";
