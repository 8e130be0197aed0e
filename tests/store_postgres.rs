//! What only the PostgreSQL store has: several nodes on one database, tampering by SQL,
//! schema versions, the grants of an application role. Needs
//! `COMPLAINTFLOW_TEST_POSTGRES` (see `scripts/postgres.sh`); skipped without it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test or benchmark stops at the first surprise"
)]

mod conformance;
#[allow(unused_macros)]
#[macro_use]
mod store_suite;

use complaintflow_log::LogReader;
use complaintflow_server::node::DataDir;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use complaintflow_log::verify::{BreakKind, DigestCheck, check_digest, take_digest, verify_log};
use complaintflow_log::{Direction, EventSlot, EventStore, ExpectedVersion, LogLoss, StoreError};
use complaintflow_store_postgres::{PgStore, SCHEMA_VERSION};
use conformance::{events, stream};
use store_suite::postgres::{Schema, options};
use uuid::Uuid;

fn clock() -> complaintflow_log::clock::ManualClock {
    store_suite::start_clock()
}

/// Three nodes append at once, while transactions that take the head's lock, write a row
/// and roll back come in between, and a follower reads the log from position 0 as its
/// head moves: it sees every acknowledged event exactly once, in order, with no gap, and
/// nothing that was rolled back.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_append_at_once_and_a_follower_sees_every_event_once_in_order() {
    let Some(schema) = Schema::create().await else {
        return;
    };
    let clock = clock();
    let mut nodes = Vec::new();
    for _ in 0..3 {
        nodes.push(Arc::new(schema.store(&clock).await));
    }
    let follower = Arc::new(schema.store(&clock).await);
    let done = Arc::new(AtomicBool::new(false));

    let rollbacks = Arc::new(AtomicU64::new(0));
    let saboteur = {
        let client = schema.client().await.unwrap();
        let (done, rollbacks) = (done.clone(), rollbacks.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::SeqCst) {
                client.batch_execute("BEGIN").await.unwrap();
                let head: i64 = client
                    .query_one(
                        "SELECT next_position FROM complaintflow_head FOR UPDATE",
                        &[],
                    )
                    .await
                    .unwrap()
                    .get(0);
                client
                    .execute(
                        "INSERT INTO complaintflow_events (position, stream, version, event_id, \
                         event_type, schema_version, occurred_at_us, recorded_at_us, actor, \
                         payload, content_hash, hash) VALUES ($1, 'rolled-back', 0, $2, 'x', 1, \
                         0, 0, 'x', '', '', '')",
                        &[&head, &Uuid::new_v4()],
                    )
                    .await
                    .unwrap();
                tokio::task::yield_now().await;
                client.batch_execute("ROLLBACK").await.unwrap();
                rollbacks.fetch_add(1, Ordering::SeqCst);
            }
        })
    };

    let reader = {
        let (follower, done) = (follower.clone(), done.clone());
        tokio::spawn(async move {
            let mut head = follower.watch_head();
            let mut seen = Vec::new();
            loop {
                let page = follower.read_all(seen.len() as u64, 64).await.unwrap();
                for (expected, event) in (seen.len() as u64..).zip(&page) {
                    assert_eq!(event.position, expected, "a gap or a repeat in the log");
                }
                let caught_up = page.is_empty();
                seen.extend(page);
                if caught_up {
                    if done.load(Ordering::SeqCst) && seen.len() as u64 >= follower.head() {
                        return seen;
                    }
                    // Woken by a commit on any node, or after a while to look again.
                    let _ = tokio::time::timeout(Duration::from_millis(50), head.changed()).await;
                }
            }
        })
    };

    let mut writers = Vec::new();
    for (n, node) in nodes.iter().enumerate() {
        for task in 0..8 {
            let node = node.clone();
            writers.push(tokio::spawn(async move {
                let mut acknowledged = Vec::new();
                for i in 0..20usize {
                    // Streams of their own, and streams every node appends to.
                    let s = if i % 2 == 0 {
                        stream(&format!("C-shared-{}", i % 6))
                    } else {
                        stream(&format!("C-{n}-{task}"))
                    };
                    let batch = events(i % 3 + 1);
                    let outcome = node
                        .append(&s, ExpectedVersion::Any, batch.clone())
                        .await
                        .unwrap();
                    assert!(!outcome.replayed);
                    acknowledged.extend(outcome.slots);
                }
                acknowledged
            }));
        }
    }
    let mut acknowledged: Vec<EventSlot> = Vec::new();
    for writer in writers {
        acknowledged.extend(writer.await.unwrap());
    }
    done.store(true, Ordering::SeqCst);
    saboteur.await.unwrap();
    let seen = reader.await.unwrap();

    let total = acknowledged.len();
    // Of each task's 20 appends, 7 carry one event, 7 two and 6 three.
    assert_eq!(total, 3 * 8 * (7 + 7 * 2 + 6 * 3));
    assert!(
        rollbacks.load(Ordering::SeqCst) > 0,
        "no rollback came in between"
    );
    assert_eq!(seen.len(), total, "the follower saw every event once");
    let by_position: HashMap<u64, &EventSlot> =
        acknowledged.iter().map(|s| (s.position, s)).collect();
    assert_eq!(
        by_position.len(),
        total,
        "two appends got the same position"
    );
    for event in &seen {
        let slot = by_position[&event.position];
        assert_eq!(
            (event.event_id, event.version),
            (slot.event_id, slot.version)
        );
    }
    let ids: HashSet<Uuid> = seen.iter().map(|e| e.event_id).collect();
    assert_eq!(ids.len(), total);
    // Each node hears of the others' last commits by notification, or at its next poll
    // of the head row (200 ms here): within that bound, never at once.
    for node in &nodes {
        let mut head = node.watch_head();
        let reached = tokio::time::timeout(
            Duration::from_secs(5),
            head.wait_for(|head| *head >= total as u64),
        )
        .await;
        assert!(reached.is_ok(), "a node never learned of the last commits");
        assert_eq!(node.head(), total as u64);
    }
    let report = verify_log(follower.as_ref()).await.unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.events_checked, total as u64);

    for node in nodes.iter().chain([&follower]) {
        node.close().await.unwrap();
    }
    drop((nodes, follower));
    schema.drop_schema().await;
}

