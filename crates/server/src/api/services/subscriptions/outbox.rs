//! A subscriber's buffer, bounded in bytes, between the task that reads the log for it
//! and the gRPC response stream.
//!
//! HTTP/2 flow control already stops the response stream from being read when the client
//! stops reading, so everything a slow subscriber costs is this buffer (plus one stream
//! window in h2). When the buffer stays full for the stall timeout the subscriber is cut
//! off: its buffer is dropped at once and its subscription slot freed, and the stream ends
//! with a status telling where to resume, which the client sees if it reads again.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures::Stream;
use prost::Message as _;
use tokio::sync::{Notify, OwnedSemaphorePermit};
use tonic::Status;

use crate::api::proto::{self, subscribe_response::Message};
use crate::api::status::ApiError;

/// Why a subscription ends before its client left.
pub(super) enum Ending {
    /// The buffer stayed full for this long.
    Stalled(Duration),
    ShuttingDown,
    /// An error, delivered after the messages already buffered.
    Failed(Status),
}

#[derive(Debug, PartialEq, Eq)]
pub(super) enum SendError {
    /// The client went away, or the subscription was ended.
    Closed,
    /// The buffer stayed full for the whole stall timeout.
    Stalled,
}

struct State {
    queue: VecDeque<(proto::SubscribeResponse, usize)>,
    bytes: usize,
    ending: Option<Ending>,
    /// `end` was called: nothing more is accepted.
    ended: bool,
    /// Nothing more will be sent: the stream ends once the queue is empty.
    sender_gone: bool,
    receiver_gone: bool,
    /// The last poll of the response stream that found nothing.
    receiver: Option<Waker>,
    /// Where the client resumes to miss nothing: after the last message it took.
    resume_position: u64,
    /// The subscription's slot among `max_subscriptions`.
    slot: Option<OwnedSemaphorePermit>,
}

struct Shared {
    state: Mutex<State>,
    /// Signalled when the receiver takes a message or goes away.
    space: Notify,
    capacity: usize,
}

impl Shared {
    // A panic while holding the lock leaves a state that is still consistent (every
    // change is a single assignment or push), so a poisoned lock is used as is.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

pub(super) struct Outbox(Arc<Shared>);

pub(super) struct Inbox(Arc<Shared>);

/// A buffer of `capacity` bytes for a subscription starting at `start`, holding `slot`
/// while it lives.
pub(super) fn channel(capacity: usize, start: u64, slot: OwnedSemaphorePermit) -> (Outbox, Inbox) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            queue: VecDeque::new(),
            bytes: 0,
            ending: None,
            ended: false,
            sender_gone: false,
            receiver_gone: false,
            receiver: None,
            resume_position: start,
            slot: Some(slot),
        }),
        space: Notify::new(),
        capacity,
    });
    (Outbox(shared.clone()), Inbox(shared))
}

fn wake(state: &mut State) {
    if let Some(waker) = state.receiver.take() {
        waker.wake();
    }
}

impl Outbox {
    /// Queues `message`, waiting for room; a message larger than the whole buffer goes
    /// alone. Waiting longer than `stall` without any room made is [`SendError::Stalled`].
    pub(super) async fn send(
        &self,
        message: proto::SubscribeResponse,
        stall: Duration,
    ) -> Result<(), SendError> {
        let size = message.encoded_len();
        let mut message = Some(message);
        loop {
            let notified = self.0.space.notified();
            tokio::pin!(notified);
            // Registered before the check, so a message taken in between still wakes us.
            notified.as_mut().enable();
            {
                let mut state = self.0.lock();
                if state.receiver_gone || state.ended {
                    return Err(SendError::Closed);
                }
                if state.bytes == 0 || state.bytes + size <= self.0.capacity {
                    if let Some(message) = message.take() {
                        state.queue.push_back((message, size));
                        state.bytes += size;
                    }
                    wake(&mut state);
                    return Ok(());
                }
            }
            if tokio::time::timeout(stall, notified).await.is_err() {
                return Err(SendError::Stalled);
            }
        }
    }

    /// Resolves when the client has gone away.
    pub(super) async fn closed(&self) {
        loop {
            let notified = self.0.space.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.0.lock().receiver_gone {
                return;
            }
            notified.await;
        }
    }

    /// Ends the subscription. A stalled or shut-down subscriber's buffer is dropped at
    /// once, so that the status is the next thing its stream yields and the memory and
    /// slot are free even if it never reads again.
    pub(super) fn end(&self, ending: Ending) {
        let mut state = self.0.lock();
        if !matches!(ending, Ending::Failed(_)) {
            state.queue.clear();
            state.bytes = 0;
            state.slot = None;
        }
        state.ending = Some(ending);
        state.ended = true;
        wake(&mut state);
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.sender_gone = true;
        state.slot = None;
        wake(&mut state);
    }
}

