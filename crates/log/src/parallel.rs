//! CPU-bound work split across the cores: decoding a page of the log, folding a
//! catch-up batch, encoding and decoding a read-model snapshot.

use std::sync::mpsc::{SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::ScopedJoinHandle;

/// How many parts to split CPU-bound work into.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// Runs `work` on every item, each on its own thread, and returns the results in the
/// items' order. An item whose thread cannot be started (the process is out of
/// threads) is worked on here instead; a panic in one is passed on to the caller.
pub fn each<T: Send, R: Send>(
    items: impl IntoIterator<Item = T>,
    work: impl Fn(T) -> R + Sync,
) -> Vec<R> {
    let slots: Vec<Mutex<Option<T>>> = items.into_iter().map(|t| Mutex::new(Some(t))).collect();
    let take = |slot: &Mutex<Option<T>>| {
        slot.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
            .map(&work)
    };
    std::thread::scope(|scope| {
        let workers: Vec<_> = slots
            .iter()
            .map(|slot| {
                std::thread::Builder::new()
                    .spawn_scoped(scope, move || take(slot))
                    .ok()
            })
            .collect();
        workers
            .into_iter()
            .zip(&slots)
            .filter_map(|(worker, slot)| match worker {
                Some(worker) => joined(worker),
                None => take(slot),
            })
            .collect()
    })
}

/// What a scoped thread returned; a panic in it is passed on to the caller.
fn joined<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Runs `aside` on a thread of its own while `here` runs on this one, and returns both
/// results; `aside`'s is `Err` with its panic if it panicked. When no thread can be
/// started (the process is out of threads), `aside` runs here first instead.
pub fn join<A: Send, B>(
    aside: impl FnOnce() -> A + Send,
    here: impl FnOnce() -> B,
) -> (std::thread::Result<A>, B) {
    let aside = Mutex::new(Some(aside));
    let run_aside = || {
        let work = aside
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        work.map(|work| work())
    };
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .spawn_scoped(scope, run_aside)
            .ok();
        let Some(worker) = worker else {
            let first = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run_aside));
            return (first.and_then(ran), here());
        };
        let second = here();
        (worker.join().and_then(ran), second)
    })
}

/// The result of work that runs once: its slot is empty only if it never ran, which
/// `join` rules out, but that is an error here rather than a panic.
fn ran<A>(done: Option<A>) -> std::thread::Result<A> {
    done.ok_or_else(|| Box::new("the work aside did not run") as Box<dyn std::any::Any + Send>)
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
    fn both_sides_of_a_join_run_and_a_panic_aside_is_returned() {
        let (aside, here) = super::join(|| 2 + 2, || "here");
        assert_eq!((aside.unwrap(), here), (4, "here"));
        let (aside, here) = super::join(|| -> u8 { panic!("aside") }, || 7);
        assert!(aside.is_err());
        assert_eq!(here, 7);
    }

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

    #[test]
    fn results_come_back_in_order() {
        assert_eq!(super::each(0..5, |n| n * 10), vec![0, 10, 20, 30, 40]);
        assert!(super::each(Vec::<u8>::new(), |n| n).is_empty());
    }
}
