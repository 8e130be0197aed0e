//! Validated value types. Each one can only hold a value that passed its
//! check, so the rest of the domain never re-validates them. Parsing errors
//! name the field so that a gRPC caller learns which input was wrong.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A value that failed validation, with the name of the field it was meant for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidValue {
    pub field: &'static str,
    pub reason: String,
}

impl InvalidValue {
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}

/// Characters allowed in machine identifiers (complaint ids, option ids, ...):
/// safe in URLs, file names and sled keys.
fn is_identifier_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-')
}

fn check_identifier(field: &'static str, s: &str, max: usize) -> Result<(), InvalidValue> {
    let len = s.chars().count();
    if len == 0 || len > max || !s.chars().all(is_identifier_char) {
        return Err(InvalidValue::new(
            field,
            format!("must be 1..={max} characters of [A-Za-z0-9._:-], got {s:?}"),
        ));
    }
    Ok(())
}

/// Free text typed by people: not blank, bounded, no control characters
/// other than line breaks and tabs.
fn check_text(field: &'static str, s: &str, max: usize) -> Result<(), InvalidValue> {
    if s.trim().is_empty() {
        return Err(InvalidValue::new(field, "must not be blank"));
    }
    if s.chars().count() > max {
        return Err(InvalidValue::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if s.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(InvalidValue::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// Declares a string newtype whose only constructor runs `$check`.
/// Serde goes through the same check (`try_from = "String"`).
macro_rules! validated_string {
    ($(#[$doc:meta])* $name:ident, $field:literal, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {

            pub fn parse(value: impl Into<String>) -> Result<Self, InvalidValue> {
                let value: String = value.into();
                let check: fn(&'static str, String) -> Result<String, InvalidValue> = $check;
                check($field, value).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidValue;
            fn try_from(value: String) -> Result<Self, InvalidValue> {
                Self::parse(value)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = InvalidValue;
            fn try_from(value: &str) -> Result<Self, InvalidValue> {
                Self::parse(value)
            }
        }

        // Hash, Eq and Ord are the inner string's, so maps keyed by ids can be
        // searched by name.
        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

fn identifier(max: usize) -> impl Fn(&'static str, String) -> Result<String, InvalidValue> {
    move |field, s| check_identifier(field, &s, max).map(|()| s)
}

fn text(max: usize) -> impl Fn(&'static str, String) -> Result<String, InvalidValue> {
    move |field, s| check_text(field, &s, max).map(|()| s)
}

validated_string!(
    /// The stream id of a complaint: 1..=64 characters of `[A-Za-z0-9._:-]`, not
    /// starting with `follow-up:`, where the follow-ups' streams are named.
    ComplaintId, "complaint_id", |f, s| {
        let s = identifier(64)(f, s)?;
        if s.starts_with(crate::follow_up::STREAM_PREFIX) { Err(InvalidValue::new(f, "must not start with \"follow-up:\", the follow-ups' streams")) } else { Ok(s) }
    }
);
/// The dealer whose namespace a client-chosen id is in: everything before its last `:`
/// (`SH-0042` for `SH-0042:RO-2026-0117`).
fn dealer_namespace(id: &str) -> Option<&str> {
    id.rsplit_once(':').map(|(dealer, _)| dealer)
}

impl ComplaintId {
    /// The dealer whose namespace a client-chosen id is in: everything before its last
    /// `:` (`SH-0042` for `SH-0042:RO-2026-0117`). Ids derived by the server have none.
    pub fn dealer_namespace(&self) -> Option<&str> {
        dealer_namespace(&self.0)
    }
}

validated_string!(
    /// A quality follow-up call's id: 1..=64 characters of `[A-Za-z0-9._:-]`.
    FollowUpId, "follow_up_id", |f, s| identifier(64)(f, s)
);
impl FollowUpId {
    /// The dealer whose namespace the id is in, as for [`ComplaintId::dealer_namespace`].
    pub fn dealer_namespace(&self) -> Option<&str> {
        dealer_namespace(&self.0)
    }
}

validated_string!(
    /// A dealer ("4S" store) code, e.g. `D-31001`.
    DealerCode, "dealer_code", |f, s| identifier(32)(f, s)
);
validated_string!(
    /// A sales region code; regions may override the business calendar.
    RegionCode, "region_code", |f, s| identifier(32)(f, s)
);
validated_string!(
    /// Id of one solution option, unique within a complaint.
    OptionId, "option_id", |f, s| identifier(64)(f, s)
);
validated_string!(
    /// Id of one compensation request, unique within a complaint.
    CompensationId, "compensation_id", |f, s| identifier(64)(f, s)
);
validated_string!(
    /// Id of one corrective action, unique within a complaint.
    ActionId, "action_id", |f, s| identifier(64)(f, s)
);
validated_string!(
    /// The authenticated identity of whoever caused an event.
    ActorId, "actor_id", |f, s| identifier(128)(f, s)
);
validated_string!(
    /// Free text: descriptions, reasons, summaries, the customer's words.
    Text, "text", |f, s| text(4000)(f, s)
);
validated_string!(
    /// A short label such as a person's or a model's name.
    Label, "label", |f, s| text(100)(f, s)
);
validated_string!(
    /// A reference to a stored document (evidence, call recording, signature scan).
    DocumentRef, "document_ref", |f, s| text(512)(f, s)
);
validated_string!(
    /// A licence plate; Chinese plates start with a province character.
    Plate, "plate", |f, s| text(16)(f, s)
);
validated_string!(
    /// A vehicle identification number: 17 characters of A-Z and 0-9
    /// without I, O and Q (ISO 3779). Lower case input is upper-cased.
    Vin, "vin", |field, s| {
        let upper = s.trim().to_ascii_uppercase();
        let valid = upper.len() == 17
            && upper
                .chars()
                .all(|c| c.is_ascii_digit() || (c.is_ascii_uppercase() && !matches!(c, 'I' | 'O' | 'Q')));
        if valid {
            Ok(upper)
        } else {
            Err(InvalidValue::new(
                field,
                format!("must be 17 characters of A-Z/0-9 without I, O, Q, got {s:?}"),
            ))
        }
    }
);
validated_string!(
    /// A phone number: optional leading `+`, then 5..=20 digits, spaces or dashes allowed.
    PhoneNumber, "phone", |field, s| {
        let digits = s.chars().filter(char::is_ascii_digit).count();
        let body = s.strip_prefix('+').unwrap_or(&s);
        let valid = (5..=20).contains(&digits)
            && body.chars().all(|c| c.is_ascii_digit() || c == ' ' || c == '-');
        if valid {
            Ok(s)
        } else {
            Err(InvalidValue::new(field, format!("must be 5..=20 digits, got {s:?}")))
        }
    }
);
validated_string!(
    /// A content hash `algorithm:hex`, e.g. `blake3:` followed by 64 hex digits.
    ContentHash, "content_hash", |field, s| {
        let valid = match s.split_once(':') {
            Some((algo, hex)) => {
                !algo.is_empty()
                    && algo.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                    && (32..=128).contains(&hex.len())
                    && hex.len() % 2 == 0
                    && hex.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
            }
            None => false,
        };
        if valid {
            Ok(s)
        } else {
            Err(InvalidValue::new(
                field,
                format!("must be `algorithm:lowercase-hex` (32..=128 hex digits), got {s:?}"),
            ))
        }
    }
);

/// Declares a bounded integer newtype whose only constructor checks the range.
macro_rules! bounded_integer {
    ($(#[$doc:meta])* $name:ident($int:ty as $int_name:literal), $field:literal, $min:expr, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = $int_name, into = $int_name)]
        pub struct $name($int);

        impl $name {
            pub const MIN: $int = $min;
            pub const MAX: $int = $max;

            pub fn new(value: $int) -> Result<Self, InvalidValue> {
                if (Self::MIN..=Self::MAX).contains(&value) {
                    Ok(Self(value))
                } else {
                    Err(InvalidValue::new(
                        $field,
                        format!("must be in {}..={}, got {value}", Self::MIN, Self::MAX),
                    ))
                }
            }

            pub fn get(self) -> $int {
                self.0
            }
        }

        impl TryFrom<$int> for $name {
            type Error = InvalidValue;
            fn try_from(value: $int) -> Result<Self, InvalidValue> {
                Self::new(value)
            }
        }

        impl From<$name> for $int {
            fn from(value: $name) -> $int {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

bounded_integer!(
    /// The customer's satisfaction on the follow-up call, 1 (very unhappy) to 5.
    SatisfactionScore(u8 as "u8"), "satisfaction_score", 1, 5
);
bounded_integer!(
    /// An amount of money in minor units (fen). Bounded so sums never overflow.
    Money(u64 as "u64"), "amount_fen", 0, 1_000_000_000_000
);
bounded_integer!(
    /// Odometer reading in kilometres.
    Mileage(u32 as "u32"), "mileage_km", 0, 5_000_000
);

impl Money {
    pub const ZERO: Money = Money(0);

    pub fn fen(self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complaint_id_accepts_the_allowed_alphabet() {
        let id = ComplaintId::parse("CAC-2024:0001_a.b").expect("valid id");
        assert_eq!(id.as_str(), "CAC-2024:0001_a.b");
        assert!(ComplaintId::parse("a".repeat(64)).is_ok());
    }

    #[test]
    fn a_client_chosen_id_names_its_dealer_before_the_last_colon() {
        let id = |s: &str| ComplaintId::parse(s).expect("valid id");
        assert_eq!(
            id("SH-0042:RO-2026-0117").dealer_namespace(),
            Some("SH-0042")
        );
        // A dealer code may itself hold a colon; the number after the last one may not.
        assert_eq!(id("EU:D-1:RO-7").dealer_namespace(), Some("EU:D-1"));
        assert_eq!(id("C-0123456789ABCDEF").dealer_namespace(), None);
    }

    #[test]
    fn complaint_id_refuses_empty_long_and_odd_characters() {
        for bad in ["", "has space", "slash/no", "中文"] {
            let err = ComplaintId::parse(bad).expect_err(bad);
            assert_eq!(err.field, "complaint_id");
        }
        assert!(ComplaintId::parse("a".repeat(65)).is_err());
    }

    #[test]
    fn vin_is_seventeen_characters_without_i_o_q() {
        assert_eq!(
            Vin::parse("lsvag2180e2100001").expect("valid").as_str(),
            "LSVAG2180E2100001"
        );
        for bad in [
            "LSVAG2180E210000",
            "LSVAG2180E21000011",
            "LSVAG2180E210000I",
            "LSVOG2180E2100001",
            "LSVAG2180E21000Q1",
        ] {
            let err = Vin::parse(bad).expect_err(bad);
            assert_eq!(err.field, "vin");
            assert!(err.to_string().starts_with("vin: "));
        }
    }

    #[test]
    fn satisfaction_score_is_one_to_five() {
        assert!(SatisfactionScore::new(0).is_err());
        assert_eq!(SatisfactionScore::new(5).map(SatisfactionScore::get), Ok(5));
        let err = SatisfactionScore::new(6).expect_err("6 is out of range");
        assert_eq!(
            err.to_string(),
            "satisfaction_score: must be in 1..=5, got 6"
        );
    }

    #[test]
    fn money_is_bounded() {
        assert!(Money::new(1_000_000_000_001).is_err());
        assert_eq!(Money::new(12_345).map(Money::fen), Ok(12_345));
    }

    #[test]
    fn text_refuses_blank_and_control_characters() {
        assert!(Text::parse("   ").is_err());
        assert!(Text::parse("bell\u{7}").is_err());
        assert!(Text::parse("line one\nline two").is_ok());
        assert!(Label::parse("x".repeat(101)).is_err());
    }

    #[test]
    fn phone_and_plate_and_hash() {
        assert!(PhoneNumber::parse("+86 138-0013-8000").is_ok());
        assert!(PhoneNumber::parse("12").is_err());
        assert!(PhoneNumber::parse("138abc").is_err());
        assert!(Plate::parse("京A12345").is_ok());
        assert!(ContentHash::parse(format!("blake3:{}", "ab".repeat(32))).is_ok());
        assert!(ContentHash::parse("blake3:XYZ").is_err());
        assert!(ContentHash::parse("nohash").is_err());
    }

    #[test]
    fn serde_runs_the_same_validation() {
        let ok: Result<Vin, _> = serde_json::from_str("\"LSVAG2180E2100001\"");
        assert!(ok.is_ok());
        let bad: Result<Vin, _> = serde_json::from_str("\"short\"");
        assert!(bad.is_err());
        let bad_score: Result<SatisfactionScore, _> = serde_json::from_str("9");
        assert!(bad_score.is_err());
    }
}
