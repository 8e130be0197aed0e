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

/// While `serve` holds a data directory, `verify`, `digest`, `export` and `backup` read it
/// through the server's local socket, a prefix of the log as it stood when each began:
/// the digest still checks once the server stops, the backup restores to a log that
/// extends it, every exported line is in the export taken afterwards. The socket is the
/// directory owner's alone and goes with the server; `rebuild`, which would write, still
/// refuses the directory.
#[test]
fn the_read_only_commands_work_while_the_server_runs() {
    use std::os::unix::fs::PermissionsExt;

    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    demo(&data);
    let dir = data.to_str().unwrap();
    let log = tmp.path().join("server.log");
    let mut server = support::cli::serve(&data)
        .stderr(support::cli::log_file(&log))
        .spawn()
        .unwrap();
    support::cli::listening(&mut server, Some(&log));
    let socket = data.join("local.sock");
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the owner's alone");

    let verified = ok(&["verify", "--data-dir", dir]);
    assert!(verified.starts_with("intact: "), "{verified}");
    let complaint = ok(&[
        "verify",
        "--data-dir",
        dir,
        "--complaint",
        "SH-0042:CMP-0000001",
    ]);
    assert!(complaint.starts_with("intact: "), "{complaint}");
    let running_digest = digest(&data);
    let running_archive = tmp.path().join("running.cfarc");
    ok(&[
        "backup",
        "--data-dir",
        dir,
        "--out",
        running_archive.to_str().unwrap(),
    ]);
    let running_export = ok(&["export", "--data-dir", dir]);
    assert!(running_export.lines().count() > 40, "{running_export}");
    let refused = fails(&["rebuild", "--data-dir", dir]);
    assert!(refused.contains("in use by another process"), "{refused}");

    let stopped = std::process::Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    assert!(server.wait().unwrap().success());
    assert!(!socket.exists(), "the socket goes with the server");

    let check = ok(&["digest", "--data-dir", dir, "--check", &running_digest]);
    assert!(check.starts_with("consistent"), "{check}");
    let restored = tmp.path().join("restored");
    ok(&[
        "restore",
        "--from",
        running_archive.to_str().unwrap(),
        "--data-dir",
        restored.to_str().unwrap(),
    ]);
    let restored_check = ok(&[
        "digest",
        "--data-dir",
        restored.to_str().unwrap(),
        "--check",
        &running_digest,
    ]);
    assert!(restored_check.starts_with("consistent"), "{restored_check}");
    let export = ok(&["export", "--data-dir", dir]);
    let lines: std::collections::HashSet<&str> = export.lines().collect();
    for line in running_export.lines() {
        assert!(
            lines.contains(line),
            "exported while running, gone after: {line}"
        );
    }
}
