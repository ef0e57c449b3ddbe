//! The hub's allocator, and giving freed memory back to the system.
//!
//! mimalloc rather than the system allocator: it returns freed memory (measured in
//! docs/benchmarks.md#allocator). It does so per thread, though: a block freed by another
//! thread (the store's writer drops the watch history's old versions that request handlers
//! allocated) waits on its page until the thread owning the page collects, and an idle worker
//! never does. So when the memory the store accounts for falls by [`RETURN_AFTER_BYTES`], every
//! runtime worker collects its pages the next time it goes idle, and the workers are woken to
//! do so.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use kevents_store::Store;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A fall of the store's accounted memory (watch history and block cache) that makes the
/// workers collect.
pub const RETURN_AFTER_BYTES: u64 = 8 << 20;

/// How often the accounted memory is looked at: one read of two counters.
const LOOK_EVERY: Duration = Duration::from_secs(1);

/// Bumped when the workers should collect; each remembers the last one it acted on.
static COLLECT_GENERATION: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static COLLECTED_GENERATION: Cell<u64> = const { Cell::new(0) };
}

unsafe extern "C" {
    /// mimalloc's collection of the calling thread's pages; `force` also visits full pages
    /// (those freed by other threads) and purges freed memory at once.
    fn mi_collect(force: bool);
}

/// For `on_thread_park`: collects this thread's pages if a collection was asked for since it
/// last did. Otherwise one atomic load.
pub fn on_worker_park() {
    let wanted = COLLECT_GENERATION.load(Ordering::Relaxed);
    COLLECTED_GENERATION.with(|done| {
        if done.get() != wanted {
            done.set(wanted);
            collect_this_thread();
        }
    });
}

fn collect_this_thread() {
    // SAFETY: mi_collect takes no pointers and may be called from any thread at any time.
    unsafe { mi_collect(true) }
}

/// Asks every worker to collect and wakes them: each runs a task and parks again.
fn ask_workers_to_collect(workers: usize) {
    COLLECT_GENERATION.fetch_add(1, Ordering::Relaxed);
    for _ in 0..workers * 2 {
        tokio::spawn(tokio::task::yield_now());
    }
}

/// Watches the memory the store accounts for and has the workers give back what it released.
pub async fn give_back_freed_memory(
    store: Store,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let workers = tokio::runtime::Handle::current().metrics().num_workers();
    let mut ticker = tokio::time::interval(LOOK_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut high = 0u64;
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                let stats = store.stats();
                let held = (stats.history_bytes + stats.block_cache_bytes) as u64;
                if released_enough(high, held) {
                    high = held;
                    ask_workers_to_collect(workers);
                } else {
                    high = high.max(held);
                }
            }
            _ = shutdown.changed() => return,
        }
    }
}

/// Whether the accounted memory fell far enough from its high mark to collect.
fn released_enough(high: u64, held: u64) -> bool {
    high.saturating_sub(held) >= RETURN_AFTER_BYTES
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fall_of_the_accounted_memory_below_the_threshold_does_not_collect() {
        assert!(!released_enough(0, 0));
        assert!(!released_enough(
            100 << 20,
            (100 << 20) - RETURN_AFTER_BYTES + 1
        ));
        assert!(
            !released_enough(1 << 20, 64 << 20),
            "growth is not a release"
        );
    }

    #[test]
    fn a_fall_of_the_threshold_or_more_collects() {
        assert!(released_enough(64 << 20, 0));
        assert!(released_enough(100 << 20, (100 << 20) - RETURN_AFTER_BYTES));
    }

    #[test]
    fn a_parked_worker_collects_once_per_request() {
        let before = COLLECTED_GENERATION.with(Cell::get);
        COLLECT_GENERATION.fetch_add(1, Ordering::Relaxed);
        on_worker_park();
        let after = COLLECTED_GENERATION.with(Cell::get);
        assert_ne!(before, after);
        assert_eq!(after, COLLECT_GENERATION.load(Ordering::Relaxed));
        on_worker_park();
        assert_eq!(COLLECTED_GENERATION.with(Cell::get), after);
    }
}
