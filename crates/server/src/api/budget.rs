//! What a response holds until it has been sent.
//!
//! A handler returns long before its response reaches the client: the encoded body waits
//! in HTTP/2's buffers for as long as the client takes to read it. Memory is bounded only
//! if what a response holds is released when its body ends, not when the handler
//! returns. A handler charges the encoded size of its answer to the server-wide byte
//! budget and puts the [`Lease`] in the response's extensions; the admission gate
//! (`server::gate`) moves it, with its own permit, into the response body, which drops
//! both at its end. A response that does not fit is refused at once, before it is built
//! into a buffer, with RESOURCE_EXHAUSTED.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::Response;

use super::status::ApiError;

/// The server's budget, in bytes, for encoded responses not yet sent.
#[derive(Debug, Clone)]
pub struct ResponseBudget {
    bytes: Arc<Semaphore>,
    total: usize,
}

/// A share of the budget, released when dropped.
#[derive(Debug, Clone)]
pub struct Lease(#[allow(dead_code)] Arc<OwnedSemaphorePermit>);

/// Marks a response that is a long-lived stream bounded by limits of its own (a live
/// subscription: `max_subscriptions` and a per-subscriber buffer); the gate then does not
/// count it as a request in flight for its whole life.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OwnLimits;

impl ResponseBudget {
    pub fn new(total: usize) -> Self {
        let total = total.min(Semaphore::MAX_PERMITS);
        Self {
            bytes: Arc::new(Semaphore::new(total)),
            total,
        }
    }

    /// `message` as a response holding its share of the budget.
    pub(crate) fn respond<T: prost::Message>(&self, message: T) -> Result<Response<T>, ApiError> {
        let lease = self.charge(message.encoded_len())?;
        let mut response = Response::new(message);
        response.extensions_mut().insert(lease);
        Ok(response)
    }

    /// A response larger than the whole budget may still go out, alone.
    pub fn charge(&self, bytes: usize) -> Result<Lease, ApiError> {
        self.bytes
            .clone()
            .try_acquire_many_owned(self.units(bytes))
            .map(|permit| Lease(Arc::new(permit)))
            .map_err(|_| self.exhausted())
    }

    /// A share for one message of a stream already admitted: waits for room instead of
    /// failing, so that a stream whose client reads slowly is held back, never buffered.
    pub async fn reserve(&self, bytes: usize) -> Result<Lease, ApiError> {
        self.bytes
            .clone()
            .acquire_many_owned(self.units(bytes))
            .await
            .map(|permit| Lease(Arc::new(permit)))
            .map_err(|_| self.exhausted())
    }

    fn units(&self, bytes: usize) -> u32 {
        u32::try_from(bytes.clamp(1, self.total)).unwrap_or(u32::MAX)
    }

    fn exhausted(&self) -> ApiError {
        ApiError::ResourceExhausted(format!(
            "the server is at its limit of {} bytes of responses in flight; retry with backoff",
            self.total
        ))
    }

    /// Bytes free now (for tests and metrics).
    pub fn available(&self) -> usize {
        self.bytes.available_permits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_holds_its_bytes_until_dropped_and_overflow_is_refused() {
        let budget = ResponseBudget::new(100);
        let first = budget.charge(60).expect("fits");
        assert_eq!(budget.available(), 40);
        let refused = budget.charge(50).expect_err("over the budget");
        assert!(matches!(refused, ApiError::ResourceExhausted(_)));
        let copy = first.clone();
        drop(first);
        assert_eq!(budget.available(), 40, "a clone still holds the share");
        drop(copy);
        assert_eq!(budget.available(), 100);
        let huge = budget
            .charge(10_000)
            .expect("alone, a huge response goes out");
        assert_eq!(budget.available(), 0);
        drop(huge);
    }

    #[tokio::test]
    async fn a_reservation_waits_for_room_instead_of_failing() {
        let budget = ResponseBudget::new(100);
        let held = budget.charge(80).expect("fits");
        let waiting = tokio::spawn({
            let budget = budget.clone();
            async move { budget.reserve(50).await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "no room yet");
        drop(held);
        let lease = waiting
            .await
            .unwrap()
            .expect("room once the first was sent");
        assert_eq!(budget.available(), 50);
        drop(lease);
    }
}
