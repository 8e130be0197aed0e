//! The log on PostgreSQL: any number of complaintflow nodes append to one database and
//! follow it.
//!
//! One row per event in `complaintflow_events`; one row, `complaintflow_head`, says where
//! the log ends. Each node commits its appends in groups (`writer`), taking the head
//! row's lock once per group, so global positions are gapless and in commit order across
//! nodes. Reads go straight to the table: every committed row is durable, and commit
//! order is position order, so a reader always sees a gapless prefix of the log. The
//! hash chains are the embedded store's (`store::hash`), so `verify` and digests give
//! the same answers for the same events.
//!
//! This module knows nothing of sled or of the server.

mod error;
mod follow;
mod lease;
mod rows;
mod schema;
mod tls;
mod writer;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio::sync::{mpsc, watch};
use tracing::{error, info};

pub use self::error::PgError;
pub use self::schema::SCHEMA_VERSION;
pub use self::tls::PgTarget;

use self::follow::AbortOnDrop;
use self::rows::{COLUMNS, bigint};
use self::writer::{AppendRequest, Writer};
use complaintflow_log::clock::{SharedClock, SystemClock};
use complaintflow_log::{
    AppendOutcome, Direction, EventSlot, EventStore, ExpectedVersion, Hash, LogLoss, LogReader,
    MAX_PAGE, NewEvent, RecordedEvent, StoreError, StoreLimits, StreamId,
};

/// How to open a [`PgStore`].
#[derive(Debug, Clone)]
pub struct PgOptions {
    pub limits: StoreLimits,
    pub clock: SharedClock,
    /// Connections to the database, the writer's included (plus one that listens).
    pub pool_size: usize,
    /// Appends waiting for the writer before callers wait for room.
    pub queue_depth: usize,
    /// Events in one group commit at most.
    pub max_group_events: usize,
    /// Payload bytes in one group commit, about, at most.
    pub max_group_bytes: usize,
    /// How often the head row is read besides the notifications.
    pub head_poll: Duration,
    /// How often a node that lacks the scheduler's lease tries for it, and the holder
    /// checks that it still has it: about the longest a dead holder's timers wait.
    pub lease_poll: Duration,
}

impl Default for PgOptions {
    fn default() -> Self {
        Self {
            limits: StoreLimits::default(),
            clock: Arc::new(SystemClock),
            pool_size: 16,
            queue_depth: 8192,
            max_group_events: 4096,
            max_group_bytes: 16 * 1024 * 1024,
            head_poll: Duration::from_millis(500),
            lease_poll: Duration::from_secs(1),
        }
    }
}

