//! The scheduler's lease: work that must run on one node at a time (firing timers) runs
//! only where the lease is held.
//!
//! A lease dies with its holder: the backend ties it to something that ends when the
//! holding process or its connection does (a PostgreSQL session's advisory lock), so no
//! one has to release it by hand and another node takes over once it is gone. A store
//! that only one process can open holds its lease for as long as it is open.
//!
//! Holding the lease is what keeps a firing from running twice *at once*; a firing that
//! does run twice (a holder that lost the lease mid-pass) is still stored once, because
//! its event ids are derived from the deadline.

use std::sync::{Arc, Mutex, Weak};

use tokio::sync::watch;

/// One node's claim on a lease. Dropping it gives the lease up.
pub trait Lease: Send + Sync {
    /// Whether this node holds the lease, as it changes: `true` from the moment it is
    /// acquired, `false` as soon as the node knows it is lost.
    fn holding(&self) -> watch::Receiver<bool>;
}

/// The lease of a store that one process alone opens: always held.
#[derive(Debug)]
pub struct SoleLease {
    held: watch::Sender<bool>,
}

impl SoleLease {
    #[must_use]
    pub fn new() -> Self {
        Self {
            held: watch::Sender::new(true),
        }
    }
}

impl Default for SoleLease {
    fn default() -> Self {
        Self::new()
    }
}

impl Lease for SoleLease {
    fn holding(&self) -> watch::Receiver<bool> {
        self.held.subscribe()
    }
}

/// A lease shared by the handles of one process, as the in-memory store's handles share
/// one log: the first claimant holds it, the others queue, and a dropped holder passes
/// it to the next claimant still alive.
#[derive(Debug, Clone, Default)]
pub(crate) struct SharedLease {
    claimants: Arc<Mutex<Vec<Weak<watch::Sender<bool>>>>>,
}

impl SharedLease {
    #[must_use]
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// A new claim: held at once if no one else holds the lease.
    #[must_use]
    pub(crate) fn claim(&self) -> SharedClaim {
        let held = Arc::new(watch::Sender::new(false));
        let mut claimants = lock(&self.claimants);
        claimants.push(Arc::downgrade(&held));
        hand_over(&mut claimants);
        drop(claimants);
        SharedClaim {
            held,
            claimants: self.claimants.clone(),
        }
    }
}

/// One handle's claim on a [`SharedLease`].
#[derive(Debug)]
pub(crate) struct SharedClaim {
    held: Arc<watch::Sender<bool>>,
    claimants: Arc<Mutex<Vec<Weak<watch::Sender<bool>>>>>,
}

impl Lease for SharedClaim {
    fn holding(&self) -> watch::Receiver<bool> {
        self.held.subscribe()
    }
}

impl Drop for SharedClaim {
    fn drop(&mut self) {
        let mut claimants = lock(&self.claimants);
        let me = Arc::downgrade(&self.held);
        claimants.retain(|claimant| !claimant.ptr_eq(&me));
        hand_over(&mut claimants);
    }
}

/// The claimants list, whatever a panicking holder left: it holds only weak handles, so
/// no state in it can be half-updated.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Gives the lease to the first claimant still alive, if it has no holder.
fn hand_over(claimants: &mut Vec<Weak<watch::Sender<bool>>>) {
    claimants.retain(|claimant| claimant.strong_count() > 0);
    if let Some(first) = claimants.first().and_then(Weak::upgrade) {
        first.send_replace(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_lease_has_one_holder_and_passes_on_when_it_is_dropped() {
        let lease = SharedLease::new();
        let a = lease.claim();
        let b = lease.claim();
        let c = lease.claim();
        assert!(*a.holding().borrow());
        assert!(!*b.holding().borrow());
        assert!(!*c.holding().borrow());
        let mut b_holding = b.holding();
        drop(a);
        assert!(b_holding.has_changed().unwrap());
        assert!(*b_holding.borrow_and_update());
        assert!(!*c.holding().borrow());
        drop(c);
        assert!(*b.holding().borrow());
        drop(b);
        assert!(*lease.claim().holding().borrow());
    }

    #[test]
    fn a_sole_lease_is_always_held() {
        assert!(*SoleLease::new().holding().borrow());
    }
}
