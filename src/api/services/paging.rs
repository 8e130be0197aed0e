//! Page sizes and opaque page tokens.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::api::convert::FieldViolation;

/// A requested page size within `[1, max]`, `default` when unset (0).
pub fn page_size(requested: i32, default: usize, max: usize) -> Result<usize, FieldViolation> {
    match requested {
        0 => Ok(default),
        n if n < 0 => Err(FieldViolation::new("page_size", "must not be negative")),
        n => Ok((n as usize).min(max)),
    }
}

pub fn encode_token(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The bytes of a token, `None` for the first page.
pub fn decode_token(token: &str) -> Result<Option<Vec<u8>>, FieldViolation> {
    if token.is_empty() {
        return Ok(None);
    }
    URL_SAFE_NO_PAD
        .decode(token)
        .map(Some)
        .map_err(|_| FieldViolation::new("page_token", "not a token this server issued"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_tokens() {
        assert_eq!(page_size(0, 50, 500).unwrap(), 50);
        assert_eq!(page_size(9999, 50, 500).unwrap(), 500);
        assert!(page_size(-1, 50, 500).is_err());
        let token = encode_token(b"\x00abc");
        assert_eq!(decode_token(&token).unwrap(), Some(b"\x00abc".to_vec()));
        assert_eq!(decode_token("").unwrap(), None);
        assert!(decode_token("***").is_err());
    }
}
