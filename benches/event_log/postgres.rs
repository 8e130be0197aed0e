//! The append scenarios on PostgreSQL (`COMPLAINTFLOW_BENCH_STORE=postgres://…`), side by
//! side with sled in the same run: `PgStore`, and two baselines on the same server.
//!
//! The baselines are what an event store on PostgreSQL usually starts as: message-db's
//! own schema and `write_message` (see [`Baseline`]), and a leaner variant of it that
//! locks per stream and so gives up the order of positions. One event per transaction,
//! the global position a `bigserial`. `PgStore` commits each node's appends in groups
//! under the head row's lock instead. Each scenario gets a fresh schema, dropped
//! afterwards.

use std::sync::Arc;
use std::time::{Duration, Instant};

use complaintflow_log::EventStore;
use complaintflow_store_postgres::{PgOptions, PgStore, PgTarget};
use hdrhistogram::Histogram;
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::{
    OwnStreams, Row, TaskRun, WriterStats, complaint_events, join_runs, latency_histogram,
    process_cpu, record_micros,
};

pub(crate) const STORE_VAR: &str = "COMPLAINTFLOW_BENCH_STORE";

/// The database the PostgreSQL rows run on, if one is configured.
pub(crate) fn configured() -> Option<PgTarget> {
    let url = std::env::var(STORE_VAR)
        .ok()
        .filter(|url| !url.is_empty())?;
    Some(PgTarget::parse(&url).unwrap_or_else(|e| panic!("{STORE_VAR}: {e}")))
}

/// A schema of its own for one scenario, dropped on `finish`.
struct Schema {
    target: PgTarget,
    name: String,
}

impl Schema {
    async fn create(base: &PgTarget) -> Self {
        let name = format!("cf_bench_{}", uuid::Uuid::new_v4().simple());
        let mut target = base.clone();
        target.config.options(format!("-c search_path={name}"));
        let schema = Self { target, name };
        schema
            .client()
            .await
            .batch_execute(&format!("CREATE SCHEMA {}", schema.name))
            .await
            .expect("create the bench schema");
        schema
    }

    async fn client(&self) -> tokio_postgres::Client {
        let (client, connection) = self
            .target
            .config
            .connect(self.target.connector().expect("TLS"))
            .await
            .expect("connect to the bench database");
        tokio::spawn(connection);
        client
    }

    async fn finish(self) {
        let _ = self
            .client()
            .await
            .batch_execute(&format!("DROP SCHEMA {} CASCADE", self.name))
            .await;
    }
}

/// `PgStore`, `tasks` tasks appending `events_per_call` events per call.
pub(crate) async fn pg_store_scenario(
    base: &PgTarget,
    seconds: Duration,
    quota: u64,
    tasks: u64,
    events_per_call: u64,
) -> Row {
    let schema = Schema::create(base).await;
    let store = Arc::new(
        PgStore::connect(schema.target.clone(), PgOptions::default())
            .await
            .expect("connect PgStore"),
    );
    let writer_before = WriterStats::now();
    let cpu_before = process_cpu();
    let started = Instant::now();
    let deadline = started + seconds;
    let handles: Vec<_> = (0..tasks)
        .map(|task| {
            let store: Arc<dyn EventStore> = store.clone();
            tokio::spawn(super::append_task(
                store,
                task,
                events_per_call,
                deadline,
                quota,
            ))
        })
        .collect();
    let (events, latency) = join_runs(handles).await;
    let elapsed = started.elapsed();
    let cpu = process_cpu().saturating_sub(cpu_before);
    let writer = WriterStats::now().since(&writer_before);
    store.close().await.expect("close");
    drop(store);
    schema.finish().await;
    Row::new(
        format!("pg append {events_per_call} ev/call"),
        tasks,
        events,
        elapsed,
    )
    .with_latency(&latency)
    .with_writer(writer)
    .with_cpu(cpu)
}

/// The baselines beside `PgStore`: one event per transaction, the stream's version
/// checked in SQL, each task on a connection of its own, `synchronous_commit = on`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Baseline {
    /// message-db itself (`message_db.sql`): its table, its three indexes, JSON data and
    /// `write_message`, which holds a lock on the stream's category until COMMIT so that
    /// a category's positions commit in order. A complaint desk's streams are one
    /// category, so its appends commit one at a time, each with its own flush.
    MessageDb,
    /// message-db's check under a lock per stream instead, on a leaner table (two
    /// indexes, bytes for data): appends to different streams commit at once and share
    /// flushes, but a `bigserial` position may then commit before a smaller one (what the
    /// head's lock exists to prevent), so a reader by position can skip events.
    PerStreamLock,
}

