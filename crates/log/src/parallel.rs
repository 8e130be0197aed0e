//! CPU-bound work split across the cores. Work on a batch already in hand (decoding a
//! page, folding a catch-up batch, a snapshot's parts) goes to rayon; `broadcast` is for
//! the one case rayon does not cover: every worker over every item of a source that is
//! still being read, each at its own pace.

use std::sync::mpsc::{SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::ScopedJoinHandle;

/// How many parts to split CPU-bound work into.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// How many items a worker of `broadcast` may lag behind its source.
const BROADCAST_QUEUE: usize = 4;

/// Why `broadcast` stopped before the end of its source.
#[derive(Debug)]
pub enum Stopped<E> {
    /// The source failed.
    Source(E),
    /// A worker panicked.
    Panicked,
}

/// Runs every worker on a thread of its own over every item of `source`, in order,
/// and returns the workers. Each worker sees each item (shared, not copied) at its own
/// pace, at most a few items behind the source: reading the items and working on them
/// keep the cores busy without waiting on one another, where batches taken in lockstep
/// would wait for the slowest side at every step. A worker whose thread cannot be
/// started works here instead, between items.
pub fn broadcast<W: Send, T: Send + Sync, E>(
    workers: Vec<W>,
    source: impl IntoIterator<Item = Result<T, E>>,
    work: impl Fn(&mut W, &T) + Sync,
) -> Result<Vec<W>, Stopped<E>> {
    let slots: Vec<Mutex<Option<W>>> = workers.into_iter().map(|w| Mutex::new(Some(w))).collect();
    let take = |slot: &Mutex<Option<W>>| {
        slot.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    };
    let work = &work;
    std::thread::scope(|scope| {
        let mut lanes: Vec<Lane<'_, W, T>> = slots
            .iter()
            .map(|slot| {
                let (queue, items) = sync_channel::<Arc<T>>(BROADCAST_QUEUE);
                let spawned = std::thread::Builder::new().spawn_scoped(scope, move || {
                    let mut worker = take(slot);
                    if let Some(worker) = &mut worker {
                        for item in &items {
                            work(worker, &item);
                        }
                    }
                    worker
                });
                match spawned {
                    Ok(thread) => Lane::Aside(Some(queue), thread),
                    Err(_) => Lane::Here(take(slot)),
                }
            })
            .collect();
        let mut failed = None;
        for item in source {
            let item = match item {
                Ok(item) => Arc::new(item),
                Err(err) => {
                    failed = Some(Stopped::Source(err));
                    break;
                }
            };
            for lane in &mut lanes {
                lane.give(&item, work);
            }
        }
        // Every thread is joined, even after a failure: none outlives the scope busy.
        let workers: Vec<_> = lanes.into_iter().map(Lane::finish).collect();
        match failed {
            Some(failed) => Err(failed),
            None => workers
                .into_iter()
                .collect::<Option<_>>()
                .ok_or(Stopped::Panicked),
        }
    })
}

/// Where a worker of `broadcast` runs.
enum Lane<'scope, W, T> {
    /// On its own thread, fed through a queue (gone once the worker stopped).
    Aside(
        Option<SyncSender<Arc<T>>>,
        ScopedJoinHandle<'scope, Option<W>>,
    ),
    /// Here, between items.
    Here(Option<W>),
}

impl<W, T> Lane<'_, W, T> {
    fn give(&mut self, item: &Arc<T>, work: impl Fn(&mut W, &T)) {
        match self {
            Lane::Aside(queue, _) => {
                // A worker that panicked no longer listens; `finish` reports it.
                if queue
                    .as_ref()
                    .is_some_and(|q| q.send(item.clone()).is_err())
                {
                    *queue = None;
                }
            }
            Lane::Here(Some(worker)) => work(worker, item),
            Lane::Here(None) => {}
        }
    }

    /// The worker once it has seen every item; `None` if it panicked.
    fn finish(self) -> Option<W> {
        match self {
            Lane::Aside(queue, thread) => {
                drop(queue);
                thread.join().ok().flatten()
            }
            Lane::Here(worker) => worker,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_worker_sees_every_item_in_order() {
        let items = (1..=100u64).map(Ok::<_, ()>);
        let workers = super::broadcast(vec![Vec::new(); 3], items, |seen, n| seen.push(*n));
        let expected: Vec<u64> = (1..=100).collect();
        assert_eq!(
            workers.unwrap(),
            vec![expected.clone(), expected.clone(), expected]
        );
    }

    #[test]
    fn broadcast_stops_at_the_first_error_of_its_source() {
        let items = (0..10).map(|n| if n == 5 { Err(n) } else { Ok(n) });
        let stopped = super::broadcast(vec![0; 2], items, |sum, n| *sum += n);
        assert!(matches!(stopped, Err(super::Stopped::Source(5))));
    }

    #[test]
    fn a_panicking_worker_is_reported_not_propagated() {
        let items = (0..50).map(Ok::<_, ()>);
        let stopped = super::broadcast(vec![0u8, 1], items, |id, n| {
            assert!(!(*id == 1 && *n == 3), "worker 1 fails");
        });
        assert!(matches!(stopped, Err(super::Stopped::Panicked)));
    }
}
