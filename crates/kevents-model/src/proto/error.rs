//! The error of decoding or encoding a protobuf body, shared by both directions.

/// What is wrong with a protobuf body, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{problem}", if path.is_empty() { String::new() } else { format!("{path}: ") })]
pub struct ProtoError {
    /// The JSON path of the field (`metadata.labels`), empty for the envelope.
    pub path: String,
    /// What is wrong with it.
    pub problem: String,
}

impl ProtoError {
    pub(super) fn new(path: &str, problem: impl Into<String>) -> ProtoError {
        ProtoError {
            path: path.to_string(),
            problem: problem.into(),
        }
    }
}
