//! Group commit on PostgreSQL: one writer task per node takes the appends queued and
//! commits them in one transaction per group.
//!
//! The transaction moves the one row of `complaintflow_head`, which says where the log
//! ends and with which hash, and holds that row's lock until COMMIT: whoever holds it is
//! the only one handing out positions, so positions are given in commit order and a
//! reader never sees position n+1 committed while n is still in flight, the way a
//! `bigserial` lets happen. The lock is taken once per group, not per append. An append
//! is answered only after COMMIT returned, with `synchronous_commit = on`.
//!
//! A group commits in one round trip, as one statement that is its own transaction,
//! while this node's memory of the log is the truth (see [`Known`]); otherwise in two,
//! with every check (replays, expected versions) read under the head's lock, so that it
//! sees every other node's committed appends.

use std::collections::HashMap;

use tokio::sync::{mpsc, watch};
use tracing::{Instrument, debug, debug_span, warn};
use uuid::Uuid;

use super::error::PgError;
use super::rows::{self, bigint};
use complaintflow_log::append_metrics;
use complaintflow_log::chain::{LogEnd, Placed, place_append};
use complaintflow_log::clock::SharedClock;
use complaintflow_log::replay::{self, StoredId};
use complaintflow_log::{AppendOutcome, ExpectedVersion, Hash, StoreError, StreamId};

/// The channel other nodes are woken on after a commit (the payload is the new head):
/// one per schema, as several logs may share a database.
pub(crate) fn channel(schema: &str) -> String {
    let digest = blake3::hash(schema.as_bytes()).to_hex();
    format!("complaintflow_{}", &digest[..16])
}

pub(crate) use complaintflow_log::group_commit::AppendRequest;

pub(crate) struct Writer {
    pub pool: deadpool_postgres::Pool,
    pub clock: SharedClock,
    pub head: watch::Sender<u64>,
    /// See [`channel`].
    pub channel: String,
    pub max_group_events: usize,
    pub max_group_bytes: usize,
    /// Why appends are refused, if they are (a log that lost acknowledged events).
    pub refusal: Option<String>,
    /// The log's end and the heads of streams as this node last saw them (see [`Known`]).
    pub known: Known,
}

/// The end of the log: where the next event goes, the last hash and the last recorded
/// time (which never goes back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Head {
    next_position: u64,
    last_hash: Hash,
    recorded_at: i64,
}

/// What this node knows of the log from its own last group: the head it left, and the
/// last version and hash of the streams it read or wrote. While no other node appends,
/// that is the truth, and a group whose streams are all known (or new) is staged from it
/// and committed in one round trip: the head's row is moved only if it is still the
/// head this node left, under the row's lock, and the rows go in only if it moved. Any
/// doubt (another node moved the head, a stream unknown, an append that would be
/// refused, a unique key hit because an id was a retry) sends the group through the
/// locked path, which reads everything under the lock; nothing is ever decided from
/// memory alone that the database has not confirmed.
#[derive(Debug, Default)]
pub(crate) struct Known {
    head: Option<Head>,
    streams: HashMap<StreamId, (u64, Hash)>,
}

/// Turns given to answered appenders before the next group is gathered, at most.
const MAX_YIELDS: usize = 8;

/// Streams remembered at most; past it the memory starts again from the next group.
const KNOWN_STREAMS: usize = 65_536;

impl Known {
    fn forget(&mut self) {
        self.head = None;
        self.streams.clear();
    }

    fn learn(&mut self, head: Head, streams: HashMap<StreamId, Option<(u64, Hash)>>) {
        if self.streams.len() + streams.len() > KNOWN_STREAMS {
            self.streams.clear();
        }
        self.head = Some(head);
        self.streams
            .extend(streams.into_iter().filter_map(|(s, h)| Some((s, h?))));
    }

