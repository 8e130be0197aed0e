//! One submission per complaint at a time.
//!
//! Submissions to one complaint cannot both succeed against the same version anyway; taking
//! turns makes the loser wait instead of losing, and lets a retry that races its original
//! find it stored. Submissions to different complaints never wait for each other.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::{Mutex as TurnLock, OwnedMutexGuard};

use complaintflow_log::StreamId;

/// Beyond this many remembered complaints, the ones nobody holds are forgotten.
const PRUNE_AT: usize = 4_096;

#[derive(Debug, Default)]
pub(crate) struct Turns {
    locks: Mutex<HashMap<StreamId, Weak<TurnLock<()>>>>,
}

/// Held while a submission runs; the next one for the complaint goes when it drops.
pub(crate) type Turn = OwnedMutexGuard<()>;

impl Turns {
    pub(crate) async fn take(&self, stream: &StreamId) -> Turn {
        let lock = {
            // A poisoned map only means a panic elsewhere while it was held: the map
            // itself is still consistent (each operation is a single insert or retain).
            let mut locks = self
                .locks
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(lock) = locks.get(stream).and_then(Weak::upgrade) {
                lock
            } else {
                if locks.len() >= PRUNE_AT {
                    locks.retain(|_, lock| lock.strong_count() > 0);
                }
                let lock = Arc::new(TurnLock::new(()));
                locks.insert(stream.clone(), Arc::downgrade(&lock));
                lock
            }
        };
        lock.lock_owned().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_turn_per_complaint_and_none_between_complaints() {
        let turns = Turns::default();
        let a = StreamId::new("C-A").unwrap();
        let b = StreamId::new("C-B").unwrap();
        let held = turns.take(&a).await;
        // Another complaint goes at once.
        let _other = turns.take(&b).await;
        let waiting = tokio::time::timeout(std::time::Duration::from_millis(50), turns.take(&a));
        assert!(waiting.await.is_err(), "the same complaint waits its turn");
        drop(held);
        let _next = turns.take(&a).await;
    }

    #[tokio::test]
    async fn forgotten_when_nobody_holds_them() {
        let turns = Turns::default();
        for i in 0..PRUNE_AT + 10 {
            let _turn = turns.take(&StreamId::new(format!("C-{i}")).unwrap()).await;
        }
        assert!(turns.locks.lock().unwrap().len() <= PRUNE_AT + 1);
    }
}
