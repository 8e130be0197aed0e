//! The tokens in force, swapped whole when the token file changes: a removed or revoked
//! token stops working within seconds, without a restart.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use super::tokens::{TokenError, TokenRegistry};

#[derive(Debug)]
pub(crate) struct LiveTokens {
    file: Option<PathBuf>,
    dealers: BTreeMap<String, String>,
    current: RwLock<Arc<TokenRegistry>>,
    /// What the last look found, good or bad: a bad or missing file is reported once,
    /// not at every look.
    last_read: Mutex<Option<Seen>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Bytes(blake3::Hash),
    Unreadable,
}

impl LiveTokens {
    /// Tokens that never change (the generated admin token).
    pub(crate) fn fixed(registry: TokenRegistry) -> Self {
        Self {
            file: None,
            dealers: BTreeMap::new(),
            current: RwLock::new(Arc::new(registry)),
            last_read: Mutex::new(None),
        }
    }

    /// The tokens of `file`, read now; `dealers` is the server's dealer registry.
    pub(crate) fn from_file(
        file: PathBuf,
        dealers: BTreeMap<String, String>,
    ) -> Result<Self, TokenError> {
        let live = Self {
            file: Some(file),
            dealers,
            current: RwLock::new(Arc::default()),
            last_read: Mutex::new(None),
        };
        live.reload()?;
        Ok(live)
    }

    pub(crate) fn current(&self) -> Arc<TokenRegistry> {
        // A poisoned lock only means a panic while swapping an Arc: the value is whole.
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Reads the token file again and puts it in force. A file that cannot be read or
    /// is invalid leaves the tokens in force as they were. `Ok(false)`: no token file.
    pub(crate) fn reload(&self) -> Result<bool, TokenError> {
        self.read(true)
    }

    /// As `reload`, only if the file's bytes changed since they were last read.
    pub(crate) fn reload_if_changed(&self) -> Result<bool, TokenError> {
        self.read(false)
    }

    fn read(&self, always: bool) -> Result<bool, TokenError> {
        let Some(path) = &self.file else {
            return Ok(false);
        };
        let read = std::fs::read(path);
        let seen = match &read {
            Ok(bytes) => Seen::Bytes(blake3::hash(bytes)),
            Err(_) => Seen::Unreadable,
        };
        {
            let mut last = self
                .last_read
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if !always && *last == Some(seen) {
                return Ok(false);
            }
            *last = Some(seen);
        }
        let bytes = read.map_err(|source| TokenError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let text = String::from_utf8_lossy(&bytes);
        let display = path.display().to_string();
        let file = toml::from_str(&text).map_err(|e| TokenError::Invalid {
            path: display.clone(),
            message: e.to_string(),
        })?;
        let registry = TokenRegistry::from_file(&file, &display, &self.dealers)?;
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(registry);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Role, TokenEntry, TokenFile};

    const NOW: jiff::Timestamp = jiff::Timestamp::UNIX_EPOCH;

    fn write(path: &std::path::Path, entries: &[TokenEntry]) {
        let file = TokenFile {
            tokens: entries.to_vec(),
        };
        std::fs::write(path, toml::to_string(&file).unwrap()).unwrap();
    }

    #[test]
    fn a_changed_file_is_put_in_force_and_a_bad_one_keeps_the_old_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.toml");
        let (a, token_a) = TokenEntry::issue("a", Role::Auditor);
        let (b, token_b) = TokenEntry::issue("b", Role::Auditor);
        write(&path, &[a.clone(), b]);
        let live = LiveTokens::from_file(path.clone(), BTreeMap::new()).unwrap();
        assert!(live.current().authenticate(&token_b, NOW).is_some());
        assert!(!live.reload_if_changed().unwrap(), "nothing changed");

        write(&path, &[a]);
        assert!(live.reload_if_changed().unwrap());
        assert!(
            live.current().authenticate(&token_b, NOW).is_none(),
            "removed"
        );
        assert!(live.current().authenticate(&token_a, NOW).is_some());

        std::fs::write(&path, "[[tokens]]\nidentity = 'x'\n").unwrap();
        assert!(live.reload_if_changed().is_err());
        assert!(!live.reload_if_changed().unwrap(), "reported once");
        assert!(live.current().authenticate(&token_a, NOW).is_some(), "kept");
        std::fs::remove_file(&path).unwrap();
        assert!(live.reload_if_changed().is_err());
        assert!(
            !live.reload_if_changed().unwrap(),
            "a missing file reported once"
        );
        assert!(live.reload().is_err(), "but on every SIGHUP");
        assert!(live.current().authenticate(&token_a, NOW).is_some(), "kept");
    }
}