    /// The group staged from memory, if every append can be judged from it and would
    /// write: a refusal or a replay is never answered from memory.
    fn stage(
        &self,
        requests: &[AppendRequest],
        now: i64,
    ) -> Option<(Vec<Result<AppendOutcome, StoreError>>, Group)> {
        let head = self.head?;
        let mut heads = HashMap::new();
        for request in requests {
            let known = match self.streams.get(&request.stream) {
                Some(known) => Some(*known),
                None if request.expected == ExpectedVersion::NoStream => None,
                None => return None,
            };
            heads.insert(request.stream.clone(), known);
        }
        let mut group = Group {
            ids: HashMap::new(),
            heads,
            staged_on: head,
            next_position: head.next_position,
            last_hash: head.last_hash,
            recorded_at: now.max(head.recorded_at),
            rows: Rows::default(),
        };
        let outcomes: Vec<_> = requests.iter().map(|r| group.stage(r)).collect();
        let all_written = outcomes
            .iter()
            .all(|outcome| outcome.as_ref().is_ok_and(|o| !o.replayed));
        (all_written && !group.rows.position.is_empty()).then_some((outcomes, group))
    }
}

impl Writer {
    /// Takes the queued appends in groups and commits them, one group at a time: a
    /// second group in flight would wait for the head's lock anyway, and measured slower
    /// (see `docs/benchmarks.md`).
    pub(crate) async fn run(mut self, mut queue: mpsc::Receiver<AppendRequest>) {
        while let Some(first) = queue.recv().await {
            let group = self.gather(first, &mut queue);
            self.commit(group).await;
            self.let_answered_append_again(&queue).await;
        }
    }

    /// The appenders just answered are ready to run, and many append again at once:
    /// letting them run before gathering puts them in the next group instead of the one
    /// after, where they would wait a whole commit longer. Only while each turn brings
    /// more appends, so an idle node waits for nothing.
    async fn let_answered_append_again(&self, queue: &mpsc::Receiver<AppendRequest>) {
        let mut queued = queue.len();
        for _ in 0..MAX_YIELDS {
            tokio::task::yield_now().await;
            let now_queued = queue.len();
            if now_queued == queued {
                return;
            }
            queued = now_queued;
        }
    }

    /// `first` and what else is queued, up to a group's size.
    fn gather(
        &self,
        first: AppendRequest,
        queue: &mut mpsc::Receiver<AppendRequest>,
    ) -> Vec<AppendRequest> {
        let mut events = first.events.len();
        let mut bytes = size_of(&first);
        let mut group = vec![first];
        while events < self.max_group_events && bytes < self.max_group_bytes {
            match queue.try_recv() {
                Ok(next) => {
                    events += next.events.len();
                    bytes += size_of(&next);
                    group.push(next);
                }
                Err(_) => break,
            }
        }
        group
    }

    async fn commit(&mut self, requests: Vec<AppendRequest>) {
        if let Some(why) = &self.refusal {
            for request in requests {
                let _ = request
                    .reply
                    .send(Err(StoreError::Unavailable(why.clone())));
            }
            return;
        }
        let span = debug_span!("pg_group_commit", appends = requests.len());
        let started = std::time::Instant::now();
        match self.try_commit(&requests).instrument(span).await {
            Ok((outcomes, committed)) => {
                if let Some(committed) = committed {
                    metrics::histogram!("complaintflow_store_commit_seconds")
                        .record(started.elapsed().as_secs_f64());
                    metrics::histogram!("complaintflow_store_group_events")
                        .record(committed.events as f64);
                    metrics::counter!("complaintflow_store_events_appended_total")
                        .increment(committed.events);
                    advance(&self.head, committed.next_position);
                }
                for (request, outcome) in requests.into_iter().zip(outcomes) {
                    append_metrics::record_outcome(&outcome);
                    let _ = request.reply.send(outcome);
                }
            }
            Err(err) => {
                let err = StoreError::from(err);
                warn!(error = %err, "a group commit failed; its appends are refused");
                for request in requests {
                    let outcome = Err(match &err {
                        StoreError::Unavailable(why) => StoreError::Unavailable(why.clone()),
                        StoreError::Corrupt { location, reason } => StoreError::Corrupt {
                            location: location.clone(),
                            reason: reason.clone(),
                        },
                        StoreError::Backend(why) => StoreError::Backend(why.clone()),
                        other => StoreError::backend(other.to_string()),
                    });
                    append_metrics::record_outcome(&outcome);
                    let _ = request.reply.send(outcome);
                }
            }
        }
    }

