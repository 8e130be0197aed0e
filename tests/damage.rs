//! A damaged data directory never looks intact, and never makes a command panic.
//!
//! The store keeps its own record of how far the log reached (`events/acknowledged`), so
//! a log that comes back shorter than what was acknowledged, or that is another log, is
//! found at open and by `verify`, which names what is missing; `serve` refuses to start
//! on it unless the operator accepts the loss, which is recorded. A read-model snapshot
//! ahead of the log, or built from another log, is set aside and the models rebuilt.
//!
//! The damage corpus flips, rewrites and truncates bytes across every file of a small
//! data directory and runs the read-only commands on each copy: none may panic, and none
//! may call the log intact with fewer events than were acknowledged.
//!
//! `COMPLAINTFLOW_DAMAGE_SEED=<u64>` replays the corpus of a failed run.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test or benchmark stops at the first surprise"
)]
#![cfg(unix)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use complaintflow_domain::Role;
use complaintflow_domain::testkit::{apologized, filing};
use complaintflow_log::clock::ManualClock;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use support::World;
use support::cli::{run, text};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create copy");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy file");
        }
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// A data directory with `complaints` complaints, closed cleanly; returns how many events
/// its log acknowledged.
async fn small_data_dir(dir: &Path, complaints: usize, first: usize) -> u64 {
    let (world, head) = filled_world(dir, complaints, first).await;
    world.stop().await;
    head
}

async fn filled_world(dir: &Path, complaints: usize, first: usize) -> (World, u64) {
    let world = World::open(dir, ManualClock::new(support::at("2026-03-02T02:00:00Z")))
        .ids_from(first as u64 * 10 + 1);
    for n in first..first + complaints {
        let id = format!("CMP-DMG-{n:04}");
        world.ok(world
            .submit(Role::DealerStaff, &id, filing(&id, |_| {}))
            .await);
        world.ok(world.submit(Role::DealerStaff, &id, apologized()).await);
    }
    let head = complaintflow_log::LogReader::head(world.store.as_ref());
    (world, head)
}

/// A log written in two steps: `early` is a copy of it after the first, `late` the
/// whole of it. Returns both and how many events each acknowledged.
async fn early_and_late(temp: &Path, complaints: usize) -> (PathBuf, PathBuf, u64, u64) {
    let (early, late) = (temp.join("early"), temp.join("late"));
    let acknowledged_early = small_data_dir(&early, complaints, 0).await;
    copy_dir(&early, &late);
    let acknowledged_late = small_data_dir(&late, complaints, 100).await;
    (early, late, acknowledged_early, acknowledged_late)
}

/// Puts the record of what `from` acknowledged into `to`, as if `to`'s log had come
/// back other than it was.
fn give_record(from: &Path, to: &Path) {
    std::fs::copy(
        from.join("events/acknowledged"),
        to.join("events/acknowledged"),
    )
    .expect("copy the record");
}

/// `dir`'s log with `models`' read models, opened as the server starts: the read models
/// catch up first. Returns the world and the complaints its read models list.
async fn with_read_models_of(dir: &Path, models: &Path) -> (World, Vec<String>) {
    std::fs::remove_dir_all(dir.join("projections")).expect("remove read models");
    copy_dir(&models.join("projections"), &dir.join("projections"));
    let world = World::open_caught_up(dir, ManualClock::new(support::at("2026-03-03T02:00:00Z")))
        .await
        .ids_from(100_000);
    let ids = world
        .projections
        .complaint_ids()
        .map(|id| id.expect("a complaint id").to_string())
        .collect();
    (world, ids)
}

/// What `verify` says of a directory: `Some(n)` when it calls the log intact with `n`
/// events.
fn verify_says(dir: &Path) -> (Option<u64>, Output) {
    let output = run(&["verify", "--data-dir", dir.to_str().expect("utf-8 path")]);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let intact = stdout
        .lines()
        .find_map(|line| line.strip_prefix("intact: "))
        .and_then(|rest| rest.split_whitespace().next())
        .map(|n| n.parse().expect("a count"));
    (intact, output)
}

fn assert_no_panic(output: &Output, what: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.code() != Some(101) && !stderr.contains("panicked at"),
        "{what} panicked:\n{}",
        text(output)
    );
    assert!(
        output.status.code().is_some(),
        "{what} died of a signal:\n{}",
        text(output)
    );
}