pub struct PgStore {
    target: PgTarget,
    tls: tokio_postgres_rustls::MakeRustlsConnect,
    lease_poll: Duration,
    pool: Pool,
    head: watch::Receiver<u64>,
    /// Taken at close, with the follower and the writer's: subscriptions then end.
    head_tx: Mutex<Option<watch::Sender<u64>>>,
    queue: Mutex<Option<mpsc::Sender<AppendRequest>>>,
    writer: Mutex<Option<tokio::task::JoinHandle<()>>>,
    follower: Mutex<Option<AbortOnDrop>>,
    limits: StoreLimits,
    loss: Option<LogLoss>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects to the database at `url` (libpq's form, `postgres://user@host/db?…`).
    pub async fn connect_url(url: &str, options: PgOptions) -> Result<Self, StoreError> {
        Self::connect(PgTarget::parse(url)?, options).await
    }

    /// Connects, brings the schema up to date and starts the writer and the follower.
    pub async fn connect(target: PgTarget, options: PgOptions) -> Result<Self, StoreError> {
        let tls = target.connector()?;
        let manager = Manager::from_config(
            target.config.clone(),
            tls.clone(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.pool_size.max(2))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(30)))
            .create_timeout(Some(Duration::from_secs(30)))
            .build()
            .map_err(PgError::from)?;
        let (schema, loss, tail) = {
            let mut client = pool.get().await.map_err(PgError::from)?;
            schema::migrate(&mut client).await?;
            let schema: String = client
                .query_one("SELECT current_schema()", &[])
                .await
                .and_then(|row| row.try_get(0))
                .map_err(PgError::from)?;
            let (loss, tail) = find_loss(&client).await?;
            (schema, loss, tail)
        };
        if let Some(loss) = &loss {
            error!(database = %target.describe(), %loss, "the event log lost acknowledged events; appends are refused");
        }
        info!(database = %target.describe(), schema, events = tail, "event log opened");

        let (head_tx, head) = watch::channel(tail);
        let channel = writer::channel(&schema);
        let (queue_tx, queue_rx) = mpsc::channel(options.queue_depth.max(1));
        let writer = Writer {
            pool: pool.clone(),
            clock: options.clock,
            head: head_tx.clone(),
            channel: channel.clone(),
            max_group_events: options.max_group_events.max(1),
            max_group_bytes: options.max_group_bytes.max(1),
            refusal: loss
                .as_ref()
                .map(|loss| format!("the log lost acknowledged events: {loss}")),
            known: writer::Known::default(),
        };
        let writer = tokio::spawn(writer.run(queue_rx));
        let follower = tokio::spawn(follow::follow(
            target.config.clone(),
            tls.clone(),
            pool.clone(),
            head_tx.clone(),
            channel,
            options.head_poll,
        ));
        Ok(Self {
            target,
            tls,
            lease_poll: options.lease_poll,
            pool,
            head,
            head_tx: Mutex::new(Some(head_tx)),
            queue: Mutex::new(Some(queue_tx)),
            writer: Mutex::new(Some(writer)),
            follower: Mutex::new(Some(AbortOnDrop(follower))),
            limits: options.limits,
            loss,
        })
    }

    /// The database, for messages (never with the password).
    pub fn describe(&self) -> String {
        self.target.describe()
    }

    /// Stops taking appends and lets every queued append finish. Appends that arrive
    /// afterwards are refused with `Unavailable`; subscriptions end.
    pub async fn close(&self) -> Result<(), StoreError> {
        drop(self.queue.lock().map_err(|_| poisoned())?.take());
        drop(self.follower.lock().map_err(|_| poisoned())?.take());
        drop(self.head_tx.lock().map_err(|_| poisoned())?.take());
        let writer = self.writer.lock().map_err(|_| poisoned())?.take();
        if let Some(writer) = writer {
            writer
                .await
                .map_err(|e| StoreError::backend_from("the writer task failed", e))?;
        }
        Ok(())
    }

    fn sender(&self) -> Result<mpsc::Sender<AppendRequest>, StoreError> {
        self.queue
            .lock()
            .map_err(|_| poisoned())?
            .clone()
            .ok_or_else(|| StoreError::Unavailable("the store is closing".into()))
    }

    async fn query(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>, PgError> {
        let client = self.pool.get().await?;
        let statement = client.prepare_cached(sql).await?;
        Ok(client.query(&statement, params).await?)
    }
}

/// Compares the head row, the record of how far the log reached, with the rows: rows
/// removed from the end, or a last row that is not the one acknowledged, are a loss.
/// Returns the loss, if any, and the head.
async fn find_loss(client: &deadpool_postgres::Client) -> Result<(Option<LogLoss>, u64), PgError> {
    let at = "complaintflow_head";
    let head = client
        .query_opt(
            "SELECT next_position, last_hash FROM complaintflow_head",
            &[],
        )
        .await?
        .ok_or_else(|| PgError::corrupt(at, "the head row is missing"))?;
    let next: i64 = head.try_get(0)?;
    let acknowledged_hash = rows::hash(head.try_get(1)?, at, "last_hash")?;
    let acknowledged =
        u64::try_from(next).map_err(|_| PgError::corrupt(at, format!("next_position {next}")))?;
    let last = client
        .query_opt(
            "SELECT position, hash FROM complaintflow_events ORDER BY position DESC LIMIT 1",
            &[],
        )
        .await?;
    let (found, found_hash) = match &last {
        None => (0, Hash::GENESIS),
        Some(row) => {
            let position: i64 = row.try_get(0)?;
            let at = format!("position {position}");
            let position =
                u64::try_from(position).map_err(|_| PgError::corrupt(&at, "negative position"))?;
            (position + 1, rows::hash(row.try_get(1)?, &at, "hash")?)
        }
    };
    let loss = if found < acknowledged {
        Some(LogLoss::Truncated {
            found,
            acknowledged,
        })
    } else if acknowledged > 0 && !found_hash.ct_eq(&acknowledged_hash) {
        Some(LogLoss::Diverged {
            position: acknowledged - 1,
            acknowledged: acknowledged_hash,
            found: found_hash,
        })
    } else {
        None
    };
    Ok((loss, acknowledged))
}

fn poisoned() -> StoreError {
    StoreError::backend("a lock was poisoned by a panic")
}

#[async_trait]
impl LogReader for PgStore {
    async fn read_stream(
        &self,
        stream: &StreamId,
        from: u64,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let limit = limit.min(MAX_PAGE) as i64;
        if limit == 0 {
            return Ok(Vec::new());
        }
        let sql = match direction {
            Direction::Forwards => format!(
                "SELECT {COLUMNS} FROM complaintflow_events \
                 WHERE stream = $1 AND version >= $2 ORDER BY version LIMIT $3"
            ),
            Direction::Backwards => format!(
                "SELECT {COLUMNS} FROM complaintflow_events \
                 WHERE stream = $1 AND version <= $2 ORDER BY version DESC LIMIT $3"
            ),
        };
        let rows = self
            .query(&sql, &[&stream.as_str(), &bigint(from), &limit])
            .await?;
        Ok(rows::events(&rows)?)
    }

