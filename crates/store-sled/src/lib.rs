//! The embedded backend: one sled database in a data directory, written by one
//! group-commit thread (`writer`), read directly by any task.
//!
//! Readers see sled's in-memory state, which can run ahead of the disk while a group is
//! being flushed, so every read is cut at the durable head the writer publishes: nobody
//! ever sees an event that could still be lost.

mod acknowledged;
mod backfill;
mod durability;
mod guard;
mod id_filter;
mod keys;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use async_trait::async_trait;
use jiff::Timestamp;
use tokio::sync::{mpsc, watch};
use tracing::{error, info, warn};

use self::acknowledged::{Acknowledged, AcknowledgedFile};
use self::guard::guarded;
use self::keys::{StreamEntry, event_key, position_of_event_key, stream_key, stream_prefix};
use self::writer::{AppendRequest, LogTail, Writer};
use complaintflow_log::clock::{SharedClock, SystemClock};
use complaintflow_log::parallel;
use complaintflow_log::{
    AppendOutcome, Direction, EncodedPage, EventSlot, EventStore, ExpectedVersion, Hash, LogLoss,
    LogReader, MAX_PAGE, NewEvent, PageRecord, RecordedEvent, StoreError, StoreLimits, StoredValue,
    StreamId, WriterFailure,
};
use complaintflow_log::{chunk, codec};
use rayon::iter::{IntoParallelIterator, ParallelIterator};

/// The layout of the data directory this build writes. Bump it when the key space or the
/// meaning of a key changes; opening a directory with a newer number is refused, and an
/// older one is read as it is and marked with this number (see `keys`).
const STORE_FORMAT: u32 = 3;
const META_TREE: &str = "meta";
const LOG_TREE: &str = "log";
const FORMAT_KEY: &str = "store_format";
/// Set once the directory has its record of how far the log reached: from then on a
/// missing record is a loss, not a directory written before records were kept.
const ACKNOWLEDGED_KEY: &str = "acknowledged_record";
/// Where an operator's acceptance of a lost log tail is recorded, one JSON line each.
pub const OVERRIDES_FILE: &str = "overrides.log";

