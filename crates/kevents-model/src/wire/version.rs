//! Which Kubernetes version the wire forms are built for.

// Exactly one of these expands: the version of k8s-openapi's enabled `v1_*` feature.
k8s_openapi::k8s_if_1_33! { const ENABLED_MINOR: u32 = 33; }
k8s_openapi::k8s_if_1_34! { const ENABLED_MINOR: u32 = 34; }
k8s_openapi::k8s_if_1_35! { const ENABLED_MINOR: u32 = 35; }
k8s_openapi::k8s_if_1_36! { const ENABLED_MINOR: u32 = 36; }
k8s_openapi::k8s_if_1_37! { const ENABLED_MINOR: u32 = 37; }

/// The Kubernetes minor version (`1.x`) whose API types the wire forms are built from: the
/// `v1_*` feature enabled on k8s-openapi.
pub fn kubernetes_minor() -> u32 {
    ENABLED_MINOR
}