/// A failure must say what it is about: `error:` and the file or position.
fn assert_located_failure(output: &Output, what: &str) {
    let all = text(output);
    assert!(
        all.contains("error:") || all.contains("BROKEN"),
        "{what} failed without an error line:\n{all}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_log_shorter_than_acknowledged_is_found_and_serve_refuses_it() {
    let temp = tempfile::tempdir().unwrap();
    let (early, late, acknowledged_early, acknowledged) = early_and_late(temp.path(), 5).await;
    assert!(acknowledged > acknowledged_early);

    // The log comes back as it was earlier, as sled's recovery leaves it after damage,
    // while the record of what was acknowledged stays.
    let damaged = temp.path().join("damaged");
    copy_dir(&early, &damaged);
    give_record(&late, &damaged);

    let (intact, output) = verify_says(&damaged);
    assert_eq!(intact, None, "a shortened log verified:\n{}", text(&output));
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let missing = format!(
        "positions {acknowledged_early}..{} are missing",
        acknowledged - 1
    );
    assert!(
        String::from_utf8_lossy(&output.stdout).contains(&missing),
        "verify does not name the missing range {missing}:\n{}",
        text(&output)
    );
    for command in ["digest", "export", "rebuild"] {
        let output = run(&[command, "--data-dir", damaged.to_str().unwrap()]);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{command}: {}",
            text(&output)
        );
        assert!(
            text(&output).contains(&missing),
            "{command}: {}",
            text(&output)
        );
    }

    let serve = run(&[
        "serve",
        "--data-dir",
        damaged.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--no-metrics",
    ]);
    assert_eq!(serve.status.code(), Some(2), "{}", text(&serve));
    assert!(text(&serve).contains(&missing), "{}", text(&serve));
    assert!(
        text(&serve).contains("--accept-log-loss"),
        "{}",
        text(&serve)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn another_log_of_the_same_length_is_found() {
    let temp = tempfile::tempdir().unwrap();
    let (one, other) = (temp.path().join("one"), temp.path().join("other"));
    let events = small_data_dir(&one, 4, 0).await;
    assert_eq!(small_data_dir(&other, 4, 50).await, events);
    give_record(&other, &one);

    let (intact, output) = verify_says(&one);
    assert_eq!(intact, None, "{}", text(&output));
    assert!(
        text(&output).contains("is not the one acknowledged there"),
        "{}",
        text(&output)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_accepted_loss_is_recorded_and_the_log_goes_on() {
    let temp = tempfile::tempdir().unwrap();
    let (early, late, acknowledged_early, _) = early_and_late(temp.path(), 3).await;
    give_record(&late, &early);

    // The operator's override, through the library as `serve --accept-log-loss` does it.
    let options = complaintflow_store_sled::SledOptions {
        accept_log_loss: true,
        ..Default::default()
    };
    let store = complaintflow_store_sled::SledStore::open(early.join("events"), options).unwrap();
    assert_eq!(complaintflow_log::LogReader::known_loss(&store), None);
    store.close().await.unwrap();
    drop(store);

    let overrides = std::fs::read_to_string(early.join("events/overrides.log")).unwrap();
    assert!(overrides.contains("are missing"), "{overrides}");
    let (intact, output) = verify_says(&early);
    assert_eq!(intact, Some(acknowledged_early), "{}", text(&output));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("note: an operator accepted a loss"),
        "verify does not mention the override:\n{}",
        text(&output)
    );
    // And appends go on from the log's end.
    let world = World::open(
        &early,
        ManualClock::new(support::at("2026-03-03T02:00:00Z")),
    )
    .ids_from(100_000);
    world.ok(world
        .submit(
            Role::DealerStaff,
            "CMP-DMG-0999",
            filing("CMP-DMG-0999", |_| {}),
        )
        .await);
    world.stop().await;
    let (intact, output) = verify_says(&early);
    assert_eq!(intact, Some(acknowledged_early + 1), "{}", text(&output));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_snapshot_ahead_of_the_log_is_set_aside_and_rebuilt() {
    let temp = tempfile::tempdir().unwrap();
    let (early, late, acknowledged_early, _) = early_and_late(temp.path(), 3).await;
    // The log as it was early, with the read models of the later log.
    let (world, ids) = with_read_models_of(&early, &late).await;
    assert_eq!(world.projections.checkpoint(), acknowledged_early);
    assert_eq!(
        ids.len(),
        3,
        "complaints that are not in the log are listed: {ids:?}"
    );
    assert!(ids.iter().all(|id| !id.contains("CMP-DMG-01")), "{ids:?}");
    // New events at the positions the snapshot claimed are projected.
    world.ok(world
        .submit(
            Role::DealerStaff,
            "CMP-DMG-0777",
            filing("CMP-DMG-0777", |_| {}),
        )
        .await);
    world.record("CMP-DMG-0777").await;
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_snapshot_of_another_log_is_set_aside_and_rebuilt() {
    let temp = tempfile::tempdir().unwrap();
    let (one, other) = (temp.path().join("one"), temp.path().join("other"));
    small_data_dir(&one, 3, 0).await;
    small_data_dir(&other, 3, 50).await;
    let (world, ids) = with_read_models_of(&one, &other).await;
    assert_eq!(
        ids,
        ["CMP-DMG-0000", "CMP-DMG-0001", "CMP-DMG-0002"],
        "the read models are another log's"
    );
    world.stop().await;
}

#[test]
fn read_only_commands_refuse_a_path_that_is_not_a_data_directory() {
    let temp = tempfile::tempdir().unwrap();
    let typo = temp.path().join("dtaa");
    for command in ["verify", "digest", "export", "rebuild"] {
        let output = run(&[command, "--data-dir", typo.to_str().unwrap()]);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{command}: {}",
            text(&output)
        );
        assert!(
            text(&output).contains("is not a complaintflow data directory"),
            "{command}: {}",
            text(&output)
        );
        assert!(!typo.exists(), "{command} created {}", typo.display());
    }
}

/// One way to damage a file.
#[derive(Debug, Clone, Copy)]
enum Damage {
    /// XOR one byte at this offset.
    Flip(u64),
    /// Overwrite six bytes from this offset.
    Rewrite(u64),
    /// Keep this per-mille of the file.
    Truncate(u64),
}

fn apply(file: &Path, damage: Damage, rng: &mut StdRng) {
    let mut bytes = std::fs::read(file).expect("read file");
    match damage {
        Damage::Flip(at) => bytes[at as usize] ^= rng.random_range(1..=255u8),
        Damage::Rewrite(at) => {
            let end = (at as usize + 6).min(bytes.len());
            for byte in &mut bytes[at as usize..end] {
                *byte = rng.random();
            }
        }
        Damage::Truncate(per_mille) => bytes.truncate(bytes.len() * per_mille as usize / 1000),
    }
    std::fs::write(file, bytes).expect("write damaged file");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_damage_panics_or_passes_for_intact() {
    let seed = std::env::var("COMPLAINTFLOW_DAMAGE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0xDA_3A6E_2026u64);
    eprintln!("damage corpus seed {seed} (COMPLAINTFLOW_DAMAGE_SEED replays it)");
    let mut rng = StdRng::seed_from_u64(seed);

    let temp = tempfile::tempdir().unwrap();
    if std::env::var_os("COMPLAINTFLOW_DAMAGE_SHOW").is_some() {
        eprintln!("damaged copies under {}", temp.path().display());
    }
    // Left as a crash leaves it: what sled flushed for the acknowledged appends, without
    // the clean close's snapshot of its page table.
    let running = temp.path().join("running");
    let (world, acknowledged) = filled_world(&running, 1500, 0).await;
    let pristine = temp.path().join("pristine");
    copy_dir(&running, &pristine);
    std::mem::forget(world);
    let (intact, output) = verify_says(&pristine);
    assert_eq!(intact, Some(acknowledged), "{}", text(&output));

    let mut cases = Vec::new();
    for file in files_under(&pristine) {
        let len = std::fs::metadata(&file).unwrap().len();
        for per_mille in [0, 500, 900, 980] {
            cases.push((file.clone(), Damage::Truncate(per_mille)));
        }
        if len == 0 {
            continue;
        }
        // The log gets most of the damage: it is most of the bytes. Damage lands where
        // something was written: sled's files are mostly zeroes reserved ahead.
        let written: Vec<u64> = std::fs::read(&file)
            .unwrap()
            .iter()
            .zip(0..)
            .filter_map(|(byte, at)| (*byte != 0).then_some(at))
            .collect();
        let count = if file.ends_with("events/db") { 200 } else { 16 };
        for n in 0..count {
            let at = if written.is_empty() {
                rng.random_range(0..len)
            } else {
                written[rng.random_range(0..written.len())]
            };
            cases.push((
                file.clone(),
                if n % 2 == 0 {
                    Damage::Flip(at)
                } else {
                    Damage::Rewrite(at)
                },
            ));
        }
    }
    assert!(cases.len() >= 200, "only {} damages", cases.len());

    let mut outcomes = std::collections::BTreeMap::<&str, u32>::new();
    for (n, (file, damage)) in cases.iter().enumerate() {
        let copy = temp.path().join(format!("case-{n}"));
        copy_dir(&pristine, &copy);
        let target = copy.join(file.strip_prefix(&pristine).unwrap());
        apply(&target, *damage, &mut rng);
        let what = format!("verify after {damage:?} of {}", target.display());

        let (intact, output) = verify_says(&copy);
        assert_no_panic(&output, &what);
        if let Some(events) = intact {
            assert_eq!(
                events,
                acknowledged,
                "{what} called a log with {events} of {acknowledged} acknowledged events intact:\n{}",
                text(&output)
            );
            *outcomes.entry("intact").or_default() += 1;
        } else {
            assert!(!output.status.success(), "{what}: {}", text(&output));
            assert_located_failure(&output, &what);
            let all = text(&output);
            let kind = if all.contains("are missing") {
                "found: log shorter than acknowledged"
            } else if all.contains("the storage engine cannot read") {
                "found: the storage engine cannot read it"
            } else if all.contains("BROKEN") {
                "found: broken chain"
            } else {
                if std::env::var_os("COMPLAINTFLOW_DAMAGE_SHOW").is_some() {
                    eprintln!("{what}: {all}");
                }
                "found: other error"
            };
            *outcomes.entry(kind).or_default() += 1;
        }
        // Every fourth case also goes through the other read-only commands.
        if n % 4 == 0 {
            for command in ["digest", "export"] {
                let output = run(&[command, "--data-dir", copy.to_str().unwrap()]);
                assert_no_panic(
                    &output,
                    &format!("{command} after {damage:?} of {}", target.display()),
                );
                if !output.status.success() {
                    assert_located_failure(&output, command);
                }
            }
        }
        std::fs::remove_dir_all(&copy).unwrap();
    }
    eprintln!("{} damages: {outcomes:?}", cases.len());
}