/// What a sled error means to the log's callers: damage is located, the rest is the
/// backend's failure.
pub(crate) fn sled_error(err: sled::Error) -> StoreError {
    match err {
        sled::Error::Corruption { at, .. } => StoreError::Corrupt {
            location: match at {
                Some(at) => format!("the event log's file (sled's log) at {at:?}"),
                None => "the event log's file (sled's log)".into(),
            },
            reason: "the storage engine found damaged data".into(),
        },
        other => StoreError::backend_from("the storage engine", other),
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
    /// Create the directory when it does not exist; otherwise opening a path that holds
    /// no log is refused (for commands that only read).
    pub create: bool,
    /// Open a log that lost acknowledged events and carry on from what it holds: the
    /// operator's explicit override, recorded in [`OVERRIDES_FILE`].
    pub accept_log_loss: bool,
}

impl Default for SledOptions {
    fn default() -> Self {
        Self {
            limits: StoreLimits::default(),
            clock: Arc::new(SystemClock),
            cache_capacity: 512 * 1024 * 1024,
            queue_depth: 8192,
            max_group_events: 8192,
            create: true,
            accept_log_loss: false,
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
    /// The writer's filter of stored event ids: most lookups of a new id end here.
    id_filter: Arc<id_filter::IdFilter>,
    /// Fills `id_filter` with the ids stored before opening, once appends begin.
    backfill: backfill::Backfill,
    /// What the log lost, by the acknowledged record; appends are refused while set.
    loss: Option<LogLoss>,
    /// Why the writer stopped taking appends, if it did.
    failure: Arc<writer::Failure>,
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
        if options.create {
            std::fs::create_dir_all(&path).map_err(|e| {
                StoreError::backend_from(
                    format!("cannot create data directory {}", path.display()),
                    e,
                )
            })?;
        } else if !path.join("db").is_file() {
            return Err(StoreError::NotADataDir { path });
        }
        let db_file = || format!("{}", path.join("db").display());
        let db = guarded(db_file, || open_db(&path, options.cache_capacity))?;
        let log = guarded(db_file, || {
            check_format(&db, &path)?;
            db.open_tree(LOG_TREE).map_err(sled_error)
        })?;

        let (tail, failure) = match guarded(db_file, || read_tail(&log)) {
            Ok(tail) => (tail, None),
            Err(err) => {
                warn!(error = %err, "the end of the log is unreadable; appends are refused until it is repaired");
                let tail = LogTail {
                    next_position: guarded(db_file, || position_after_last_key(&log))?.unwrap_or(0),
                    last_hash: Hash::GENESIS,
                    last_recorded_at: Timestamp::UNIX_EPOCH,
                };
                (tail, Some(WriterFailure::TailUnreadable(Box::new(err))))
            }
        };
        let mut loss = guarded(db_file, || {
            find_loss(&path, &db, &log, &tail, failure.is_none())
        })?;
        if let Some(found) = loss.take_if(|_| options.accept_log_loss) {
            accept_loss(&path, &db, &found, &tail, options.clock.now())?;
        }
        let failure = failure.or_else(|| loss.clone().map(WriterFailure::LogLoss));
        if let Some(loss) = &loss {
            error!(path = %path.display(), %loss, "the event log lost acknowledged events; appends are refused");
        }
        info!(path = %path.display(), events = tail.next_position, "event log opened");

        let (durable_tx, durable) = watch::channel(tail.next_position);
        let (queue_tx, queue_rx) = mpsc::channel(options.queue_depth);
        let id_filter = Arc::new(id_filter::IdFilter::new(tail.next_position as usize));
        let backfill = backfill::Backfill::new(log.clone(), id_filter.clone());
        // Fail here, with a clear message, rather than in the writer's flushers.
        durability::DiskSync::open(&path)
            .map_err(|e| StoreError::backend_from(format!("cannot sync {}", path.display()), e))?;
        let failure_cell = Arc::new(writer::Failure::default());
        if let Some(failure) = failure {
            failure_cell.set(failure);
        }
        let writer = Writer {
            db: db.clone(),
            id_filter: id_filter.clone(),
            heads: Default::default(),
            log: log.clone(),
            clock: options.clock,
            durable: durable_tx,
            tail,
            max_group_events: options.max_group_events,
            failure: failure_cell.clone(),
            data_dir: path.clone(),
            min_free_disk_bytes: options.limits.min_free_disk_bytes,
        };
        let handle = std::thread::Builder::new()
            .name("complaintflow-writer".into())
            .spawn({
                let path = path.clone();
                move || writer.run(path, queue_rx)
            })
            .map_err(|e| StoreError::backend_from("cannot start the writer thread", e))?;

        Ok(Self {
            path,
            log,
            db,
            durable,
            queue: Mutex::new(Some(queue_tx)),
            writer: Mutex::new(Some(handle)),
            limits: options.limits,
            id_filter,
            backfill,
            loss,
            failure: failure_cell,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the id filter holds every id stored before opening (see `backfill`).
    #[doc(hidden)]
    pub fn id_filter_complete(&self) -> bool {
        self.id_filter.is_complete()
    }

    /// Stops taking appends, lets every queued append finish, and flushes. Appends that
    /// arrive afterwards are refused with `Unavailable`.
    pub async fn close(&self) -> Result<(), StoreError> {
        self.backfill.stop();
        let queue = self.queue.lock().map_err(|_| poisoned())?.take();
        drop(queue);
        let handle = self.writer.lock().map_err(|_| poisoned())?.take();
        if let Some(handle) = handle {
            tokio::task::spawn_blocking(move || handle.join())
                .await
                .map_err(|e| StoreError::backend_from("waiting for the writer thread", e))?
                .map_err(|_| StoreError::backend("the writer thread panicked"))?;
        }
        // A log that lost events refuses appends, but its storage engine is sound: only a
        // failed write leaves sled unable to flush.
        if let Some(why) = self.failure.get().filter(|_| self.loss.is_none()) {
            // After a failed commit nothing more was acknowledged, and everything that was
            // is on disk already. sled's flush after a failed write never returns.
            warn!(failure = %why, "the log is closed without a last flush after an earlier failure; everything acknowledged was already durable");
            return Ok(());
        }
        self.db.flush_async().await.map_err(sled_error)?;
        Ok(())
    }

    /// The page of the global log from `from`, at most `limit` events, handed to `then`
    /// off the async workers: a page is thousands of records, and reading it must never
    /// stall other requests. `None` if nothing is durable from `from` on.
    async fn with_log_page<R: Send + 'static>(
        &self,
        from: u64,
        limit: usize,
        then: impl FnOnce(EncodedPage) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<Option<R>, StoreError> {
        let durable = *self.durable.borrow();
        if from >= durable {
            return Ok(None);
        }
        let log = self.log.clone();
        tokio::task::spawn_blocking(move || {
            let page = guarded(
                || format!("the log page from position {from}"),
                || log_page(&log, from, durable, limit.min(MAX_PAGE)),
            )?;
            then(page).map(Some)
        })
        .await
        .map_err(|e| StoreError::backend_from("log reader failed", e))?
    }

    fn sender(&self) -> Result<mpsc::Sender<AppendRequest>, StoreError> {
        self.queue
            .lock()
            .map_err(|_| poisoned())?
            .clone()
            .ok_or_else(|| StoreError::Unavailable("the store is closing".into()))
    }

    fn event_at(&self, position: u64) -> Result<RecordedEvent, StoreError> {
        event_in(&self.log, position)
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
            let (key, value) = item.map_err(sled_error)?;
            let version = keys::version_of_stream_key(&key)?;
            Ok((version, StreamEntry::decode(&value)?.position))
        })
        .filter(move |item| !matches!(item, Ok((_, position)) if *position >= durable))
    }
}

#[async_trait]
impl LogReader for SledStore {
    async fn read_stream(
        &self,
        stream: &StreamId,
        from: u64,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        guarded(
            || format!("stream {stream}"),
            || {
                self.stream_entries(stream, from, direction)
                    .take(limit.min(MAX_PAGE))
                    .map(|entry| self.event_at(entry?.1))
                    .collect()
            },
        )
    }

    async fn read_all(&self, from: u64, limit: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        let events = self.with_log_page(from, limit, |page| decode_page(&page));
        Ok(events.await?.unwrap_or_default())
    }

    async fn read_all_encoded(&self, from: u64, limit: usize) -> Result<EncodedPage, StoreError> {
        let page = self.with_log_page(from, limit, Ok).await?;
        Ok(page.unwrap_or_else(|| EncodedPage::new(Vec::new(), from, from)))
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<Option<u64>, StoreError> {
        guarded(
            || format!("stream {stream}"),
            || {
                self.stream_entries(stream, u64::MAX, Direction::Backwards)
                    .next()
                    .transpose()
                    .map(|entry| entry.map(|(version, _)| version))
            },
        )
    }

    fn watch_head(&self) -> watch::Receiver<u64> {
        self.durable.clone()
    }

    fn known_loss(&self) -> Option<LogLoss> {
        self.loss.clone()
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
        self.backfill.start();
        AppendRequest::submit(self.sender()?, stream, expected, events).await
    }

    async fn find_event(
        &self,
        stream: &StreamId,
        event_id: &uuid::Uuid,
    ) -> Result<Option<EventSlot>, StoreError> {
        // The durable head first: the writer adds an id to the filter before its event
        // can become durable, so an id stored below this head is always in the filter.
        let durable = *self.durable.borrow();
        self.backfill.start();
        if !self.id_filter.may_contain(event_id.as_bytes()) {
            return Ok(None);
        }
        let stored = guarded(
            || format!("the index entry of event id {event_id} in stream {stream}"),
            || writer::stored_id_entry(&self.log, stream, event_id),
        )?;
        let Some(entry) = stored else {
            return Ok(None);
        };
        Ok((entry.position < durable).then_some(EventSlot {
            event_id: *event_id,
            version: entry.version,
            position: entry.position,
        }))
    }

    fn writable(&self) -> Result<(), StoreError> {
        match self.failure.get() {
            Some(failure) => Err(StoreError::WriterStopped(failure.clone())),
            None => Ok(()),
        }
    }

    fn limits(&self) -> StoreLimits {
        self.limits
    }

    /// A data directory is opened by one process at a time (sled locks it): its one
    /// node always holds the lease.
    fn scheduler_lease(&self) -> Box<dyn complaintflow_log::Lease> {
        Box::new(complaintflow_log::lease::SoleLease::new())
    }
}

/// The event at `position`.
fn event_in(log: &sled::Tree, position: u64) -> Result<RecordedEvent, StoreError> {
    let missing = || StoreError::Corrupt {
        location: format!("position {position}"),
        reason: "indexed event is missing".into(),
    };
    let (key, value) = chunk_holding(log, position)?.ok_or_else(missing)?;
    let first = position_of_event_key(&key)?;
    let record = chunk::records(&value)
        .nth((position - first) as usize)
        .ok_or_else(missing)?;
    let event = decode_record((position, record))?;
    if event.position != position {
        return Err(missing());
    }
    Ok(event)
}

/// The stored value that holds `position`: the last event key at or before it.
fn chunk_holding(
    log: &sled::Tree,
    position: u64,
) -> Result<Option<(sled::IVec, sled::IVec)>, StoreError> {
    let bounds = keys::EVENT_PREFIX.to_vec()..=event_key(position).to_vec();
    log.range(bounds)
        .next_back()
        .transpose()
        .map_err(sled_error)
}

/// Decodes one record; a failure names its position.
fn decode_record((position, record): PageRecord<'_>) -> Result<RecordedEvent, StoreError> {
    record
        .and_then(codec::decode)
        .map_err(|err| StoreError::Corrupt {
            location: format!("position {position}"),
            reason: err.to_string(),
        })
}

/// Below this many records a page is decoded on the calling thread.
const PARALLEL_DECODE_MIN: usize = 2048;

/// The values that hold the events at positions `from..durable`, at most `limit` of
/// them: cheap to gather, as sled hands out shared buffers.
fn log_page(
    log: &sled::Tree,
    from: u64,
    durable: u64,
    limit: usize,
) -> Result<EncodedPage, StoreError> {
    let end = durable.min(from.saturating_add(limit as u64));
    let start = match chunk_holding(log, from)? {
        Some((key, _)) => key.to_vec(),
        None => event_key(from).to_vec(),
    };
    let mut values = Vec::new();
    for item in log.range(start..event_key(end).to_vec()) {
        let (key, value) = item.map_err(sled_error)?;
        let value: StoredValue = Box::new(value);
        values.push((position_of_event_key(&key)?, value));
    }
    Ok(EncodedPage::new(values, from, end))
}

/// The events of a page, in order. A large page is decoded on several cores, because
/// decoding is most of the cost of a replay.
fn decode_page(page: &EncodedPage) -> Result<Vec<RecordedEvent>, StoreError> {
    let threads = parallel::cores().min(4);
    if page.len() < PARALLEL_DECODE_MIN || threads == 1 {
        return page.records().map(decode_record).collect();
    }
    let runs: Vec<_> = page.runs(threads).collect();
    let decoded: Vec<_> = runs
        .into_par_iter()
        .map(|run| run.map(decode_record).collect::<Result<Vec<_>, _>>())
        .collect();
    let mut events = Vec::with_capacity(page.len());
    for run in decoded {
        events.extend(run?);
    }
    Ok(events)
}

fn poisoned() -> StoreError {
    StoreError::backend("a lock was poisoned by a panic")
}

/// How long opening waits for a directory's lock. A store closed a moment ago lets go of
/// it only once sled's I/O threads have dropped their last handle, which can be just
/// after `close` returns; a lock held longer than this belongs to someone else.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

fn open_db(path: &Path, cache_capacity: u64) -> Result<sled::Db, StoreError> {
    let config = sled::Config::new()
        .path(path)
        .cache_capacity(cache_capacity)
        .mode(sled::Mode::HighThroughput);
    let started = std::time::Instant::now();
    loop {
        match config.open().map_err(|err| open_error(path, err)) {
            Err(StoreError::DataDirLocked { .. }) if started.elapsed() < LOCK_WAIT => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            opened => return opened,
        }
    }
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
    } else if let sled::Error::Corruption { .. } = err {
        StoreError::Corrupt {
            location: path.join("db").display().to_string(),
            reason: "the storage engine found damaged data while recovering its log".into(),
        }
    } else {
        StoreError::backend(format!("cannot open {}: {text}", path.display()))
    }
}

fn check_format(db: &sled::Db, path: &Path) -> Result<(), StoreError> {
    let meta = db.open_tree(META_TREE).map_err(sled_error)?;
    if let Some(bytes) = meta.get(FORMAT_KEY).map_err(sled_error)? {
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
        if found < STORE_FORMAT {
            // From now on this directory holds chunks, which older builds cannot read.
            meta.insert(FORMAT_KEY, &STORE_FORMAT.to_be_bytes())
                .map_err(sled_error)?;
            db.flush().map_err(sled_error)?;
            info!(path = %path.display(), from = found, to = STORE_FORMAT, "data directory format upgraded");
        }
    } else {
        meta.insert(FORMAT_KEY, &STORE_FORMAT.to_be_bytes())
            .map_err(sled_error)?;
        db.flush().map_err(sled_error)?;
    }
    Ok(())
}

/// Compares the log with the record of how far it reached. A directory without a record
/// is given one now, unless it had one before (then the record was removed: a loss that
/// cannot be ruled out). `tail_readable` is false when the log's last record could not be
/// decoded: its hash is then unknown, and that failure is reported on its own.
fn find_loss(
    path: &Path,
    db: &sled::Db,
    log: &sled::Tree,
    tail: &LogTail,
    tail_readable: bool,
) -> Result<Option<LogLoss>, StoreError> {
    let unreadable = |reason: String| LogLoss::RecordUnreadable {
        location: AcknowledgedFile::path_in(path).display().to_string(),
        reason,
    };
    let meta = db.open_tree(META_TREE).map_err(sled_error)?;
    let recorded = match AcknowledgedFile::read(path) {
        Ok(Some(recorded)) => recorded,
        Ok(None) if meta.get(ACKNOWLEDGED_KEY).map_err(sled_error)?.is_some() => {
            return Ok(Some(unreadable("the file is missing".into())));
        }
        Ok(None) => {
            AcknowledgedFile::open(path, reached(tail)).map_err(|e| {
                StoreError::backend_from(
                    format!(
                        "cannot create {}",
                        AcknowledgedFile::path_in(path).display()
                    ),
                    e,
                )
            })?;
            meta.insert(ACKNOWLEDGED_KEY, &[1]).map_err(sled_error)?;
            db.flush().map_err(sled_error)?;
            return Ok(None);
        }
        Err(err) => return Ok(Some(unreadable(err.to_string()))),
    };
    if recorded.next_position > tail.next_position {
        return Ok(Some(LogLoss::Truncated {
            found: tail.next_position,
            acknowledged: recorded.next_position,
        }));
    }
    let Some(last) = recorded.next_position.checked_sub(1) else {
        return Ok(None);
    };
    let found = if last + 1 == tail.next_position {
        if !tail_readable {
            return Ok(None);
        }
        tail.last_hash
    } else {
        event_in(log, last)?.hash
    };
    Ok(
        (!found.ct_eq(&recorded.last_hash)).then_some(LogLoss::Diverged {
            position: last,
            acknowledged: recorded.last_hash,
            found,
        }),
    )
}

/// How far the log reaches with `tail` as its end.
fn reached(tail: &LogTail) -> Acknowledged {
    Acknowledged {
        next_position: tail.next_position,
        last_hash: tail.last_hash,
    }
}

/// The operator's override: the loss is recorded in [`OVERRIDES_FILE`] and the log goes
/// on from what it holds.
fn accept_loss(
    path: &Path,
    db: &sled::Db,
    loss: &LogLoss,
    tail: &LogTail,
    now: Timestamp,
) -> Result<(), StoreError> {
    use std::io::Write;
    let line = serde_json::json!({
        "accepted_at": now.to_string(),
        "loss": loss.to_string(),
        "log_end": tail.next_position,
        "log_hash": tail.last_hash.to_string(),
    });
    let overrides = path.join(OVERRIDES_FILE);
    let recorded = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&overrides)
        .and_then(|mut file| {
            writeln!(file, "{line}")?;
            file.sync_all()
        })
        .and_then(|()| AcknowledgedFile::open(path, reached(tail))?.write(reached(tail)));
    recorded.map_err(|e| {
        StoreError::backend_from(
            format!("cannot record the override in {}", overrides.display()),
            e,
        )
    })?;
    db.open_tree(META_TREE)
        .map_err(sled_error)?
        .insert(ACKNOWLEDGED_KEY, &[1])
        .map_err(sled_error)?;
    db.flush().map_err(sled_error)?;
    warn!(path = %path.display(), %loss, "the operator accepted the loss of acknowledged events; recorded in {OVERRIDES_FILE}");
    Ok(())
}

/// The overrides recorded in the directory at `path`, one JSON line each.
pub fn recorded_overrides(path: &Path) -> std::io::Result<Vec<String>> {
    match std::fs::read_to_string(path.join(OVERRIDES_FILE)) {
        Ok(text) => Ok(text.lines().map(str::to_owned).collect()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(err) => Err(err),
    }
}

/// One past the last position under the last event key, counting its records without
/// decoding them: enough to keep positions gapless when the last record is unreadable.
fn position_after_last_key(log: &sled::Tree) -> Result<Option<u64>, StoreError> {
    match log.scan_prefix(keys::EVENT_PREFIX).next_back() {
        Some(item) => {
            let (key, value) = item.map_err(sled_error)?;
            let records = chunk::records(&value).count() as u64;
            Ok(Some(position_of_event_key(&key)? + records))
        }
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
    let (key, value) = item.map_err(sled_error)?;
    let (count, last) =
        chunk::records(&value).fold((0, None), |(count, _), record| (count + 1, Some(record)));
    let position = position_of_event_key(&key)? + count.max(1) - 1;
    let last = decode_record((position, last.unwrap_or(Err(codec::DecodeError::Empty))))?;
    Ok(LogTail {
        next_position: last.position + 1,
        last_hash: last.hash,
        last_recorded_at: last.recorded_at,
    })
}

/// Direct access to the raw tree, for tests that tamper with records.
#[doc(hidden)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "damage tooling for tests: it stops at the first surprise and no server calls it"
)]
pub mod tamper {
    use super::{SledStore, chunk, chunk_holding, position_of_event_key};

    pub fn raw_tree(store: &SledStore) -> &sled::Tree {
        &store.log
    }

    /// The record stored for `position`, as bytes.
    pub fn record(tree: &sled::Tree, position: u64) -> Vec<u8> {
        let mut found = None;
        edit(tree, position, |record| {
            found.clone_from(&record);
            record
        });
        found.expect("a record at that position")
    }

    /// Stores `bytes` in place of the record at `position`, inside its chunk.
    pub fn replace_record(tree: &sled::Tree, position: u64, bytes: Vec<u8>) {
        edit(tree, position, |_| Some(bytes));
    }

    /// Deletes the record at `position` from its chunk.
    pub fn remove_record(tree: &sled::Tree, position: u64) {
        edit(tree, position, |_| None);
    }

    fn edit(
        tree: &sled::Tree,
        position: u64,
        change: impl FnOnce(Option<Vec<u8>>) -> Option<Vec<u8>>,
    ) {
        let (key, value) = chunk_holding(tree, position).unwrap().expect("a chunk");
        let index = (position - position_of_event_key(&key).unwrap()) as usize;
        let mut records: Vec<Option<Vec<u8>>> = chunk::records(&value)
            .map(|r| Some(r.unwrap().to_vec()))
            .collect();
        records[index] = change(records[index].take());
        let records: Vec<Vec<u8>> = records.into_iter().flatten().collect();
        if records.is_empty() {
            tree.remove(key).unwrap();
        } else {
            tree.insert(key, chunk::pack(&records)).unwrap();
        }
    }
}
