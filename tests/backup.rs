//! `backup`, `restore` and `copy` on a demo data directory: the restored log is the same
//! log (same digest, every event verbatim), and a damaged, cut-short or misdirected
//! archive is refused with a located error.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test or benchmark stops at the first surprise"
)]

mod support;

use std::path::Path;

use support::cli::{run, text};

fn ok(args: &[&str]) -> String {
    let output = run(args);
    assert!(output.status.success(), "{args:?}: {}", text(&output));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn fails(args: &[&str]) -> String {
    let output = run(args);
    assert!(
        !output.status.success(),
        "{args:?} should fail: {}",
        text(&output)
    );
    text(&output)
}

fn digest(dir: &Path) -> String {
    ok(&["digest", "--data-dir", dir.to_str().unwrap()])
        .split_whitespace()
        .find(|word| word.contains(':') && word.len() > 64)
        .expect("a digest in the output")
        .to_owned()
}

fn demo(dir: &Path) {
    ok(&[
        "demo",
        "--data-dir",
        dir.to_str().unwrap(),
        "--complaints",
        "40",
    ]);
}

#[test]
fn a_backup_restores_and_copies_to_the_same_log() {
    let tmp = tempfile::tempdir().unwrap();
    let source = tmp.path().join("source");
    demo(&source);
    let original = digest(&source);

    let archive = tmp.path().join("log.cfarc");
    let said = ok(&[
        "backup",
        "--data-dir",
        source.to_str().unwrap(),
        "--out",
        archive.to_str().unwrap(),
    ]);
    assert!(said.contains(&original), "backup names the digest: {said}");

    let restored = tmp.path().join("restored");
    ok(&[
        "restore",
        "--from",
        archive.to_str().unwrap(),
        "--data-dir",
        restored.to_str().unwrap(),
    ]);
    assert_eq!(digest(&restored), original);
    assert!(ok(&["verify", "--data-dir", restored.to_str().unwrap()]).starts_with("intact"));

    let copied = tmp.path().join("copied");
    ok(&[
        "copy",
        "--from",
        source.to_str().unwrap(),
        "--to",
        copied.to_str().unwrap(),
    ]);
    assert_eq!(digest(&copied), original);

    // The export of every timeline is byte for byte the same.
    let export = |dir: &Path| ok(&["export", "--data-dir", dir.to_str().unwrap()]);
    assert_eq!(export(&restored), export(&source));

    // Only into an empty store.
    let refused = fails(&[
        "restore",
        "--from",
        archive.to_str().unwrap(),
        "--data-dir",
        restored.to_str().unwrap(),
    ]);
    assert!(refused.contains("already holds"), "{refused}");
}

#[test]
fn a_damaged_or_cut_archive_is_refused_and_located() {
    let tmp = tempfile::tempdir().unwrap();
    let source = tmp.path().join("source");
    demo(&source);
    let archive = tmp.path().join("log.cfarc");
    ok(&[
        "backup",
        "--data-dir",
        source.to_str().unwrap(),
        "--out",
        archive.to_str().unwrap(),
    ]);
    let bytes = std::fs::read(&archive).unwrap();

    let restore = |name: &str, content: &[u8]| {
        let file = tmp.path().join(format!("{name}.cfarc"));
        std::fs::write(&file, content).unwrap();
        fails(&[
            "restore",
            "--from",
            file.to_str().unwrap(),
            "--data-dir",
            tmp.path().join(name).to_str().unwrap(),
        ])
    };

    let cut = restore("cut", &bytes[..bytes.len() * 2 / 3]);
    assert!(cut.contains("incomplete"), "{cut}");

    // A byte of a payload in the middle: the event decodes, but its hash is not the one
    // the store computes for it.
    let mut flipped = bytes.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x40;
    let damaged = restore("flipped", &flipped);
    assert!(
        damaged.contains("position") || damaged.contains("damaged"),
        "{damaged}"
    );

    let wrong = restore("wrong", b"not an archive at all");
    assert!(wrong.contains("not a complaintflow log archive"), "{wrong}");
}

/// `export` writes timelines for people and other systems; `import` takes a dealer
/// system's back-fill through every rule, so the engine's own events in an export are
/// refused. A failed import says exactly which lines went in.
#[test]
fn an_import_that_fails_says_what_went_in() {
    let tmp = tempfile::tempdir().unwrap();
    let source = tmp.path().join("source");
    demo(&source);
    let lines = tmp.path().join("timelines.jsonl");
    std::fs::write(
        &lines,
        ok(&["export", "--data-dir", source.to_str().unwrap()]),
    )
    .unwrap();
    let target = tmp.path().join("target");
    let import = || {
        fails(&[
            "import",
            "--data-dir",
            target.to_str().unwrap(),
            lines.to_str().unwrap(),
        ])
    };
    let first = import();
    assert!(first.contains("went in and stay"), "{first}");
    assert!(first.contains("nothing from line"), "{first}");
    // Running it again stops at the same line, with the same events in.
    assert_eq!(import(), first);
}