    /// One transaction for the whole group: in one round trip when this node's memory of
    /// the log is enough (see [`Known`]), else in two, reading under the head's lock.
    /// Refused appends are answered as refused; the others commit together or not at all.
    async fn try_commit(
        &mut self,
        requests: &[AppendRequest],
    ) -> Result<(Vec<Result<AppendOutcome, StoreError>>, Option<Committed>), PgError> {
        let now = self.clock.now().as_microsecond();
        let mut client = self.pool.get().await?;
        if let Some((outcomes, group)) = self.known.stage(requests, now) {
            match commit_if_head_unmoved(&client, &self.channel, &group).await {
                Ok(true) => {
                    let committed = Committed {
                        next_position: group.next_position,
                        events: group.rows.position.len() as u64,
                    };
                    self.known.learn(group.head(), group.heads);
                    metrics::counter!("complaintflow_store_group_commits_total", "path" => "one_round_trip")
                        .increment(1);
                    return Ok((outcomes, Some(committed)));
                }
                Ok(false) => {
                    debug!("the head moved since this node's last commit: reading under the lock");
                }
                Err(err) => {
                    debug!(error = %err, "the one-round-trip commit failed: reading under the lock");
                    // Its transaction's end is unknown: the connection serves nothing more.
                    drop(deadpool_postgres::Object::take(client));
                    client = self.pool.get().await?;
                }
            }
            self.known.forget();
        }
        match transact(&client, self, requests).await {
            Ok((outcomes, committed, group)) => {
                // A group that wrote nothing left the head where it was.
                let head = if committed.is_some() {
                    group.head()
                } else {
                    group.staged_on
                };
                self.known.learn(head, group.heads);
                metrics::counter!("complaintflow_store_group_commits_total", "path" => "locked")
                    .increment(1);
                Ok((outcomes, committed))
            }
            Err(err) => {
                self.known.forget();
                // The transaction may still be open, or its end unknown: the connection
                // must never serve another group, so it leaves the pool and closes.
                drop(deadpool_postgres::Object::take(client));
                Err(err)
            }
        }
    }
}

/// Every group's transaction starts so: durable at COMMIT, whatever the database's or
/// the role's default.
const BEGIN: &str = "BEGIN; SET LOCAL synchronous_commit TO on";

/// The group's rows as the insert's parameters, `$1` to `$14`.
fn row_params<'a>(
    r: &'a Rows,
    recorded: &'a Vec<i64>,
) -> [&'a (dyn tokio_postgres::types::ToSql + Sync); 14] {
    [
        &r.position,
        &r.stream,
        &r.version,
        &r.event_id,
        &r.event_type,
        &r.schema_version,
        &r.occurred_at,
        recorded,
        &r.correlation_id,
        &r.causation_id,
        &r.actor,
        &r.payload,
        &r.content_hash,
        &r.hash,
    ]
}

/// The insert of a group's rows, from arrays, with `extra` after the `unnest`.
fn insert_sql(extra: &str) -> String {
    format!(
        "INSERT INTO complaintflow_events ({}) SELECT * FROM unnest(\
         $1::bigint[], $2::text[], $3::bigint[], $4::uuid[], $5::text[], \
         $6::integer[], $7::bigint[], $8::bigint[], $9::uuid[], $10::uuid[], \
         $11::text[], $12::bytea[], $13::bytea[], $14::bytea[]){extra}",
        rows::COLUMNS
    )
}