impl Baseline {
    fn name(self) -> &'static str {
        match self {
            Self::MessageDb => "message-db 1 ev/tx",
            Self::PerStreamLock => "per-stream lock 1 ev/tx",
        }
    }

    fn schema(self) -> &'static str {
        match self {
            Self::MessageDb => include_str!("message_db.sql"),
            Self::PerStreamLock => PER_STREAM_SCHEMA,
        }
    }

    fn append(self) -> &'static str {
        match self {
            Self::MessageDb => {
                "SELECT write_message($1::varchar, $2::varchar, $3::varchar, \
                 $4::text::jsonb, $5::text::jsonb, $6::bigint)"
            }
            Self::PerStreamLock => PER_STREAM_APPEND,
        }
    }
}

const PER_STREAM_SCHEMA: &str = "
    CREATE TABLE naive_events (
        position bigserial PRIMARY KEY,
        stream text NOT NULL,
        version bigint NOT NULL,
        event_id uuid NOT NULL,
        event_type text NOT NULL,
        payload bytea NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (stream, version)
    );
";

const PER_STREAM_APPEND: &str = "
    WITH locked AS (SELECT pg_advisory_xact_lock(hashtext($1)))
    INSERT INTO naive_events (stream, version, event_id, event_type, payload)
    SELECT $1::text, $2::bigint, $3::uuid, $4::text, $5::bytea FROM locked
    WHERE COALESCE((SELECT max(version) FROM naive_events WHERE stream = $1::text), -1)
        = $2::bigint - 1
";

/// A baseline, `tasks` tasks each on a connection of its own.
pub(crate) async fn baseline_scenario(
    baseline: Baseline,
    base: &PgTarget,
    seconds: Duration,
    quota: u64,
    tasks: u64,
) -> Row {
    let schema = Schema::create(base).await;
    schema
        .client()
        .await
        .batch_execute(baseline.schema())
        .await
        .expect("the baseline's schema");
    let started = Instant::now();
    let deadline = started + seconds;
    let mut handles = Vec::new();
    for task in 0..tasks {
        let client = schema.client().await;
        handles.push(tokio::spawn(baseline_task(
            baseline, client, task, deadline, quota,
        )));
    }
    let (events, latency) = join_runs(handles).await;
    let elapsed = started.elapsed();
    schema.finish().await;
    Row::new(baseline.name().to_owned(), tasks, events, elapsed).with_latency(&latency)
}

async fn baseline_task(
    baseline: Baseline,
    client: tokio_postgres::Client,
    task: u64,
    deadline: Instant,
    quota: u64,
) -> TaskRun {
    let statement = client
        .prepare(baseline.append())
        .await
        .expect("prepare the baseline's append");
    let mut rng = StdRng::seed_from_u64(task);
    let mut streams = OwnStreams::new(format!("t{task}"));
    let mut latency: Histogram<u64> = latency_histogram();
    let mut events = 0;
    for _ in 0..quota {
        if Instant::now() >= deadline {
            break;
        }
        let (stream, expected) = streams.next();
        let version = match expected {
            complaintflow_log::ExpectedVersion::Exact(v) => v as i64 + 1,
            _ => 0,
        };
        let event = complaint_events(&mut rng, stream, 1).remove(0);
        let started = Instant::now();
        match baseline {
            Baseline::MessageDb => {
                let id = event.event_id.to_string();
                let data = std::str::from_utf8(&event.payload).expect("the bench's JSON");
                let correlation = event.correlation_id.unwrap_or_default();
                let metadata = format!(
                    r#"{{"correlationId":"{correlation}","actor":"{}","schemaVersion":{}}}"#,
                    event.actor, event.schema_version
                );
                let row = client
                    .query_one(
                        &statement,
                        &[
                            &id,
                            &stream.as_str(),
                            &event.event_type,
                            &data,
                            &metadata,
                            &(version - 1),
                        ],
                    )
                    .await
                    .expect("write_message");
                let position: i64 = row.get(0);
                assert_eq!(
                    position, version,
                    "a task's own streams are at the expected version"
                );
            }
            Baseline::PerStreamLock => {
                let inserted = client
                    .execute(
                        &statement,
                        &[
                            &stream.as_str(),
                            &version,
                            &event.event_id,
                            &event.event_type,
                            &event.payload,
                        ],
                    )
                    .await
                    .expect("the baseline's append");
                assert_eq!(
                    inserted, 1,
                    "the version check passes for a task's own streams"
                );
            }
        }
        record_micros(&mut latency, started);
        events += 1;
        streams.appended(version as u64);
    }
    TaskRun { events, latency }
}