/// A commit on one node moves the head another node watches, by its notification.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_nodes_commit_moves_the_watched_head() {
    let Some(schema) = Schema::create().await else {
        return;
    };
    let clock = clock();
    let a = schema.store(&clock).await;
    let mut slow = options(&clock);
    // Only the notification can move it within the test's bound.
    slow.head_poll = Duration::from_secs(3600);
    let b = PgStore::connect(schema.target(), slow).await.unwrap();
    let mut head = b.watch_head();
    assert_eq!(*head.borrow_and_update(), 0);
    // The listener may still be connecting: append until a notification arrives.
    let moved = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            a.append(&stream("C-a"), ExpectedVersion::Any, events(1))
                .await
                .unwrap();
            if tokio::time::timeout(Duration::from_millis(500), head.changed())
                .await
                .is_ok()
            {
                return *head.borrow();
            }
        }
    })
    .await
    .expect("the other node's commit was never noticed");
    assert!(moved >= 1);
    a.close().await.unwrap();
    b.close().await.unwrap();
    drop((a, b));
    schema.drop_schema().await;
}

/// A node commits in one round trip from what it remembers of the log (its last head,
/// the streams it wrote) only while no other node appended: each answer here would be
/// wrong if a node's stale memory decided it. Every append still lands exactly where the
/// log says, and the log verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nodes_memory_of_the_log_never_decides_against_the_log() {
    let Some(schema) = Schema::create().await else {
        return;
    };
    let clock = clock();
    let (a, b) = (schema.store(&clock).await, schema.store(&clock).await);
    let s = stream("C-shared");
    let first = a
        .append(&s, ExpectedVersion::NoStream, events(1))
        .await
        .unwrap();
    assert_eq!(first.last_version(), 0);
    // a remembers s at version 0; b moves it to 1.
    b.append(&s, ExpectedVersion::Exact(0), events(1))
        .await
        .unwrap();
    // By a's memory Exact(1) is wrong and Exact(0) right: the log says otherwise.
    let refused = a.append(&s, ExpectedVersion::Exact(0), events(1)).await;
    assert!(
        matches!(
            refused,
            Err(StoreError::WrongExpectedVersion {
                actual: Some(1),
                ..
            })
        ),
        "{refused:?}"
    );
    let third = a
        .append(&s, ExpectedVersion::Exact(1), events(1))
        .await
        .unwrap();
    assert_eq!((third.last_version(), third.slots[0].position), (2, 2));
    // b remembers s at version 1 and the head at 2, both stale now.
    let fourth = b
        .append(&s, ExpectedVersion::Exact(2), events(1))
        .await
        .unwrap();
    assert_eq!((fourth.last_version(), fourth.slots[0].position), (3, 3));
    // A stream a never saw, created by b: NoStream from a is refused.
    let t = stream("C-other");
    b.append(&t, ExpectedVersion::NoStream, events(1))
        .await
        .unwrap();
    let again = a.append(&t, ExpectedVersion::NoStream, events(1)).await;
    assert!(
        matches!(
            again,
            Err(StoreError::WrongExpectedVersion {
                actual: Some(0),
                ..
            })
        ),
        "{again:?}"
    );
    // A retry on the node that remembers the stream is a replay, not a second event.
    let batch = events(2);
    let stored = a
        .append(&t, ExpectedVersion::Exact(0), batch.clone())
        .await
        .unwrap();
    let retried = a
        .append(&t, ExpectedVersion::Exact(0), batch)
        .await
        .unwrap();
    assert!(retried.replayed);
    assert_eq!(retried.slots, stored.slots);
    assert_eq!(a.head(), 7);
    let report = verify_log(&a).await.unwrap();
    assert!(report.first_break.is_none(), "{report:?}");
    assert_eq!(report.events_checked, 7);
    a.close().await.unwrap();
    b.close().await.unwrap();
    drop((a, b));
    schema.drop_schema().await;
}

