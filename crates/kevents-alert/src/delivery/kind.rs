//! The kinds of alert receivers.

/// The kind of a receiver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SinkKind {
    /// An Alertmanager (v2 API).
    Alertmanager,
    /// A webhook.
    Webhook,
}
