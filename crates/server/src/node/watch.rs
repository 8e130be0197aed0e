//! Keeps what the server read from a file (the tokens, the webhooks) in step with the
//! file while it runs: a look for a change every second, and a reload at once on SIGHUP
//! (which would otherwise end the process). A file that cannot be used keeps what is in
//! force and is reported.

use std::time::Duration;

use tokio::sync::watch;
use tracing::{error, info, warn};

/// How often a watched file is looked at for changes.
const FILE_POLL: Duration = Duration::from_secs(1);

/// Something read from a file that can be read again.
pub(crate) trait Reload {
    type Error: std::fmt::Display;
    /// What the file is, for the logs ("token file").
    const WHAT: &'static str;
    /// Reads the file again, `always` or only if it changed since the last read, and
    /// puts it in force. `Ok(true)`: something new is in force.
    fn reload(&mut self, always: bool) -> Result<bool, Self::Error>;
    /// Logs what is in force after a reload.
    fn reloaded(&self);
}

/// Follows the file until `stop` turns true.
pub(crate) async fn watch_file<R: Reload>(target: &mut R, mut stop: watch::Receiver<bool>) {
    use tokio::signal::unix::{SignalKind, signal};
    let what = R::WHAT;
    let mut hangup = match signal(SignalKind::hangup()) {
        Ok(hangup) => Some(hangup),
        Err(err) => {
            warn!(error = %err, file = what, "cannot listen for SIGHUP; the file is still polled");
            None
        }
    };
    let mut poll = tokio::time::interval(FILE_POLL);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let outcome = tokio::select! {
            _ = stop.wait_for(|stop| *stop) => return,
            _ = poll.tick() => target.reload(false),
            Some(()) = async {
                match hangup.as_mut() {
                    Some(hangup) => hangup.recv().await,
                    None => std::future::pending().await,
                }
            } => {
                info!(file = what, "SIGHUP: reloading");
                target.reload(true)
            }
        };
        match outcome {
            Ok(true) => target.reloaded(),
            Ok(false) => {}
            Err(err) => error!(error = %err, file = what, "not reloaded; what is in force stays"),
        }
    }
}
