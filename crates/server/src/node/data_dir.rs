//! A node's data directory: the one place that knows what it holds and where.
//!
//! ```text
//! <data-dir>/
//!   events/          the embedded log (sled); absent when the log is in PostgreSQL
//!   projections/     this node's read-model snapshot and checkpoint
//!   webhooks/        per endpoint: its checkpoint, dead letters and replay requests
//!   local.sock       the read-only commands' way into a running server's log
//!   admin.token      the admin token made at first start when no token file is given
//!   page-token.key   the key that seals page tokens, so that they outlive a restart
//! ```

use std::path::{Path, PathBuf};

/// A data directory, by its root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The directory itself, as the user named it.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The embedded log.
    pub fn events(&self) -> PathBuf {
        self.root.join("events")
    }

    /// This node's read models.
    pub fn projections(&self) -> PathBuf {
        self.root.join("projections")
    }

    /// The webhook endpoints' state.
    pub fn webhooks(&self) -> PathBuf {
        self.root.join("webhooks")
    }

    /// Where a running server answers its local tools.
    pub fn local_socket(&self) -> PathBuf {
        self.root.join("local.sock")
    }

    /// The admin token a server without a token file makes and uses.
    pub fn admin_token(&self) -> PathBuf {
        self.root.join("admin.token")
    }

    /// The key of the page tokens.
    pub fn page_token_key(&self) -> PathBuf {
        self.root.join("page-token.key")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_a_node_keeps_is_inside_its_root() {
        let dir = DataDir::new("/srv/complaintflow");
        for path in [
            dir.events(),
            dir.projections(),
            dir.webhooks(),
            dir.local_socket(),
            dir.admin_token(),
            dir.page_token_key(),
        ] {
            assert_eq!(path.parent(), Some(dir.root()), "{}", path.display());
        }
    }
}