impl Stream for Inbox {
    type Item = Result<proto::SubscribeResponse, Status>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut state = self.0.lock();
        if let Some((message, size)) = state.queue.pop_front() {
            state.bytes -= size;
            match &message.message {
                Some(Message::Event(event)) => state.resume_position = event.position + 1,
                Some(Message::Checkpoint(checkpoint)) => {
                    state.resume_position = checkpoint.next_position;
                }
                None => {}
            }
            drop(state);
            self.0.space.notify_one();
            return Poll::Ready(Some(Ok(message)));
        }
        if let Some(ending) = state.ending.take() {
            state.sender_gone = true;
            let resume_position = state.resume_position;
            let status = match ending {
                Ending::Stalled(waited) => ApiError::SubscriberTooSlow {
                    resume_position,
                    waited,
                }
                .into(),
                Ending::ShuttingDown => ApiError::ShuttingDown { resume_position }.into(),
                Ending::Failed(status) => status,
            };
            return Poll::Ready(Some(Err(status)));
        }
        if state.sender_gone {
            return Poll::Ready(None);
        }
        state.receiver = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for Inbox {
    fn drop(&mut self) {
        {
            let mut state = self.0.lock();
            state.receiver_gone = true;
            state.queue.clear();
            state.bytes = 0;
            state.slot = None;
        }
        self.0.space.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use futures::StreamExt;
    use tokio::sync::Semaphore;
    use tonic::Code;
    use tonic_types::StatusExt;

    use super::*;

    fn checkpoint(next_position: u64) -> proto::SubscribeResponse {
        proto::SubscribeResponse {
            message: Some(Message::Checkpoint(proto::Checkpoint { next_position })),
        }
    }

    fn slots() -> (Arc<Semaphore>, OwnedSemaphorePermit) {
        let slots = Arc::new(Semaphore::new(1));
        let slot = slots.clone().try_acquire_owned().expect("a free slot");
        (slots, slot)
    }

    #[tokio::test(start_paused = true)]
    async fn a_subscriber_that_stops_reading_is_cut_off_with_where_to_resume() {
        let size = checkpoint(1).encoded_len();
        let (slots, slot) = slots();
        let (outbox, mut inbox) = channel(3 * size, 10, slot);
        let stall = Duration::from_secs(30);
        for position in 1..=3 {
            outbox
                .send(checkpoint(position), stall)
                .await
                .expect("room");
        }
        let taken = inbox
            .next()
            .await
            .expect("a message")
            .expect("not an error");
        assert_eq!(taken, checkpoint(1));
        outbox.send(checkpoint(4), stall).await.expect("room made");
        // Full, and nobody reads: the clock (paused) runs to the stall timeout.
        assert_eq!(
            outbox.send(checkpoint(5), stall).await,
            Err(SendError::Stalled)
        );
        outbox.end(Ending::Stalled(stall));
        assert_eq!(slots.available_permits(), 1, "the slot is free at once");
        let status = inbox
            .next()
            .await
            .expect("the ending")
            .expect_err("a status");
        assert_eq!(status.code(), Code::ResourceExhausted);
        let info = status.get_details_error_info().expect("error info");
        assert_eq!(info.metadata["resume_position"], "1");
        assert!(inbox.next().await.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn the_buffer_holds_at_most_its_bytes_and_a_reader_makes_room() {
        let size = checkpoint(1).encoded_len();
        let (_slots, slot) = slots();
        let (outbox, mut inbox) = channel(2 * size, 0, slot);
        let stall = Duration::from_secs(30);
        let reader = tokio::spawn(async move {
            let mut seen = Vec::new();
            while let Some(item) = inbox.next().await {
                seen.push(item.expect("no error"));
                tokio::time::sleep(Duration::from_secs(20)).await;
            }
            seen
        });
        for position in 1..=6 {
            outbox
                .send(checkpoint(position), stall)
                .await
                .expect("a slow reader that reads is never cut off");
            assert!(outbox.0.lock().bytes <= 2 * size);
        }
        drop(outbox);
        let seen = reader.await.expect("reader");
        assert_eq!(seen, (1..=6).map(checkpoint).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn shutting_down_drops_the_buffer_and_answers_unavailable() {
        let (_slots, slot) = slots();
        let (outbox, mut inbox) = channel(1 << 20, 7, slot);
        outbox
            .send(checkpoint(8), Duration::from_secs(1))
            .await
            .expect("room");
        outbox.end(Ending::ShuttingDown);
        let status = inbox
            .next()
            .await
            .expect("the ending")
            .expect_err("a status");
        assert_eq!(status.code(), Code::Unavailable);
        assert_eq!(
            status.get_details_error_info().expect("info").metadata["resume_position"],
            "7"
        );
        assert_eq!(
            outbox.send(checkpoint(9), Duration::from_secs(1)).await,
            Err(SendError::Closed)
        );
    }
}
