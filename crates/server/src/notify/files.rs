//! Where an endpoint keeps its state under `<data-dir>/webhooks/`, and how a small file
//! is replaced so that a crash leaves the old or the new content, never a mix.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::node::DataDir;

/// The files of one endpoint.
#[derive(Debug, Clone)]
pub struct EndpointFiles {
    pub checkpoint: PathBuf,
    /// One file per dead event, named by its log position.
    pub dead: PathBuf,
    /// Dead letters an operator asked to send again; the server takes them from here.
    pub replay: PathBuf,
}

impl EndpointFiles {
    pub fn new(data_dir: &DataDir, endpoint: &str) -> Self {
        let dir = data_dir.webhooks();
        Self {
            checkpoint: dir.join(format!("{endpoint}.checkpoint")),
            dead: dir.join(format!("{endpoint}.dead")),
            replay: dir.join(format!("{endpoint}.replay")),
        }
    }
}

/// The endpoints that have a checkpoint under `<data-dir>/webhooks`, by name.
pub fn known_endpoints(data_dir: &DataDir) -> std::io::Result<Vec<String>> {
    let mut names = Vec::new();
    let entries = match std::fs::read_dir(data_dir.webhooks()) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(names),
        Err(err) => return Err(err),
    };
    for entry in entries {
        let name = entry?.file_name();
        if let Some(name) = name.to_str().and_then(|n| n.strip_suffix(".checkpoint")) {
            names.push(name.to_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// Replaces `path` with `content`: written beside it, flushed to disk, renamed over it,
/// and the directory flushed so that the rename itself survives a power cut.
pub(crate) fn write_atomically(path: &Path, content: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(content)?;
        file.sync_all()?;
    }
    std::fs::rename(&temporary, path)?;
    sync_dir(dir)
}

/// Moves `from` to `to` (same file system) durably.
pub(crate) fn move_durably(from: &Path, to: &Path) -> std::io::Result<()> {
    let dir = to.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    std::fs::rename(from, to)?;
    sync_dir(dir)?;
    match from.parent() {
        Some(source) if source != dir => sync_dir(source),
        _ => Ok(()),
    }
}

/// Removes `path` durably; a file already gone is fine.
pub(crate) fn remove_durably(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => path.parent().map_or(Ok(()), sync_dir),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(err),
    }
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}
