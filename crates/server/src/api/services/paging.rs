//! Page sizes and opaque page tokens.
//!
//! A page token is where the previous page stopped, sealed with a key only this server
//! holds (XChaCha20-Poly1305, a random nonce per token) and bound to who asked and what
//! they asked: it reveals nothing of the log, cannot be forged or edited, and is refused
//! when replayed by another caller or with another query.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::api::convert::FieldViolation;
use crate::auth::Principal;

const NONCE_BYTES: usize = 24;

/// A requested page size within `[1, max]`, `default` when unset (0).
pub(crate) fn page_size(
    requested: i32,
    default: usize,
    max: usize,
) -> Result<usize, FieldViolation> {
    match requested {
        0 => Ok(default),
        n if n < 0 => Err(FieldViolation::new("page_size", "must not be negative")),
        n => Ok((n as usize).min(max)),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PageKeyError {
    #[error("page-token key {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("page-token key {path}: not 64 hex digits")]
    Malformed { path: PathBuf },
}

/// Seals and opens page tokens.
pub struct PageTokens {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for PageTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PageTokens")
    }
}

/// What a token is bound to: the method, the caller and the query, hashed.
pub(crate) fn binding(method: &str, caller: &Principal, query: &impl std::fmt::Debug) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new_derive_key("complaintflow page token binding v1");
    for part in [
        method,
        caller.identity(),
        &caller.role.to_string(),
        &format!("{:?}", caller.scope),
        &format!("{query:?}"),
    ] {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    *hasher.finalize().as_bytes()
}

impl PageTokens {
    pub fn new(key: [u8; 32]) -> Self {
        Self {
            cipher: XChaCha20Poly1305::new(&key.into()),
        }
    }

    /// The key kept in `path` (`<data_dir>/page-token.key`, mode 0600), created on first
    /// use, so that tokens outlive a restart of the server.
    pub fn open(path: &Path) -> Result<Self, PageKeyError> {
        let path = path.to_path_buf();
        let io = |source| PageKeyError::Io {
            path: path.clone(),
            source,
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                let key: [u8; 32] = rand::random();
                let text = hex::encode(key);
                let mut file = private_file(&path).map_err(io)?;
                file.write_all(text.as_bytes()).map_err(io)?;
                file.sync_all().map_err(io)?;
                return Ok(Self::new(key));
            }
            Err(err) => return Err(io(err)),
        };
        let mut key = [0; 32];
        hex::decode_to_slice(text.trim(), &mut key)
            .map_err(|_| PageKeyError::Malformed { path: path.clone() })?;
        Ok(Self::new(key))
    }

    /// A token holding `cursor`, valid only with the same `binding`.
    pub fn seal(&self, binding: &[u8; 32], cursor: &[u8]) -> String {
        let nonce_bytes: [u8; NONCE_BYTES] = rand::random();
        let nonce = XNonce::from(nonce_bytes);
        let payload = Payload {
            msg: cursor,
            aad: binding,
        };
        match self.cipher.encrypt(&nonce, payload) {
            Ok(sealed) => URL_SAFE_NO_PAD.encode([&nonce_bytes[..], &sealed].concat()),
            // Encryption only fails for messages beyond 256 GiB; a cursor is bytes long.
            Err(_) => String::new(),
        }
    }

    /// The cursor a token holds, `None` for the first page (an empty token).
    pub(crate) fn open_token(
        &self,
        binding: &[u8; 32],
        token: &str,
    ) -> Result<Option<Vec<u8>>, FieldViolation> {
        if token.is_empty() {
            return Ok(None);
        }
        let refused = || FieldViolation::new("page_token", "not a token issued for this query");
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| refused())?;
        if bytes.len() < NONCE_BYTES {
            return Err(refused());
        }
        let (nonce, sealed) = bytes.split_at(NONCE_BYTES);
        let nonce = XNonce::from_slice(nonce);
        self.cipher
            .decrypt(
                nonce,
                Payload {
                    msg: sealed,
                    aad: binding,
                },
            )
            .map(Some)
            .map_err(|_| refused())
    }
}

fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(page_size(0, 50, 500).unwrap(), 50);
        assert_eq!(page_size(9999, 50, 500).unwrap(), 500);
        assert!(page_size(-1, 50, 500).is_err());
    }

    #[test]
    fn tokens_hide_their_cursor_and_open_only_with_their_binding() {
        let tokens = PageTokens::new([7; 32]);
        let (a, b) = ([1; 32], [2; 32]);
        let cursor = b"\x00\x01C-BJ-0007-SECRET";
        let token = tokens.seal(&a, cursor);
        let raw = URL_SAFE_NO_PAD.decode(&token).unwrap();
        assert!(
            !raw.windows(6).any(|w| w == b"BJ-000"),
            "the cursor is not readable in the token"
        );
        assert_eq!(tokens.open_token(&a, &token).unwrap().unwrap(), cursor);
        assert!(tokens.open_token(&b, &token).is_err(), "another binding");
        assert!(
            PageTokens::new([8; 32]).open_token(&a, &token).is_err(),
            "another server's key"
        );
        let mut edited = raw.clone();
        let last = edited.len() - 1;
        edited[last] ^= 1;
        assert!(
            tokens
                .open_token(&a, &URL_SAFE_NO_PAD.encode(&edited))
                .is_err()
        );
        assert!(tokens.open_token(&a, "***").is_err());
        assert!(tokens.open_token(&a, "AAAA").is_err());
        assert_eq!(tokens.open_token(&a, "").unwrap(), None);
        assert_ne!(tokens.seal(&a, cursor), token, "a fresh nonce every time");
    }

    #[test]
    fn the_key_is_kept_in_the_data_directory() {
        let dir = tempfile::tempdir().unwrap();
        let key = crate::node::DataDir::new(dir.path()).page_token_key();
        let first = PageTokens::open(&key).unwrap();
        let token = first.seal(&[0; 32], b"x");
        let again = PageTokens::open(&key).unwrap();
        assert_eq!(again.open_token(&[0; 32], &token).unwrap().unwrap(), b"x");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
