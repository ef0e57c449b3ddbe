//! Catching up after a start: the series and the rule engine's groups are rebuilt from the
//! stored events in the background while the hub serves (the series answer `503` with
//! `Retry-After` and the engine does not evaluate until theirs is done; `kevents_rebuilding`
//! says which part is still at it). The store is read once for both: one thread reads the
//! pages (decoding cold blocks is most of the work), and each part counts them on its own
//! thread, so the reading and both countings overlap. Pages are dropped once counted: only
//! what a part keeps stays in memory.

use crate::metrics::RebuildGuard;
use kevents_alert::rules::RuleEngine;
use kevents_api::SeriesState;
use kevents_model::Micros;
use kevents_store::{Store, StoredEvent};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::time::Instant;

/// Events read per page (the store's read lock is held for one page).
const PAGE: usize = 5_000;

/// Pages read ahead of the slower part.
const PAGES_AHEAD: usize = 4;

/// What is rebuilt, and what says so meanwhile.
pub struct CatchUp {
    /// The store, and the version the change feed is followed after.
    pub store: Store,
    pub from: u64,
    /// In [`SeriesState::begin_rebuild`] since before the feed was followed.
    pub series: Arc<SeriesState>,
    pub series_rebuilding: RebuildGuard,
    /// In [`RuleEngine::begin_rebuild`] since before the feed was followed.
    pub engine: Arc<RuleEngine>,
    pub alerts_rebuilding: RebuildGuard,
    /// Told once the series are whole (or the rebuild stopped).
    pub series_done: tokio::sync::oneshot::Sender<()>,
}

type Page = Arc<Vec<Arc<StoredEvent>>>;

/// Rebuilds both parts from one read of the store; stops early when `shutdown` is set.
pub fn start(
    catch_up: CatchUp,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::task::spawn_blocking(move || run(catch_up, shutdown))
}

fn run(catch_up: CatchUp, shutdown: tokio::sync::watch::Receiver<bool>) {
    let CatchUp {
        store,
        from,
        series,
        series_rebuilding,
        engine,
        alerts_rebuilding,
        series_done,
    } = catch_up;
    let started = Instant::now();
    let (to_series, series_pages) = sync_channel::<Page>(PAGES_AHEAD);
    let (to_alerts, alert_pages) = sync_channel::<Page>(PAGES_AHEAD);
    std::thread::scope(|threads| {
        let counting_series = std::thread::Builder::new()
            .name("series-rebuild".into())
            .spawn_scoped(threads, || count_series(&series, series_pages))
            .expect("starting a thread");
        let counting_alerts = std::thread::Builder::new()
            .name("alerts-rebuild".into())
            .spawn_scoped(threads, || {
                let mut rebuild = engine.rebuild_from(from, Micros::now());
                for page in alert_pages {
                    engine.rebuild_page(&mut rebuild, &page);
                }
                rebuild
            })
            .expect("starting a thread");
        let mut read = 0;
        let pages = read_once(&store, &mut read, [to_series, to_alerts], &shutdown);
        let read_in = started.elapsed();
        // Each part ends as soon as it has counted every page.
        let series_ok = counting_series.join().is_ok();
        match (&pages, series_ok) {
            (Some(pages), true) => series.end_rebuild(pages),
            _ => series.abandon_rebuild(),
        }
        drop(series_rebuilding);
        let _ = series_done.send(());
        let series_in = started.elapsed();
        match (&pages, counting_alerts.join()) {
            (Some(pages), Ok(rebuild)) => {
                let counted = rebuild.counted();
                // The alert groups say they are rebuilding until their first evaluation is out.
                engine.hold_until_evaluated(Box::new(alerts_rebuilding));
                engine.end_rebuild(rebuild, pages);
                tracing::info!(
                    events = read,
                    events_counted_by_rules = counted,
                    read_millis = read_in.as_millis() as u64,
                    series_millis = series_in.as_millis() as u64,
                    alerts_millis = started.elapsed().as_millis() as u64,
                    series = series.len(),
                    "series and alert groups rebuilt from the store"
                );
            }
            _ => {
                engine.abandon_rebuild();
                drop(alerts_rebuilding);
            }
        }
    });
}

/// Reads every stored event once, handing each page to every part; `None` when stopped.
fn read_once(
    store: &Store,
    read: &mut usize,
    parts: [SyncSender<Page>; 2],
    shutdown: &tokio::sync::watch::Receiver<bool>,
) -> Option<kevents_store::ReadPages> {
    store.read_pages(PAGE, |listed| {
        *read += listed.items.len();
        let page: Page = Arc::new(listed.items);
        // A part that ended (it panicked) no longer takes pages; the others still do.
        let taken = parts
            .iter()
            .filter(|p| p.send(page.clone()).is_ok())
            .count();
        taken > 0 && !*shutdown.borrow()
    })
}

fn count_series(series: &SeriesState, pages: Receiver<Page>) {
    for page in pages {
        series.rebuild_page(&page);
    }
}
