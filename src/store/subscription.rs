//! The live tail: every event from a position on, then new ones as they become durable.
//!
//! A subscription reads only from the store, in pages, and waits for the durable head to
//! move when it has caught up. There is no in-memory fan-out buffer to fall behind, so the
//! switch from history to live cannot skip or repeat an event, and a slow consumer costs
//! one bounded channel, never growing memory.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::{EventStore, RecordedEvent, StoreError};

/// Events per read while catching up.
const PAGE: usize = 512;
/// Events buffered between the reader task and a consumer.
const BUFFER: usize = 1024;

pub type Subscription = ReceiverStream<Result<RecordedEvent, StoreError>>;

/// Subscribes to the global log from position `from`. The stream ends when the consumer
/// drops it, or after an error (which it yields). Resuming after a disconnect is
/// `subscribe(store, last_seen + 1)`.
pub fn subscribe(store: Arc<dyn EventStore>, from: u64) -> Subscription {
    let (tx, rx) = mpsc::channel(BUFFER);
    tokio::spawn(async move {
        if let Err(err) = feed(store.as_ref(), from, &tx).await {
            let _ = tx.send(Err(err)).await;
        }
    });
    ReceiverStream::new(rx)
}

async fn feed(
    store: &dyn EventStore,
    mut next: u64,
    tx: &mpsc::Sender<Result<RecordedEvent, StoreError>>,
) -> Result<(), StoreError> {
    let mut head = store.watch_head();
    loop {
        let durable = *head.borrow_and_update();
        while next < durable {
            let page = store.read_all(next, PAGE).await?;
            let Some(last) = page.last() else { break };
            next = last.position + 1;
            for event in page {
                if tx.send(Ok(event)).await.is_err() {
                    return Ok(()); // the consumer went away
                }
            }
        }
        tokio::select! {
            changed = head.changed() => {
                if changed.is_err() {
                    return Ok(()); // the store closed
                }
            }
            () = tx.closed() => return Ok(()),
        }
    }
}
