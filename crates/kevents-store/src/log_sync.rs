//! The log's sync thread: it fsyncs the segments of written batches in order, so the writer
//! can stage the next batch meanwhile; the writer waits for its results when it has nothing
//! else to do.

use crate::shared::Shared;
use crate::StoreError;
use std::sync::Arc;

/// The sync thread: fsyncs written batches in order, so the writer can stage the next batch
/// meanwhile.
pub(crate) struct Syncer {
    jobs: Option<std::sync::mpsc::Sender<std::fs::File>>,
    results: std::sync::mpsc::Receiver<std::io::Result<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Syncer {
    pub fn start(shared: Arc<Shared>) -> Result<Syncer, StoreError> {
        let (jobs, todo) = std::sync::mpsc::channel::<std::fs::File>();
        let (done, results) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("kevents-store-sync".into())
            .spawn(move || {
                for file in todo {
                    let synced = sync(&shared, &file);
                    if done.send(synced).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| StoreError::io("starting the log sync thread", e))?;
        Ok(Syncer {
            jobs: Some(jobs),
            results,
            thread: Some(thread),
        })
    }

    /// Starts syncing a written batch's segment.
    pub fn submit(&self, segment: std::fs::File) {
        if let Some(jobs) = &self.jobs {
            // A stopped thread shows in the result.
            let _ = jobs.send(segment);
        }
    }

    /// The result of the oldest sync not yet collected, waiting for it.
    pub fn wait(&self) -> std::io::Result<()> {
        self.results
            .recv()
            .unwrap_or_else(|_| Err(sync_thread_stopped()))
    }

    /// The result of the oldest sync not yet collected, if it is done.
    pub fn try_result(&self) -> Option<std::io::Result<()>> {
        match self.results.try_recv() {
            Ok(result) => Some(result),
            Err(std::sync::mpsc::TryRecvError::Empty) => None,
            Err(std::sync::mpsc::TryRecvError::Disconnected) => Some(Err(sync_thread_stopped())),
        }
    }
}

impl Drop for Syncer {
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn sync_thread_stopped() -> std::io::Error {
    std::io::Error::other("the log sync thread stopped")
}

/// Bytes the disk probe writes: room for a batch of writes, so a disk with a few bytes left
/// over is still found full.
const PROBE_BYTES: usize = 64 * 1024;

/// Writes, syncs and removes a file in the data directory, as a log append would: fails while
/// the disk is full (or syncs fail).
pub(crate) fn probe_disk(shared: &Shared) -> std::io::Result<()> {
    use std::io::Write;
    let path = shared.config.data_dir.join("write-probe.tmp");
    let written = std::fs::File::create(&path).and_then(|mut file| {
        file.write_all(&[0; PROBE_BYTES])?;
        sync(shared, &file)
    });
    let _ = std::fs::remove_file(&path);
    written
}

/// Makes `file`'s written data durable.
#[cfg(not(test))]
fn sync(_: &Shared, file: &std::fs::File) -> std::io::Result<()> {
    file.sync_data()
}

/// Makes `file`'s written data durable, or fails while the tests have failures queued.
#[cfg(test)]
fn sync(shared: &Shared, file: &std::fs::File) -> std::io::Result<()> {
    use std::sync::atomic::Ordering::Relaxed;
    let faults = &shared.sync_faults;
    match faults.fetch_update(Relaxed, Relaxed, |n| n.checked_sub(1)) {
        Ok(_) => Err(std::io::Error::other("injected sync failure")),
        Err(_) => file.sync_data(),
    }
}
