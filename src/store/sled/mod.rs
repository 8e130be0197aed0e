//! The embedded backend: one sled database in a data directory, written by one
//! group-commit thread ([`writer`]), read directly by any task.
//!
//! Readers see sled's in-memory state, which can run ahead of the disk while a group is
//! being flushed, so every read is cut at the durable head the writer publishes: nobody
//! ever sees an event that could still be lost.

mod durability;
mod keys;
mod seen;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use async_trait::async_trait;
use jiff::Timestamp;
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{info, warn};

use self::keys::{decode_position, event_key, position_of_event_key, stream_key, stream_prefix};
use self::writer::{AppendRequest, LogTail, Writer};
use super::codec;
use super::{
    AppendOutcome, Direction, EventSlot, EventStore, ExpectedVersion, Hash, MAX_PAGE, NewEvent,
    RecordedEvent, StoreError, StoreLimits, StreamId,
};
use crate::clock::{SharedClock, SystemClock};

/// The layout of the data directory this build writes. Bump it when the key space or the
/// meaning of a key changes; opening a directory with a newer number is refused.
pub const STORE_FORMAT: u32 = 1;
const META_TREE: &str = "meta";
const LOG_TREE: &str = "log";
const FORMAT_KEY: &str = "store_format";

impl From<sled::Error> for StoreError {
    fn from(err: sled::Error) -> Self {
        Self::Backend(err.to_string())
    }
}

/// How to open a [`SledStore`].
#[derive(Debug, Clone)]
pub struct SledOptions {
    pub limits: StoreLimits,
    pub clock: SharedClock,
    /// sled's page cache, in bytes.
    pub cache_capacity: u64,
    /// Appends waiting for the writer before callers wait for room.
    pub queue_depth: usize,
    /// Events in one group commit at most.
    pub max_group_events: usize,
}

impl Default for SledOptions {
    fn default() -> Self {
        Self {
            limits: StoreLimits::default(),
            clock: Arc::new(SystemClock),
            cache_capacity: 512 * 1024 * 1024,
            queue_depth: 8192,
            max_group_events: 8192,
        }
    }
}

