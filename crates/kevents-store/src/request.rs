//! What the writer thread is asked to do: the one queue that callers and the checkpoint thread
//! send to.

use crate::tiering::Sealed;
use crate::{Committed, Mutation, StoreError};
use tokio::sync::oneshot;

/// A request to the writer thread.
pub(crate) enum Request {
    Mutate(
        Box<Mutation>,
        oneshot::Sender<Result<Committed, StoreError>>,
    ),
    /// Commit everything queued before it, then write a checkpoint and answer when it is done;
    /// with `true`, the checkpoint also rewrites every cold file with dead rows (retention needs
    /// the space back).
    Checkpoint(CheckpointDone, bool),
    /// A checkpoint finished on its thread: install it, then answer these.
    Sealed(Box<Result<Sealed, StoreError>>, Vec<CheckpointDone>),
    Shutdown(oneshot::Sender<()>),
}

/// Answered with the checkpoint's version once it is durable.
pub(crate) type CheckpointDone = oneshot::Sender<Result<u64, StoreError>>;