/// One round trip, one statement, one transaction: the head moved from the one `group`
/// was staged on to its new end (under the row's lock, waiting for any other writer),
/// and the rows and the notification only if it did. Sent alone, the statement is its
/// own transaction, committed before the answer comes back; it makes its commit durable
/// itself (`set_config(…, true)` lasts until that commit), whatever the database's or the
/// role's default. `Ok(false)`: the head was not where this node left it, and nothing was
/// written.
async fn commit_if_head_unmoved(
    client: &deadpool_postgres::Client,
    channel: &str,
    group: &Group,
) -> Result<bool, PgError> {
    let statement = client
        .prepare_cached(&format!(
            "WITH durable AS (SELECT set_config('synchronous_commit', 'on', true)), \
             moved AS (UPDATE complaintflow_head \
             SET next_position = $15, last_hash = $16, last_recorded_at_us = $17 \
             WHERE next_position = $18 AND last_hash = $19 RETURNING 1), \
             inserted AS ({} RETURNING 1), \
             notified AS (SELECT pg_notify($20, $21) FROM moved) \
             SELECT (SELECT count(*) FROM durable), (SELECT count(*) FROM moved), \
             (SELECT count(*) FROM inserted), (SELECT count(*) FROM notified)",
            insert_sql(" WHERE EXISTS (SELECT 1 FROM moved)")
        ))
        .await?;
    let r = &group.rows;
    let recorded = vec![group.recorded_at; r.position.len()];
    let staged_on = group.staged_on;
    let old_next = bigint(staged_on.next_position);
    let old_hash = staged_on.last_hash.as_bytes().as_slice();
    let new_next = bigint(group.next_position);
    let new_hash = group.last_hash.as_bytes().as_slice();
    let notice = group.next_position.to_string();
    let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
        row_params(r, &recorded).to_vec();
    params.extend([
        &new_next as &(dyn tokio_postgres::types::ToSql + Sync),
        &new_hash,
        &group.recorded_at,
        &old_next,
        &old_hash,
        &channel,
        &notice,
    ]);
    let row = client.query_one(&statement, &params).await?;
    let (updated, inserted): (i64, i64) = (row.try_get(1)?, row.try_get(2)?);
    match (updated, inserted) {
        (1, n) if n == r.position.len() as i64 => Ok(true),
        (0, 0) => Ok(false),
        _ => Err(PgError::corrupt(
            "complaintflow_head",
            format!(
                "a one-round-trip commit moved {updated} head rows and wrote {inserted} of {} rows",
                r.position.len()
            ),
        )),
    }
}

/// The group's transaction on `client`, which the caller discards on error.
async fn transact(
    client: &deadpool_postgres::Client,
    writer: &Writer,
    requests: &[AppendRequest],
) -> Result<
    (
        Vec<Result<AppendOutcome, StoreError>>,
        Option<Committed>,
        Group,
    ),
    PgError,
> {
    let lock_head = client
        .prepare_cached(
            "SELECT next_position, last_hash, last_recorded_at_us \
             FROM complaintflow_head FOR UPDATE",
        )
        .await?;
    // Sent together and run in the order sent (futures are polled, and send, in order;
    // a statement prepared beforehand goes out at once): the transaction, then the
    // head's lock, so the reads after it see every commit before it. One round trip.
    let ((), head, ids, heads) = futures::try_join!(
        async { client.batch_execute(BEGIN).await.map_err(PgError::from) },
        async {
            client
                .query_opt(&lock_head, &[])
                .await
                .map_err(PgError::from)
        },
        stored_ids(client, requests),
        stream_heads(client, requests),
    )?;
    let head =
        head.ok_or_else(|| PgError::corrupt("complaintflow_head", "the head row is missing"))?;
    let at = "complaintflow_head";
    let next_position: i64 = head.try_get(0)?;
    let last_hash: &[u8] = head.try_get(1)?;
    let last_recorded_at: i64 = head.try_get(2)?;
    let next_position = u64::try_from(next_position)
        .map_err(|_| PgError::corrupt(at, format!("next_position {next_position}")))?;
    let recorded_at = writer.clock.now().as_microsecond().max(last_recorded_at);
    let last_hash = rows::hash(last_hash, at, "last_hash")?;
    let mut group = Group {
        ids,
        heads,
        staged_on: Head {
            next_position,
            last_hash,
            recorded_at: last_recorded_at,
        },
        next_position,
        last_hash,
        recorded_at,
        rows: Rows::default(),
    };
    let outcomes: Vec<_> = requests.iter().map(|r| group.stage(r)).collect();
    let events = group.rows.position.len() as u64;
    if events == 0 {
        // Nothing to write: the lock goes with the rollback.
        client.batch_execute("ROLLBACK").await?;
        return Ok((outcomes, None, group));
    }
    let insert = client.prepare_cached(&insert_sql("")).await?;
    let r = &group.rows;
    let recorded = vec![recorded_at; r.position.len()];
    let new_head = group.last_hash.as_bytes().as_slice();
    let next = bigint(group.next_position);
    let notice = group.next_position.to_string();
    let update = client
        .prepare_cached(
            "UPDATE complaintflow_head \
             SET next_position = $1, last_hash = $2, last_recorded_at_us = $3",
        )
        .await?;
    let notify = client.prepare_cached("SELECT pg_notify($1, $2)").await?;
    let rows = row_params(r, &recorded);
    let head_row: [&(dyn tokio_postgres::types::ToSql + Sync); 3] =
        [&next, &new_head, &recorded_at];
    let notification: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&writer.channel, &notice];
    // The rows, the head, the notification (delivered only once the transaction commits)
    // and COMMIT, in one round trip. Should a statement fail, PostgreSQL answers the
    // COMMIT with a rollback and the statement's error is what `try_join!` returns.
    futures::try_join!(
        client.execute(&insert, &rows),
        client.execute(&update, &head_row),
        client.execute(&notify, &notification),
        client.batch_execute("COMMIT"),
    )?;
    let committed = Committed {
        next_position: group.next_position,
        events,
    };
    Ok((outcomes, Some(committed), group))
}