/// A log of 24 events over 4 streams, then `tamper` run by the superuser with triggers
/// off (as someone bypassing the application would), then a store opened afresh.
async fn tampered(tamper: &str) -> Option<(Schema, PgStore, complaintflow_log::Digest)> {
    let schema = Schema::create().await?;
    let clock = clock();
    let store = schema.store(&clock).await;
    for i in 0..4 {
        for _ in 0..3 {
            store
                .append(&stream(&format!("C-{i}")), ExpectedVersion::Any, events(2))
                .await
                .unwrap();
        }
    }
    let digest = take_digest(&store).await.unwrap().unwrap();
    assert!(verify_log(&store).await.unwrap().is_intact());
    store.close().await.unwrap();
    drop(store);
    schema
        .sql(&format!(
            "SET session_replication_role = replica; {tamper}; SET session_replication_role = origin"
        ))
        .await
        .unwrap();
    let store = schema.store(&clock).await;
    Some((schema, store, digest))
}

async fn first_break(store: &PgStore) -> complaintflow_log::verify::BrokenLink {
    verify_log(store)
        .await
        .unwrap()
        .first_break
        .expect("tampering detected")
}

#[tokio::test]
async fn an_updated_payload_is_found_and_located() {
    let Some((schema, store, digest)) =
        tampered("UPDATE complaintflow_events SET payload = 'P' || payload WHERE position = 5")
            .await
    else {
        return;
    };
    let broken = first_break(&store).await;
    assert_eq!(
        (broken.position, &broken.kind),
        (5, &BreakKind::ContentAltered)
    );
    assert!(
        matches!(check_digest(&store, &digest).await.unwrap(), DigestCheck::Broken(b) if b.position == 5)
    );
    store.close().await.unwrap();
    drop(store);
    schema.drop_schema().await;
}

#[tokio::test]
async fn an_updated_hash_breaks_the_chain_there() {
    let Some((schema, store, _)) =
        tampered("UPDATE complaintflow_events SET hash = sha256(hash) WHERE position = 3").await
    else {
        return;
    };
    let broken = first_break(&store).await;
    assert_eq!((broken.position, broken.kind), (3, BreakKind::ChainBroken));
    store.close().await.unwrap();
    drop(store);
    schema.drop_schema().await;
}

