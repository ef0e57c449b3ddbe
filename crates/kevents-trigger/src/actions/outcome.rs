//! What one attempt of an action says about the run.

use crate::run::ObjectRef;

/// The outcome of one attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Done (or already done by an earlier attempt: the idempotency key says so).
    Done {
        /// What the receiver answered.
        message: String,
        /// The object created.
        created: Option<ObjectRef>,
    },
    /// Failed for a reason that may pass (unreachable, 5xx, 429): try again later.
    Retry(String),
    /// Refused for good (4xx, forbidden, invalid object): the run fails now.
    Fail(String),
}