struct Committed {
    next_position: u64,
    events: u64,
}

/// Moves the head forwards only: notifications and polls may arrive out of order.
pub(crate) fn advance(head: &watch::Sender<u64>, to: u64) {
    head.send_if_modified(|current| {
        let moved = to > *current;
        if moved {
            *current = to;
        }
        moved
    });
}

fn size_of(request: &AppendRequest) -> usize {
    request
        .events
        .iter()
        .map(|e| e.event.payload.len() + 256)
        .sum()
}

/// Where each event id of the group is stored in the stream it is sent to, if it is: an
/// event id is a retry key within its stream only.
async fn stored_ids(
    client: &deadpool_postgres::Client,
    requests: &[AppendRequest],
) -> Result<HashMap<(StreamId, Uuid), StoredId>, PgError> {
    let (streams, ids): (Vec<&str>, Vec<Uuid>) = requests
        .iter()
        .flat_map(|r| {
            r.events
                .iter()
                .map(|e| (r.stream.as_str(), e.event.event_id))
        })
        .unzip();
    let query = client
        .prepare_cached(
            // A lateral lookup per key: the (stream, event_id) index, whatever the
            // planner guesses of the arrays and of a table it last analyzed when small
            // (a plain join was planned as a scan, which grew with the log).
            "SELECT k.stream, k.event_id, e.version, e.position, e.content_hash \
             FROM unnest($1::text[], $2::uuid[]) AS k(stream, event_id) \
             CROSS JOIN LATERAL (SELECT version, position, content_hash \
             FROM complaintflow_events WHERE stream = k.stream AND event_id = k.event_id) e",
        )
        .await?;
    let mut stored = HashMap::new();
    for row in client.query(&query, &[&streams, &ids]).await? {
        let stream: String = row.try_get(0)?;
        let event_id: Uuid = row.try_get(1)?;
        let at = format!("the row of event id {event_id} in stream {stream}");
        let stream = StreamId::new(stream).map_err(|e| PgError::corrupt(&at, e.to_string()))?;
        let (version, position): (i64, i64) = (row.try_get(2)?, row.try_get(3)?);
        let content_hash: &[u8] = row.try_get(4)?;
        let unsigned =
            |v: i64| u64::try_from(v).map_err(|_| PgError::corrupt(&at, format!("negative {v}")));
        stored.insert(
            (stream, event_id),
            StoredId {
                version: unsigned(version)?,
                position: unsigned(position)?,
                content_hash: rows::hash(content_hash, &at, "content_hash")?,
            },
        );
    }
    Ok(stored)
}