#[tokio::test]
async fn a_deleted_row_is_a_gap() {
    let Some((schema, store, _)) =
        tampered("DELETE FROM complaintflow_events WHERE position = 7").await
    else {
        return;
    };
    let broken = first_break(&store).await;
    assert_eq!(broken.position, 7);
    assert_eq!(
        broken.kind,
        BreakKind::PositionOutOfOrder {
            expected: 7,
            found: 8
        }
    );
    store.close().await.unwrap();
    drop(store);
    schema.drop_schema().await;
}

#[tokio::test]
async fn reordered_positions_are_found_where_they_were_swapped() {
    let Some((schema, store, _)) = tampered(
        "UPDATE complaintflow_events SET position = 1000 WHERE position = 2; \
         UPDATE complaintflow_events SET position = 2 WHERE position = 9; \
         UPDATE complaintflow_events SET position = 9 WHERE position = 1000",
    )
    .await
    else {
        return;
    };
    let broken = first_break(&store).await;
    assert_eq!(broken.position, 2, "{broken}");
    assert!(
        matches!(
            broken.kind,
            BreakKind::VersionOutOfOrder { .. } | BreakKind::ChainBroken
        ),
        "{broken}"
    );
    store.close().await.unwrap();
    drop(store);
    schema.drop_schema().await;
}

#[tokio::test]
async fn rows_removed_from_the_end_are_a_loss_and_appends_are_refused() {
    let Some((schema, store, digest)) =
        tampered("DELETE FROM complaintflow_events WHERE position >= 22").await
    else {
        return;
    };
    assert_eq!(
        store.known_loss(),
        Some(LogLoss::Truncated {
            found: 22,
            acknowledged: 24
        })
    );
    assert_eq!(first_break(&store).await.position, 22);
    assert!(matches!(
        check_digest(&store, &digest).await.unwrap(),
        DigestCheck::Broken(_)
    ));
    assert!(matches!(
        store
            .append(&stream("C-0"), ExpectedVersion::Any, events(1))
            .await,
        Err(StoreError::Unavailable(_))
    ));
    store.close().await.unwrap();
    drop(store);
    schema.drop_schema().await;
}

#[tokio::test]
async fn the_log_refuses_updates_and_deletes_even_from_its_owner() {
    let Some(schema) = Schema::create().await else {
        return;
    };
    let store = schema.store(&clock()).await;
    store
        .append(&stream("C-1"), ExpectedVersion::Any, events(2))
        .await
        .unwrap();
    for statement in [
        "UPDATE complaintflow_events SET payload = ''",
        "DELETE FROM complaintflow_events",
        "TRUNCATE complaintflow_events",
    ] {
        let err = schema.sql(statement).await.unwrap_err();
        assert!(
            format!("{err:?}").contains("append-only"),
            "{statement}: {err:?}"
        );
    }
    assert!(verify_log(&store).await.unwrap().is_intact());
    store.close().await.unwrap();
    drop(store);
    schema.drop_schema().await;
}

#[tokio::test]
async fn a_database_of_a_newer_schema_is_refused() {
    let Some(schema) = Schema::create().await else {
        return;
    };
    schema.store(&clock()).await.close().await.unwrap();
    schema
        .sql(&format!(
            "INSERT INTO complaintflow_schema (version) VALUES ({})",
            SCHEMA_VERSION + 1
        ))
        .await
        .unwrap();
    let err = PgStore::connect(schema.target(), options(&clock()))
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("newer than this build"), "{message}");
    schema.drop_schema().await;
}

