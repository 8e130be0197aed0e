//! The event log: one append-only stream per complaint, one gapless global order,
//! idempotent appends, hash chains and a live tail.
//!
//! Callers hold an `Arc<dyn EventStore>`; the `complaintflow-store-sled` crate is the
//! embedded backend, `complaintflow-store-postgres` the one several nodes share.
//! Verification ([`verify`]), subscriptions ([`subscription`]), the replay-or-conflict
//! judgement of a retried append ([`replay`]) and archives ([`archive`]) are written once
//! against the trait, so every backend gets them.

pub mod append_metrics;
pub mod archive;
pub mod chain;
pub mod chunk;
pub mod clock;
pub mod codec;
mod error;
pub mod group_commit;
pub mod hash;
pub mod lease;
mod limits;
mod loss;
pub mod memory;
mod page;
pub mod parallel;
pub mod replay;
pub mod subscription;
mod types;
pub mod verify;

use async_trait::async_trait;
use tokio::sync::watch;

pub use error::{BackendError, InvalidInput, StoreError, WriterFailure};
pub use hash::Hash;
pub use lease::Lease;
pub use limits::{PreparedEvent, StoreLimits};
pub use loss::LogLoss;
pub use page::{EncodedPage, PageRecord, StoredValue};
pub use types::{
    AppendOutcome, Digest, Direction, EventSlot, ExpectedVersion, NewEvent, RecordedEvent, StreamId,
};

/// The largest page any read returns, whatever the caller asks for.
pub const MAX_PAGE: usize = 10_000;

/// Reading the log: all an auditor's tools need (verifying, digests, exports, backups),
/// from a store or from a running server's.
#[async_trait]
pub trait LogReader: Send + Sync + 'static {
    /// Up to `limit` events of one stream, starting at version `from` (inclusive) and
    /// going in `direction`. Backwards from `u64::MAX` reads from the end.
    async fn read_stream(
        &self,
        stream: &StreamId,
        from: u64,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError>;

    /// Up to `limit` events of the global log from position `from` (inclusive).
    async fn read_all(&self, from: u64, limit: usize) -> Result<Vec<RecordedEvent>, StoreError>;

    /// The same events as `read_all`, as stored: for a reader that goes through the
    /// whole log and decodes only what it uses. A store that keeps records in another
    /// form encodes them.
    async fn read_all_encoded(&self, from: u64, limit: usize) -> Result<EncodedPage, StoreError> {
        Ok(EncodedPage::encode(&self.read_all(from, limit).await?))
    }

    /// The version of the last durable event of `stream`, if it has any.
    async fn stream_version(&self, stream: &StreamId) -> Result<Option<u64>, StoreError>;

    /// What the backend found missing from its log when it opened, by its own durable
    /// record of what was acknowledged. A store with a loss refuses appends.
    fn known_loss(&self) -> Option<LogLoss> {
        None
    }

    /// How many events are durable: the position the next event will get.
    fn head(&self) -> u64 {
        *self.watch_head().borrow()
    }

    /// Follows [`LogReader::head`]: changes after every durable commit.
    fn watch_head(&self) -> watch::Receiver<u64>;
}

/// The log a node appends to: reading it, and appending, checked and durable.
#[async_trait]
pub trait EventStore: LogReader {
    /// Appends `events` to `stream` atomically, after checking `expected`. Returns once
    /// the events are durable. A retry of an append already stored (same event ids, same
    /// content) returns the original slots with `replayed = true` and writes nothing.
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, StoreError>;

    /// Where a durable event with this id landed in `stream`, if it is stored there. Lets
    /// a caller tell a retry of a stored append from a new one before it checks anything
    /// else. An event id is a retry key within its stream: other streams may use it too.
    async fn find_event(
        &self,
        stream: &StreamId,
        event_id: &uuid::Uuid,
    ) -> Result<Option<EventSlot>, StoreError>;

    /// Whether appends can be taken now: an error says why not (the writer stopped after
    /// a failure, the log lost events). For readiness probes; an append reports the same
    /// error on its own.
    fn writable(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// The limits this store enforces.
    fn limits(&self) -> StoreLimits;

    /// A claim on the scheduler's lease, for this node: timers fire only where it is
    /// held. Each backend decides how a lease dies with its holder (see [`lease`]).
    fn scheduler_lease(&self) -> Box<dyn Lease>;
}