pub struct SledStore {
    path: PathBuf,
    log: sled::Tree,
    db: sled::Db,
    durable: watch::Receiver<u64>,
    queue: Mutex<Option<mpsc::Sender<AppendRequest>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    limits: StoreLimits,
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SledStore {
    /// Opens (or creates) the log in `path`.
    pub fn open(path: impl AsRef<Path>, options: SledOptions) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        std::fs::create_dir_all(&path).map_err(|e| {
            StoreError::Backend(format!(
                "cannot create data directory {}: {e}",
                path.display()
            ))
        })?;
        let db = sled::Config::new()
            .path(&path)
            .cache_capacity(options.cache_capacity)
            .mode(sled::Mode::HighThroughput)
            .open()
            .map_err(|err| open_error(&path, err))?;
        check_format(&db, &path)?;
        let log = db.open_tree(LOG_TREE)?;

        let (tail, failure) = match read_tail(&log) {
            Ok(tail) => (tail, None),
            Err(err) => {
                warn!(error = %err, "the end of the log is unreadable; appends are refused until it is repaired");
                let tail = LogTail {
                    next_position: last_event_key_position(&log)?.map_or(0, |p| p + 1),
                    last_hash: Hash::GENESIS,
                    last_recorded_at: Timestamp::UNIX_EPOCH,
                };
                (
                    tail,
                    Some(format!("the end of the log is unreadable: {err}")),
                )
            }
        };
        info!(path = %path.display(), events = tail.next_position, "event log opened");

        let (durable_tx, durable) = watch::channel(tail.next_position);
        let (queue_tx, queue_rx) = mpsc::channel(options.queue_depth);
        let seen_ids = seen::Seen::new(known_keys(&log, keys::ID_PREFIX)?.into_iter());
        let seen_streams = seen::Seen::new(known_keys(&log, keys::HEAD_PREFIX)?.into_iter());
        let disk = durability::DiskSync::open(&path)
            .map_err(|e| StoreError::Backend(format!("cannot sync {}: {e}", path.display())))?;
        let writer = Writer {
            db: db.clone(),
            disk,
            seen_ids,
            seen_streams,
            heads: Default::default(),
            log: log.clone(),
            clock: options.clock,
            durable: durable_tx,
            tail,
            max_group_events: options.max_group_events,
            failure,
        };
        let handle = std::thread::Builder::new()
            .name("complaintflow-writer".into())
            .spawn(move || writer.run(queue_rx))
            .map_err(|e| StoreError::Backend(format!("cannot start the writer thread: {e}")))?;

        Ok(Self {
            path,
            log,
            db,
            durable,
            queue: Mutex::new(Some(queue_tx)),
            writer: Mutex::new(Some(handle)),
            limits: options.limits,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stops taking appends, lets every queued append finish, and flushes. Appends that
    /// arrive afterwards are refused with `Unavailable`.
    pub async fn close(&self) -> Result<(), StoreError> {
        let queue = self.queue.lock().map_err(|_| poisoned())?.take();
        drop(queue);
        let handle = self.writer.lock().map_err(|_| poisoned())?.take();
        if let Some(handle) = handle {
            tokio::task::spawn_blocking(move || handle.join())
                .await
                .map_err(|e| StoreError::Backend(e.to_string()))?
                .map_err(|_| StoreError::Backend("the writer thread panicked".into()))?;
        }
        self.db.flush_async().await?;
        Ok(())
    }

    fn sender(&self) -> Result<mpsc::Sender<AppendRequest>, StoreError> {
        self.queue
            .lock()
            .map_err(|_| poisoned())?
            .clone()
            .ok_or_else(|| StoreError::Unavailable("the store is closing".into()))
    }

    fn decode_record(key: &[u8], value: &[u8]) -> Result<RecordedEvent, StoreError> {
        codec::decode(value).map_err(|err| StoreError::Corrupt {
            location: match position_of_event_key(key) {
                Ok(position) => format!("position {position}"),
                Err(_) => format!("key {}", hex::encode(key)),
            },
            reason: err.to_string(),
        })
    }

    fn event_at(&self, position: u64) -> Result<RecordedEvent, StoreError> {
        let key = event_key(position);
        let value = self.log.get(key)?.ok_or_else(|| StoreError::Corrupt {
            location: format!("position {position}"),
            reason: "indexed event is missing".into(),
        })?;
        Self::decode_record(&key, &value)
    }

    /// The (version, position) index entries of a stream, cut at the durable head.
    fn stream_entries(
        &self,
        stream: &StreamId,
        from: u64,
        direction: Direction,
    ) -> impl Iterator<Item = Result<(u64, u64), StoreError>> + '_ {
        let prefix = stream_prefix(stream);
        let durable = *self.durable.borrow();
        let iter: Box<dyn DoubleEndedIterator<Item = sled::Result<(sled::IVec, sled::IVec)>>> =
            match direction {
                Direction::Forwards => Box::new(self.log.range(stream_key(stream, from)..)),
                Direction::Backwards => Box::new(
                    self.log
                        .range(prefix.clone()..=stream_key(stream, from))
                        .rev(),
                ),
            };
        iter.take_while(move |item| match item {
            Ok((key, _)) => key.starts_with(&prefix),
            Err(_) => true,
        })
        .map(|item| -> Result<(u64, u64), StoreError> {
            let (key, value) = item?;
            let version = decode_position(&key[key.len() - 8..])?;
            Ok((version, decode_position(&value)?))
        })
        .filter(move |item| !matches!(item, Ok((_, position)) if *position >= durable))
    }
}

#[async_trait]
impl EventStore for SledStore {
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, StoreError> {
        let events = self.limits.prepare(stream, events)?;
        let (reply, answer) = oneshot::channel();
        let request = AppendRequest {
            stream: stream.clone(),
            expected,
            events,
            reply,
        };
        self.sender()?
            .send(request)
            .await
            .map_err(|_| StoreError::Unavailable("the writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the writer stopped before answering".into()))?
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        from: u64,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.stream_entries(stream, from, direction)
            .take(limit.min(MAX_PAGE))
            .map(|entry| self.event_at(entry?.1))
            .collect()
    }

    async fn read_all(&self, from: u64, limit: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        let durable = *self.durable.borrow();
        if from >= durable {
            return Ok(Vec::new());
        }
        // A page of the global log is thousands of records: read it off the async
        // workers so that it never stalls other requests.
        let log = self.log.clone();
        tokio::task::spawn_blocking(move || {
            read_log_range(&log, from, durable, limit.min(MAX_PAGE))
        })
        .await
        .map_err(|e| StoreError::Backend(format!("log reader failed: {e}")))?
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<Option<u64>, StoreError> {
        self.stream_entries(stream, u64::MAX, Direction::Backwards)
            .next()
            .transpose()
            .map(|entry| entry.map(|(version, _)| version))
    }

    async fn find_event(&self, event_id: &uuid::Uuid) -> Result<Option<EventSlot>, StoreError> {
        let durable = *self.durable.borrow();
        let Some(bytes) = self.log.get(keys::id_key(event_id))? else {
            return Ok(None);
        };
        let entry = keys::IdEntry::decode(&bytes)?;
        Ok((entry.position < durable).then_some(EventSlot {
            event_id: *event_id,
            version: entry.version,
            position: entry.position,
        }))
    }

    fn watch_head(&self) -> watch::Receiver<u64> {
        self.durable.clone()
    }

    fn limits(&self) -> StoreLimits {
        self.limits
    }
}

/// Events at positions `from..durable`, at most `limit`.
fn read_log_range(
    log: &sled::Tree,
    from: u64,
    durable: u64,
    limit: usize,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let mut events = Vec::with_capacity(limit.min((durable - from) as usize));
    for item in log.range(event_key(from)..event_key(durable)).take(limit) {
        let (key, value) = item?;
        events.push(SledStore::decode_record(&key, &value)?);
    }
    Ok(events)
}

fn poisoned() -> StoreError {
    StoreError::Backend("a lock was poisoned by a panic".into())
}

/// sled reports a directory held by another process as an I/O error about its lock file.
fn open_error(path: &Path, err: sled::Error) -> StoreError {
    let text = err.to_string();
    if text.contains("lock")
        || text.contains("WouldBlock")
        || text.contains("temporarily unavailable")
    {
        StoreError::DataDirLocked {
            path: path.to_path_buf(),
        }
    } else {
        StoreError::Backend(format!("cannot open {}: {text}", path.display()))
    }
}

fn check_format(db: &sled::Db, path: &Path) -> Result<(), StoreError> {
    let meta = db.open_tree(META_TREE)?;
    match meta.get(FORMAT_KEY)? {
        Some(bytes) => {
            let found = bytes
                .as_ref()
                .try_into()
                .map(u32::from_be_bytes)
                .map_err(|_| StoreError::Corrupt {
                    location: format!("{}/meta/{FORMAT_KEY}", path.display()),
                    reason: "not a format number".into(),
                })?;
            if found > STORE_FORMAT {
                return Err(StoreError::NewerFormat {
                    path: path.to_path_buf(),
                    found,
                    supported: STORE_FORMAT,
                });
            }
        }
        None => {
            meta.insert(FORMAT_KEY, &STORE_FORMAT.to_be_bytes())?;
            db.flush()?;
        }
    }
    Ok(())
}

/// What follows `prefix` in every key under it (the event ids of the id index, the
/// stream names of the stream heads), read at start-up.
fn known_keys(log: &sled::Tree, prefix: [u8; 1]) -> Result<Vec<Vec<u8>>, StoreError> {
    log.scan_prefix(prefix)
        .keys()
        .map(|key| Ok(key?[prefix.len()..].to_vec()))
        .collect()
}

fn last_event_key_position(log: &sled::Tree) -> Result<Option<u64>, StoreError> {
    match log.scan_prefix(keys::EVENT_PREFIX).next_back() {
        Some(item) => Ok(Some(position_of_event_key(&item?.0)?)),
        None => Ok(None),
    }
}

fn read_tail(log: &sled::Tree) -> Result<LogTail, StoreError> {
    let Some(item) = log.scan_prefix(keys::EVENT_PREFIX).next_back() else {
        return Ok(LogTail {
            next_position: 0,
            last_hash: Hash::GENESIS,
            last_recorded_at: Timestamp::UNIX_EPOCH,
        });
    };
    let (key, value) = item?;
    let last = SledStore::decode_record(&key, &value)?;
    Ok(LogTail {
        next_position: position_of_event_key(&key)? + 1,
        last_hash: last.hash,
        last_recorded_at: last.recorded_at,
    })
}

/// Direct access to the raw tree, for tests that tamper with records.
#[doc(hidden)]
pub mod tamper {
    use super::*;

    pub fn raw_tree(store: &SledStore) -> &sled::Tree {
        &store.log
    }

    pub fn event_key(position: u64) -> [u8; 9] {
        keys::event_key(position)
    }
}
