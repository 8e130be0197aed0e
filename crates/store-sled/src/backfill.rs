//! Puts the ids stored before the store opened into the id filter (see `id_filter`), on a
//! thread of its own, the first time an append or a retry check needs the filter.
//!
//! Scanning a million id keys takes about a second of one core: a store opened only to
//! be read (a rebuild, an audit, a timeline export) should not pay it, and a server
//! should not wait for it before it serves. Until the backfill completes, the filter
//! answers "perhaps" and every lookup goes to sled, as it would without a filter.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use tracing::{info, warn};

use super::id_filter::IdFilter;
use super::keys::ID_PREFIX;

pub(crate) struct Backfill {
    log: sled::Tree,
    filter: Arc<IdFilter>,
    started: AtomicBool,
    stop: Arc<AtomicBool>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Backfill {
    pub(crate) fn new(log: sled::Tree, filter: Arc<IdFilter>) -> Self {
        Self {
            log,
            filter,
            started: AtomicBool::new(false),
            stop: Arc::new(AtomicBool::new(false)),
            thread: Mutex::new(None),
        }
    }

    /// Starts the backfill unless it already started: cheap after the first call.
    pub(crate) fn start(&self) {
        if self.started.swap(true, Ordering::AcqRel) {
            return;
        }
        let (log, filter, stop) = (self.log.clone(), self.filter.clone(), self.stop.clone());
        let spawned = std::thread::Builder::new()
            .name("complaintflow-ids".into())
            .spawn(move || {
                let filled = super::guard::guarded(
                    || "the event-id index".to_owned(),
                    || {
                        fill(&log, &filter, &stop);
                        Ok(())
                    },
                );
                if let Err(err) = filled {
                    warn!(error = %err, "event-id backfill stopped: lookups keep asking sled");
                }
            });
        match spawned {
            Ok(thread) => *self.lock() = Some(thread),
            // The filter stays incomplete: every lookup asks sled, which is correct.
            Err(err) => warn!(error = %err, "cannot start the event-id backfill"),
        }
    }

    /// Stops the backfill and waits for its thread, which holds a handle on the
    /// database: the directory is only unlocked once every handle is gone.
    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.lock().take() {
            let _ = thread.join();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<JoinHandle<()>>> {
        self.thread
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for Backfill {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Every id key stored, into `filter`; then `filter` is complete. Ids the writer stores
/// meanwhile are inserted by the writer too, so an id this scan misses is not lost.
fn fill(log: &sled::Tree, filter: &IdFilter, stop: &AtomicBool) {
    let started = Instant::now();
    let mut ids = 0u64;
    for key in log.scan_prefix(ID_PREFIX).keys() {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        match key {
            Ok(key) => {
                if let Some(event_id) = super::keys::event_id_of_id_key(&key) {
                    filter.insert(event_id);
                }
            }
            Err(err) => {
                warn!(error = %err, "event-id backfill stopped: lookups keep asking sled");
                return;
            }
        }
        ids += 1;
    }
    filter.mark_complete();
    info!(
        ids,
        seconds = started.elapsed().as_secs_f64(),
        "event-id filter complete"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id_filter::tests::false_positives;
    use crate::keys::legacy_id_key as id_key;
    use uuid::Uuid;

    /// The id key of the event id `n`, whose 16 bytes are `n` big-endian.
    fn key(n: u128) -> [u8; 17] {
        id_key(&Uuid::from_u128(n))
    }

    #[test]
    fn the_backfill_completes_the_filter_with_every_stored_id() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let log = db.open_tree("log").unwrap();
        for n in 0..3_000u128 {
            log.insert(key(n), &[]).unwrap();
        }
        log.insert(b"s-not-an-id", &[]).unwrap();
        let filter = Arc::new(IdFilter::new(3_000));
        let backfill = Backfill::new(log, filter.clone());
        assert!(
            filter.may_contain(&9_999u128.to_be_bytes()),
            "incomplete: perhaps"
        );
        backfill.start();
        backfill.start();
        let thread = backfill.lock().take().unwrap();
        thread.join().unwrap();
        assert!((0..3_000u128).all(|n| filter.may_contain(&n.to_be_bytes())));
        let strangers = false_positives(&filter);
        assert!(strangers < 100, "{strangers} false positives in 10,000");
    }

    #[test]
    fn a_stopped_backfill_leaves_the_filter_incomplete() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let log = db.open_tree("log").unwrap();
        log.insert(key(1), &[]).unwrap();
        let filter = Arc::new(IdFilter::new(1));
        let backfill = Backfill::new(log, filter.clone());
        backfill.stop.store(true, Ordering::Relaxed);
        backfill.start();
        backfill.stop();
        assert!(filter.may_contain(&7u128.to_be_bytes()));
    }
}
