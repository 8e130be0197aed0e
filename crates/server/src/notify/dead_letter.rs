//! An endpoint's dead letters: the events it could not be given within the dead-letter
//! time, one JSON file each in `<name>.dead/`, named by log position. `complaintflow
//! webhooks replay` moves them to `<name>.replay/`, which the running server (or the
//! next one to start) drains before it goes on with the log: the files are the whole
//! interface, so the command works while a server holds the log.

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::files::{EndpointFiles, move_durably, remove_durably, write_atomically};

/// What an operator needs to judge a dead letter; the event itself stays in the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub position: u64,
    pub event_id: Uuid,
    pub event_type: String,
    pub complaint_id: String,
    pub first_attempt: Timestamp,
    pub dead_at: Timestamp,
    pub attempts: u32,
    pub last_error: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    #[error("dead letter {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("dead letter {path} is not readable: {source}")]
    Unreadable {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DeadLetterError + '_ {
    move |source| DeadLetterError::Io {
        path: path.to_owned(),
        source,
    }
}

fn file_name(position: u64) -> String {
    format!("{position:020}.json")
}

/// Records `letter` in the endpoint's dead letters, durably.
pub(crate) fn bury(files: &EndpointFiles, letter: &DeadLetter) -> Result<(), DeadLetterError> {
    let path = files.dead.join(file_name(letter.position));
    let body = serde_json::to_vec_pretty(letter).map_err(|source| DeadLetterError::Unreadable {
        path: path.clone(),
        source,
    })?;
    write_atomically(&path, &body).map_err(io(&path))
}

/// The letters of a folder (`dead` or `replay`), in log order. A file that does not
/// parse (damaged, or edited by hand) is reported and left where it is, so that it
/// never holds up an endpoint.
pub fn list(dir: &Path) -> Result<Vec<DeadLetter>, DeadLetterError> {
    let mut letters = Vec::new();
    for path in json_files(dir)? {
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            // Taken between the listing and the read: delivered by a replay, or moved to
            // be replayed, while the directory was being read. Not a letter of this
            // directory any more.
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
            Err(err) => return Err(io(&path)(err)),
        };
        match serde_json::from_slice(&bytes) {
            Ok(letter) => letters.push(letter),
            Err(source) => {
                let err = DeadLetterError::Unreadable { path, source };
                tracing::warn!(error = %err, "dead letter skipped");
            }
        }
    }
    letters.sort_by_key(|letter: &DeadLetter| letter.position);
    Ok(letters)
}

fn json_files(dir: &Path) -> Result<Vec<PathBuf>, DeadLetterError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(io(dir)(err)),
    };
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry.map_err(io(dir))?.path();
        if path.extension().is_some_and(|ext| ext == "json") {
            paths.push(path);
        }
    }
    Ok(paths)
}

/// Asks for the dead letters at `positions` (all of them when `None`) to be sent
/// again; returns how many were queued.
pub fn request_replay(
    files: &EndpointFiles,
    positions: Option<&[u64]>,
) -> Result<usize, DeadLetterError> {
    let mut queued = 0;
    for letter in list(&files.dead)? {
        if positions.is_some_and(|wanted| !wanted.contains(&letter.position)) {
            continue;
        }
        let name = file_name(letter.position);
        let (from, to) = (files.dead.join(&name), files.replay.join(&name));
        move_durably(&from, &to).map_err(io(&from))?;
        queued += 1;
    }
    Ok(queued)
}

/// Replays asked for, in log order.
pub fn pending_replays(files: &EndpointFiles) -> Result<Vec<DeadLetter>, DeadLetterError> {
    list(&files.replay)
}

/// A replay done (delivered, or dead again and buried anew).
pub(crate) fn replay_done(files: &EndpointFiles, position: u64) -> Result<(), DeadLetterError> {
    let path = files.replay.join(file_name(position));
    remove_durably(&path).map_err(io(&path))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests stop at the first surprise")]

    use super::*;

    fn letter(position: u64) -> DeadLetter {
        DeadLetter {
            position,
            event_id: Uuid::from_u128(u128::from(position)),
            event_type: "complaint.deadline_missed".into(),
            complaint_id: "CMP-1".into(),
            first_attempt: Timestamp::UNIX_EPOCH,
            dead_at: Timestamp::UNIX_EPOCH,
            attempts: 3,
            last_error: "HTTP 500".into(),
        }
    }

    #[test]
    fn buried_letters_are_listed_in_order_and_move_to_replay_on_request() {
        let dir = tempfile::tempdir().unwrap();
        let files = EndpointFiles::new(&crate::node::DataDir::new(dir.path()), "cac");
        for position in [12, 3, 7] {
            bury(&files, &letter(position)).unwrap();
        }
        let positions =
            |letters: Vec<DeadLetter>| letters.iter().map(|l| l.position).collect::<Vec<_>>();
        assert_eq!(positions(list(&files.dead).unwrap()), [3, 7, 12]);
        assert_eq!(request_replay(&files, Some(&[7])).unwrap(), 1);
        assert_eq!(positions(list(&files.dead).unwrap()), [3, 12]);
        assert_eq!(positions(pending_replays(&files).unwrap()), [7]);
        assert_eq!(request_replay(&files, None).unwrap(), 2);
        assert_eq!(positions(pending_replays(&files).unwrap()), [3, 7, 12]);
        replay_done(&files, 7).unwrap();
        replay_done(&files, 7).unwrap();
        assert_eq!(positions(pending_replays(&files).unwrap()), [3, 12]);
        assert!(list(&files.dead).unwrap().is_empty());

        std::fs::write(files.replay.join("00000000000000000001.json"), b"{oops").unwrap();
        assert_eq!(
            positions(pending_replays(&files).unwrap()),
            [3, 12],
            "a damaged letter is skipped, not an error that stops the endpoint"
        );
    }

    /// The notifier removes a replayed letter while `webhooks list` or a test may be
    /// reading the directory: a letter listed but gone by its read was taken meanwhile.
    #[test]
    fn a_letter_taken_between_the_listing_and_its_read_is_not_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let files = EndpointFiles::new(&crate::node::DataDir::new(dir.path()), "cac");
        bury(&files, &letter(4)).unwrap();
        // Listed as a letter, gone when read: what a concurrent removal looks like.
        std::os::unix::fs::symlink(dir.path().join("nowhere"), files.dead.join(file_name(9)))
            .unwrap();
        let positions: Vec<u64> = list(&files.dead)
            .unwrap()
            .iter()
            .map(|l| l.position)
            .collect();
        assert_eq!(positions, [4]);
    }
}
