//! Making a commit durable for real.
//!
//! sled 0.34's `flush` ends in `sync_file_range`, which pushes the written range to the
//! device but flushes neither the device's write cache nor the file's metadata (its
//! size, for appended data), and it does not sync blob files at all. A power cut could
//! then lose an acknowledged append. After sled's flush, the writer therefore calls
//! `fdatasync` on sled's log file and `fsync` on any blob file it has not synced yet.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

pub struct DiskSync {
    log_file: File,
    blobs_dir: PathBuf,
    synced_blobs: HashSet<OsString>,
}

impl DiskSync {
    /// For the sled database in `path` (its log is `path/db`, its blobs `path/blobs`).
    pub fn open(path: &Path) -> io::Result<Self> {
        let log_file = File::open(path.join("db"))?;
        // The directory entries of the files sled created must survive too.
        File::open(path)?.sync_all()?;
        let mut sync = Self {
            log_file,
            blobs_dir: path.join("blobs"),
            synced_blobs: HashSet::new(),
        };
        sync.sync_new_blobs()?;
        Ok(sync)
    }

    /// Call after `sled::Db::flush`: returns once everything flushed is on the device.
    pub fn sync(&mut self) -> io::Result<()> {
        self.log_file.sync_data()?;
        self.sync_new_blobs()
    }

    fn sync_new_blobs(&mut self) -> io::Result<()> {
        let entries = match std::fs::read_dir(&self.blobs_dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(err) => return Err(err),
        };
        let mut synced_any = false;
        for entry in entries {
            let entry = entry?;
            if self.synced_blobs.contains(&entry.file_name()) {
                continue;
            }
            File::open(entry.path())?.sync_all()?;
            self.synced_blobs.insert(entry.file_name());
            synced_any = true;
        }
        if synced_any {
            File::open(&self.blobs_dir)?.sync_all()?;
        }
        Ok(())
    }
}
