//! The signature a receiver checks: `HMAC-SHA256(secret, timestamp + "." + body)`, sent
//! hex-encoded as `sha256=<hex>` beside the timestamp (Unix seconds) it covers, so that a
//! captured request cannot be replayed later with a fresh timestamp.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// `sha256=<hex>`, over the timestamp and the body.
pub(crate) const SIGNATURE_HEADER: &str = "x-complaintflow-signature";
/// Unix seconds, as signed.
pub(crate) const TIMESTAMP_HEADER: &str = "x-complaintflow-timestamp";
/// The event id: the same on every attempt and every replay of one event.
pub(crate) const IDEMPOTENCY_HEADER: &str = "idempotency-key";
/// The endpoint's name, for a receiver that serves several.
pub(crate) const ENDPOINT_HEADER: &str = "x-complaintflow-endpoint";
/// The event type, to route without parsing the body.
pub(crate) const EVENT_TYPE_HEADER: &str = "x-complaintflow-event-type";

/// The signature header's value for `body` sent at `timestamp`.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    // HMAC takes keys of any length, so this never fails.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hmac_of_timestamp_dot_body() {
        // Computed independently (Python's hmac module) over b"1767225600.{\"a\":1}".
        let expected = "sha256=bb7f7f576d169b57777ab3f8cf1a3b51416fd9eba32fdcb6f59ea046006c32b8";
        assert_eq!(signature(b"Jefe", 1_767_225_600, b"{\"a\":1}"), expected);
        assert_ne!(signature(b"Jefe", 1_767_225_601, b"{\"a\":1}"), expected);
        assert_ne!(signature(b"Jeff", 1_767_225_600, b"{\"a\":1}"), expected);
    }
}
