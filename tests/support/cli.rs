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
