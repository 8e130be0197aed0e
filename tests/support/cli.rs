//! Running the `complaintflow` binary as a user would, with a guard against hangs.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_complaintflow");
/// A command that runs longer than this on a small directory is hung.
const COMMAND_LIMIT: Duration = Duration::from_secs(120);

/// Runs the binary, killing it if it hangs.
pub(crate) fn run(args: &[&str]) -> Output {
    let child = Command::new(BIN)
        .args(args)
        .env("COMPLAINTFLOW_LOG", "error")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start complaintflow");
    let pid = child.id();
    let (done, output) = std::sync::mpsc::channel();
    std::thread::spawn(move || done.send(child.wait_with_output()));
    if let Ok(output) = output.recv_timeout(COMMAND_LIMIT) {
        output.expect("output")
    } else {
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        panic!("complaintflow {args:?} hung for {COMMAND_LIMIT:?}");
    }
}

pub(crate) fn text(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A server that announced its gRPC address, however long it took to start.
const START_LIMIT: Duration = Duration::from_secs(60);

/// `complaintflow serve` on `data`, as every test that starts the binary runs it: an
/// ephemeral gRPC port, no HTTP or metrics port (parallel tests would collide on the
/// defaults), the address read from stdout. Callers add their own flags.
pub(crate) fn serve(data: &std::path::Path) -> Command {
    serve_with(BIN, data)
}

/// As `serve`, with another build's binary (to measure a change side by side).
pub(crate) fn serve_with(program: impl AsRef<std::ffi::OsStr>, data: &std::path::Path) -> Command {
    let mut command = Command::new(program);
    command
        .arg("serve")
        .arg("--data-dir")
        .arg(data)
        .args(["--listen", "127.0.0.1:0", "--no-metrics", "--no-http"])
        .env("COMPLAINTFLOW_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    command
}

/// A file that a server's stderr appends to, so that restarts share one log.
pub(crate) fn log_file(path: &std::path::Path) -> std::fs::File {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("server log")
}

/// Waits until a spawned `serve` prints the address it listens on; fails the test with
/// the server's log (`log`, when its stderr goes to a file) if it never does.
pub(crate) fn listening(
    child: &mut std::process::Child,
    log: Option<&std::path::Path>,
) -> std::net::SocketAddr {
    use std::io::{BufRead, BufReader};
    let stdout = child.stdout.take().expect("serve's stdout is piped");
    let (tx, rx) = std::sync::mpsc::channel();
    // Keeps draining stdout after the ready line, so that the pipe never fills.
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(address) = line.strip_prefix("complaintflow listening on ")
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(address.parse().expect("a socket address"));
            }
        }
    });
    rx.recv_timeout(START_LIMIT).unwrap_or_else(|_| {
        let log = log
            .and_then(|path| std::fs::read_to_string(path).ok())
            .unwrap_or_default();
        panic!("the server did not start within {START_LIMIT:?}; its log:\n{log}")
    })
}