/// The last version and hash of each stream the group appends to (`None`: no stream).
async fn stream_heads(
    client: &deadpool_postgres::Client,
    requests: &[AppendRequest],
) -> Result<HashMap<StreamId, Option<(u64, Hash)>>, PgError> {
    let mut heads: HashMap<StreamId, Option<(u64, Hash)>> =
        requests.iter().map(|r| (r.stream.clone(), None)).collect();
    let names: Vec<&str> = heads.keys().map(StreamId::as_str).collect();
    let query = client
        .prepare_cached(
            "SELECT s.name, h.version, h.hash FROM unnest($1::text[]) AS s(name) \
             CROSS JOIN LATERAL (SELECT version, hash FROM complaintflow_events \
             WHERE stream = s.name ORDER BY version DESC LIMIT 1) AS h",
        )
        .await?;
    let rows = client.query(&query, &[&names]).await?;
    for row in rows {
        let name: String = row.try_get(0)?;
        let at = format!("the head of stream {name}");
        let version: i64 = row.try_get(1)?;
        let chained: &[u8] = row.try_get(2)?;
        let version = u64::try_from(version)
            .map_err(|_| PgError::corrupt(&at, format!("negative version {version}")))?;
        let stream = StreamId::new(name).map_err(|err| PgError::corrupt(&at, err.to_string()))?;
        heads.insert(stream, Some((version, rows::hash(chained, &at, "hash")?)));
    }
    Ok(heads)
}

/// The group's rows, column by column, for one `unnest` insert.
#[derive(Default)]
struct Rows {
    position: Vec<i64>,
    stream: Vec<String>,
    version: Vec<i64>,
    event_id: Vec<Uuid>,
    event_type: Vec<String>,
    schema_version: Vec<i32>,
    occurred_at: Vec<i64>,
    correlation_id: Vec<Option<Uuid>>,
    causation_id: Vec<Option<Uuid>>,
    actor: Vec<String>,
    payload: Vec<Vec<u8>>,
    content_hash: Vec<Vec<u8>>,
    hash: Vec<Vec<u8>>,
}

/// The appends of one transaction, staged in order: later appends see the ids and stream
/// heads staged by earlier ones.
struct Group {
    ids: HashMap<(StreamId, Uuid), StoredId>,
    heads: HashMap<StreamId, Option<(u64, Hash)>>,
    /// The head the group was staged on: its first event goes there.
    staged_on: Head,
    next_position: u64,
    last_hash: Hash,
    recorded_at: i64,
    rows: Rows,
}

impl Group {
    /// The log's end once the group is committed.
    fn head(&self) -> Head {
        Head {
            next_position: self.next_position,
            last_hash: self.last_hash,
            recorded_at: self.recorded_at,
        }
    }

    /// Checks one append and, if it passes, stages its rows. A refused append stages
    /// nothing: every check happens before the first row.
    fn stage(&mut self, request: &AppendRequest) -> Result<AppendOutcome, StoreError> {
        if let Some(replay) = replay::judge(&request.events, |id| {
            Ok(self.ids.get(&(request.stream.clone(), *id)).copied())
        })? {
            return Ok(replay);
        }
        let head = self.heads.get(&request.stream).copied().flatten();
        let mut end = LogEnd {
            next_position: self.next_position,
            last_hash: self.last_hash,
        };
        let (rows, ids) = (&mut self.rows, &mut self.ids);
        let outcome = place_append(
            &request.stream,
            request.expected,
            head,
            &mut end,
            self.recorded_at,
            &request.events,
            |Placed {
                 prepared,
                 version,
                 position,
                 hash,
             }| {
                let event = &prepared.event;
                rows.position.push(bigint(position));
                rows.stream.push(request.stream.as_str().to_owned());
                rows.version.push(bigint(version));
                rows.event_id.push(event.event_id);
                rows.event_type.push(event.event_type.clone());
                rows.schema_version.push(i32::from(event.schema_version));
                rows.occurred_at.push(event.occurred_at.as_microsecond());
                rows.correlation_id.push(event.correlation_id);
                rows.causation_id.push(event.causation_id);
                rows.actor.push(event.actor.clone());
                rows.payload.push(event.payload.clone());
                rows.content_hash
                    .push(prepared.content_hash.as_bytes().to_vec());
                rows.hash.push(hash.as_bytes().to_vec());
                ids.insert(
                    (request.stream.clone(), event.event_id),
                    StoredId {
                        version,
                        position,
                        content_hash: prepared.content_hash,
                    },
                );
            },
        )?;
        self.next_position = end.next_position;
        self.last_hash = end.last_hash;
        self.heads.insert(
            request.stream.clone(),
            Some((outcome.last_version(), end.last_hash)),
        );
        Ok(outcome)
    }
}
