//! CPU-bound work split across the cores: decoding a page of the log, folding a
//! catch-up batch, encoding and decoding a read-model snapshot.

use std::sync::Mutex;

/// How many parts to split CPU-bound work into.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
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
            .unwrap_or_else(|e| e.into_inner())
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
        let work = aside.lock().unwrap_or_else(|e| e.into_inner()).take();
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
    fn results_come_back_in_order() {
        assert_eq!(super::each(0..5, |n| n * 10), vec![0, 10, 20, 30, 40]);
        assert!(super::each(Vec::<u8>::new(), |n| n).is_empty());
    }
}
