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
pub fn joined<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_come_back_in_order() {
        assert_eq!(super::each(0..5, |n| n * 10), vec![0, 10, 20, 30, 40]);
        assert!(super::each(Vec::<u8>::new(), |n| n).is_empty());
    }
}