    async fn read_all(&self, from: u64, limit: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        let limit = limit.min(MAX_PAGE) as i64;
        if limit == 0 {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {COLUMNS} FROM complaintflow_events \
             WHERE position >= $1 ORDER BY position LIMIT $2"
        );
        let rows = self.query(&sql, &[&bigint(from), &limit]).await?;
        let events = rows::events(&rows)?;
        if let Some(last) = events.last() {
            // A reader may see other nodes' commits before their notification arrives.
            if let Some(head) = self.head_tx.lock().map_err(|_| poisoned())?.as_ref() {
                writer::advance(head, last.position + 1);
            }
        }
        Ok(events)
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<Option<u64>, StoreError> {
        let rows = self
            .query(
                "SELECT version FROM complaintflow_events \
                 WHERE stream = $1 ORDER BY version DESC LIMIT 1",
                &[&stream.as_str()],
            )
            .await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let version: i64 = row.try_get(0).map_err(PgError::from)?;
        u64::try_from(version).map(Some).map_err(|_| {
            PgError::corrupt(format!("stream {stream}"), format!("version {version}")).into()
        })
    }

    fn known_loss(&self) -> Option<LogLoss> {
        self.loss.clone()
    }

    fn watch_head(&self) -> watch::Receiver<u64> {
        self.head.clone()
    }
}

#[async_trait]
impl EventStore for PgStore {
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, StoreError> {
        let events = self.limits.prepare(stream, events)?;
        AppendRequest::submit(self.sender()?, stream, expected, events).await
    }

    async fn find_event(
        &self,
        stream: &StreamId,
        event_id: &uuid::Uuid,
    ) -> Result<Option<EventSlot>, StoreError> {
        let rows = self
            .query(
                "SELECT version, position FROM complaintflow_events \
                 WHERE stream = $1 AND event_id = $2",
                &[&stream.as_str(), event_id],
            )
            .await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let at = format!("the row of event id {event_id}");
        let (version, position): (i64, i64) = (
            row.try_get(0).map_err(PgError::from)?,
            row.try_get(1).map_err(PgError::from)?,
        );
        match (u64::try_from(version), u64::try_from(position)) {
            (Ok(version), Ok(position)) => Ok(Some(EventSlot {
                event_id: *event_id,
                version,
                position,
            })),
            _ => Err(PgError::corrupt(at, "negative version or position").into()),
        }
    }

    fn limits(&self) -> StoreLimits {
        self.limits
    }

    fn scheduler_lease(&self) -> Box<dyn complaintflow_log::Lease> {
        Box::new(lease::claim(
            self.target.config.clone(),
            self.tls.clone(),
            self.lease_poll,
        ))
    }
}