/// A log written under schema 1 (streams in the database's collation) is brought to the
/// current schema at start, and keeps every event, its hashes and its stream lookups.
#[tokio::test]
async fn a_database_of_an_older_schema_is_migrated_and_keeps_its_log() {
    let Some(schema) = Schema::create().await else {
        return;
    };
    let clock = clock();
    let store = schema.store(&clock).await;
    for n in 0..3 {
        store
            .append(
                &stream(&format!("C-old-{n}")),
                ExpectedVersion::NoStream,
                events(4),
            )
            .await
            .unwrap();
    }
    store.close().await.unwrap();
    drop(store);
    // Back to schema 1 as it was written: the database's default collation.
    schema
        .sql(
            "ALTER TABLE complaintflow_events ALTER COLUMN stream TYPE text COLLATE \"default\"; \
             DELETE FROM complaintflow_schema WHERE version > 1",
        )
        .await
        .unwrap();

    let store = schema.store(&clock).await;
    let client = schema.client().await.unwrap();
    let version: i32 = client
        .query_one("SELECT max(version) FROM complaintflow_schema", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(version, SCHEMA_VERSION);
    let collation: String = client
        .query_one(
            "SELECT collation_name FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = 'complaintflow_events' \
             AND column_name = 'stream'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(collation, "C");
    assert!(verify_log(&store).await.unwrap().is_intact());
    let read = store
        .read_stream(&stream("C-old-1"), 0, Direction::Forwards, 100)
        .await
        .unwrap();
    assert_eq!(read.len(), 4);
    store
        .append(&stream("C-old-1"), ExpectedVersion::Exact(3), events(1))
        .await
        .unwrap();
    store.close().await.unwrap();
    drop(store);
    schema.drop_schema().await;
}

/// The grants the README documents are enough to run, and never allow rewriting the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_role_appends_and_reads_but_cannot_rewrite() {
    let Some(schema) = Schema::create().await else {
        return;
    };
    let clock = clock();
    // The owner migrates.
    schema.store(&clock).await.close().await.unwrap();
    let role = format!("cf_app_{}", &Uuid::new_v4().simple().to_string()[..12]);
    let s = &schema.name;
    schema
        .sql(&format!(
            "CREATE ROLE {role} LOGIN; \
             GRANT USAGE ON SCHEMA {s} TO {role}; \
             GRANT SELECT ON complaintflow_schema TO {role}; \
             GRANT SELECT, INSERT ON complaintflow_events TO {role}; \
             GRANT SELECT, UPDATE ON complaintflow_head TO {role};"
        ))
        .await
        .unwrap();
    let app = PgStore::connect(schema.target_as(&role), options(&clock))
        .await
        .unwrap();
    let batch = events(3);
    let first = app
        .append(&stream("C-app"), ExpectedVersion::NoStream, batch.clone())
        .await
        .unwrap();
    let retry = app
        .append(&stream("C-app"), ExpectedVersion::NoStream, batch)
        .await
        .unwrap();
    assert!(retry.replayed);
    assert_eq!(retry.slots, first.slots);
    assert!(verify_log(&app).await.unwrap().is_intact());
    app.close().await.unwrap();
    drop(app);

    let client = store_suite::postgres::plain(schema.target_as(&role).config)
        .await
        .unwrap();
    for statement in [
        "UPDATE complaintflow_events SET payload = ''",
        "DELETE FROM complaintflow_events",
        "TRUNCATE complaintflow_events",
        "DROP TABLE complaintflow_events",
    ] {
        let err = client.batch_execute(statement).await.unwrap_err();
        let denied = err
            .as_db_error()
            .map(|e| e.code() == &tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE);
        assert_eq!(denied, Some(true), "{statement}: {err:?}");
    }
    drop(client);
    schema
        .sql(&format!("DROP OWNED BY {role}; DROP ROLE {role}"))
        .await
        .unwrap();
    schema.drop_schema().await;
}

/// The URL of a schema, as an operator would pass it to `--store`.
fn url_of(schema: &Schema) -> String {
    let base = store_suite::postgres::base_url().expect("a test database");
    let separator = if base.contains('?') { '&' } else { '?' };
    format!(
        "{base}{separator}options=-c%20search_path%3D{}",
        schema.name
    )
}

fn complaintflow(args: &[&str], data_dir: &std::path::Path) -> (i32, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_complaintflow"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("COMPLAINTFLOW_STORE")
        .output()
        .expect("run complaintflow");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().unwrap_or(-1), text)
}

