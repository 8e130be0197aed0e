//! The live tail: every event from a position on, then new ones as they become durable.
//!
//! A subscription reads only from the store, in pages, and waits for the durable head to
//! move when it has caught up. There is no in-memory fan-out buffer to fall behind, so the
//! switch from history to live cannot skip or repeat an event, and a slow consumer costs
//! one bounded buffer, never growing memory.

use std::collections::VecDeque;
use std::sync::Arc;

use futures::{Stream, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;

use super::{LogReader, RecordedEvent, StoreError};

/// Events per read while catching up.
const PAGE: usize = 512;
/// Events buffered between the reader task and a consumer.
const BUFFER: usize = 1024;

pub type Subscription = ReceiverStream<Result<RecordedEvent, StoreError>>;

/// Subscribes to the global log from position `from`, read ahead by a task of its own
/// into a buffer of `BUFFER` events. The stream ends when the consumer drops it, or
/// after an error (which it yields). Resuming after a disconnect is
/// `subscribe(store, last_seen + 1)`.
pub fn subscribe(store: Arc<dyn LogReader>, from: u64) -> Subscription {
    let (tx, rx) = mpsc::channel(BUFFER);
    tokio::spawn(async move {
        let mut tail = std::pin::pin!(tail(store, from, PAGE));
        loop {
            let item = tokio::select! {
                item = tail.next() => item,
                () = tx.closed() => return,
            };
            let Some(item) = item else { return };
            if tx.send(item).await.is_err() {
                return; // the consumer went away
            }
        }
    });
    ReceiverStream::new(rx)
}

/// The same events as [`subscribe`], read only as the consumer asks for them: nothing
/// is held beyond one page of at most `page` events. The stream ends when the store
/// closes, or after an error (which it yields).
pub fn tail(
    store: Arc<dyn LogReader>,
    from: u64,
    page: usize,
) -> impl Stream<Item = Result<RecordedEvent, StoreError>> + Send {
    let head = store.watch_head();
    let state = Tail {
        store,
        head,
        next: from,
        page: page.max(1),
        read: VecDeque::new(),
        failed: false,
    };
    futures::stream::unfold(state, |mut tail| async move {
        let item = tail.next().await?;
        Some((item, tail))
    })
}

struct Tail {
    store: Arc<dyn LogReader>,
    head: watch::Receiver<u64>,
    next: u64,
    page: usize,
    read: VecDeque<RecordedEvent>,
    failed: bool,
}

impl Tail {
    async fn next(&mut self) -> Option<Result<RecordedEvent, StoreError>> {
        loop {
            if self.failed {
                return None;
            }
            if let Some(event) = self.read.pop_front() {
                return Some(Ok(event));
            }
            let durable = *self.head.borrow_and_update();
            if self.next < durable {
                match self.store.read_all(self.next, self.page).await {
                    Ok(page) => {
                        if let Some(last) = page.last() {
                            self.next = last.position + 1;
                            self.read.extend(page);
                            continue;
                        }
                    }
                    Err(err) => {
                        self.failed = true;
                        return Some(Err(err));
                    }
                }
            }
            if self.head.changed().await.is_err() {
                return None; // the store closed
            }
        }
    }
}
