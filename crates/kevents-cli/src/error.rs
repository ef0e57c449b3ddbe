//! The one error type of the CLI: every variant renders as a single line for the terminal.

/// Why a command failed; printed as one line, and the process exits with status 1.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The hub could not be reached or the connection broke.
    #[error("cannot reach the hub at {url}: {reason} (is `kevents serve` running? see --server)")]
    Connect {
        /// The hub's base URL.
        url: String,
        /// What went wrong, as one line.
        reason: String,
    },
    /// The hub answered with an error `Status`.
    #[error("the hub answered {code}: {message}")]
    Api {
        /// HTTP status code.
        code: u16,
        /// The `Status` message, or the body.
        message: String,
    },
    /// The hub sent something that is not a Kubernetes Event list or watch stream.
    #[error("unexpected answer from the hub: {0}")]
    Protocol(String),
    /// Reading or writing a local file or the terminal failed.
    #[error("{context}: {error}")]
    Io {
        /// What was being done, e.g. `writing events.csv`.
        context: String,
        /// The underlying error (not a `source`, so it prints on the same line).
        error: std::io::Error,
    },
    /// A request the CLI cannot serve (a flag the hub does not support yet, bad input file).
    #[error("{0}")]
    Invalid(String),
}

impl CliError {
    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> CliError {
        CliError::Io {
            context: context.into(),
            error: source,
        }
    }

    /// True when stdout was closed by the reader (`kevents get | head`): not a failure.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, CliError::Io { error, .. } if error.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

/// Shorthand for results of CLI operations.
pub type Result<T, E = CliError> = std::result::Result<T, E>;