/// `verify` and `digest` read the log in PostgreSQL with `--store`, and give the answers
/// the embedded store gives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_and_digest_take_the_store_from_the_command_line() {
    let Some(schema) = Schema::create().await else {
        return;
    };
    let store = schema.store(&clock()).await;
    for i in 0..3 {
        store
            .append(&stream(&format!("C-{i}")), ExpectedVersion::Any, events(2))
            .await
            .unwrap();
    }
    let digest = take_digest(&store).await.unwrap().unwrap();
    store.close().await.unwrap();
    drop(store);
    let url = url_of(&schema);
    let dir = tempfile::tempdir().unwrap();
    let (code, out) = complaintflow(&["verify", "--store", &url], dir.path());
    assert_eq!(
        (code, out.contains("intact: 6 events verified")),
        (0, true),
        "{out}"
    );
    let (code, out) = complaintflow(&["digest", "--store", &url], dir.path());
    assert_eq!(
        (code, out.trim()),
        (0, digest.to_string().as_str()),
        "{out}"
    );
    let (code, out) = complaintflow(
        &["digest", "--store", &url, "--check", &digest.to_string()],
        dir.path(),
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        !DataDir::new(dir.path()).events().exists(),
        "no embedded log is made"
    );
    schema
        .sql(
            "SET session_replication_role = replica; \
             UPDATE complaintflow_events SET payload = 'x' WHERE position = 4",
        )
        .await
        .unwrap();
    let (code, out) = complaintflow(&["verify", "--store", &url], dir.path());
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("BROKEN after 4 good events: position 4"),
        "{out}"
    );
    schema.drop_schema().await;
}

/// With `sslmode=require` the store speaks TLS, and trusts the server's certificate only
/// through the roots it was given (`sslrootcert`) or the system's. Needs a test cluster
/// with TLS (scripts/postgres.sh makes one when openssl is there).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_is_used_when_asked_and_the_certificate_is_verified() {
    let Some(schema) = Schema::create().await else {
        return;
    };
    let target = schema.target();
    if target.root_cert.is_none() {
        eprintln!("skipped: the test database's URL has no sslrootcert (no TLS)");
        schema.drop_schema().await;
        return;
    }
    let mut named = target.clone();
    named.config.application_name("complaintflow-tls-test");
    let store = PgStore::connect(named, options(&clock())).await.unwrap();
    store
        .append(&stream("C-tls"), ExpectedVersion::Any, events(1))
        .await
        .unwrap();
    let client = schema.client().await.unwrap();
    let (encrypted, plain): (i64, i64) = client
        .query_one(
            "SELECT count(*) FILTER (WHERE ssl), count(*) FILTER (WHERE NOT ssl) \
             FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) \
             WHERE application_name = 'complaintflow-tls-test'",
            &[],
        )
        .await
        .map(|row| (row.get(0), row.get(1)))
        .unwrap();
    assert!(
        encrypted > 0 && plain == 0,
        "{encrypted} with TLS, {plain} without"
    );
    store.close().await.unwrap();
    drop(store);
    let mut untrusted = target;
    untrusted.root_cert = None;
    let err = PgStore::connect(untrusted, options(&clock()))
        .await
        .expect_err("a certificate of an unknown CA is refused");
    assert!(
        err.to_string().contains("certificate") || err.to_string().contains("Unknown"),
        "{err}"
    );
    schema.drop_schema().await;
}

/// Closing the store ends its subscriptions, as the embedded store's close does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_the_store_ends_its_subscriptions() {
    use futures::StreamExt;
    let Some(schema) = Schema::create().await else {
        return;
    };
    let store: Arc<PgStore> = Arc::new(schema.store(&clock()).await);
    store
        .append(&stream("C-sub"), ExpectedVersion::Any, events(2))
        .await
        .unwrap();
    let mut subscription = complaintflow_log::subscription::subscribe(store.clone(), 0);
    for _ in 0..2 {
        subscription.next().await.unwrap().unwrap();
    }
    store.close().await.unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(20), subscription.next())
        .await
        .expect("the subscription outlived its store");
    assert!(ended.is_none());
    drop(store);
    schema.drop_schema().await;
}
