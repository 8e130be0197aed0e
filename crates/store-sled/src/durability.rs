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

pub(crate) struct DiskSync {
    log_file: File,
    blobs_dir: PathBuf,
    synced_blobs: HashSet<OsString>,
}

impl DiskSync {
    /// For the sled database in `path` (its log is `path/db`, its blobs `path/blobs`).
    pub(crate) fn open(path: &Path) -> io::Result<Self> {
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
    pub(crate) fn sync(&mut self) -> io::Result<()> {
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

/// Bytes free for an unprivileged writer on the filesystem holding `path`.
pub(crate) fn free_bytes(path: &Path) -> io::Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let mut stats = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `path` is a valid C string and `stats` is written by statvfs before it is read.
    let stats = unsafe {
        if libc::statvfs(path.as_ptr(), stats.as_mut_ptr()) != 0 {
            return Err(io::Error::last_os_error());
        }
        stats.assume_init()
    };
    // The field types are 32 bits wide on some targets.
    #[allow(clippy::useless_conversion)]
    Ok(u64::from(stats.f_bavail).saturating_mul(u64::from(stats.f_frsize)))
}
