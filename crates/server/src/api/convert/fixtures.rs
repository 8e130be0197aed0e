//! Shorthands for the conversion tests alone; their sample events come from the
//! domain's test kit, shared with the domain's and the integration tests.

use complaintflow_domain::deadlines::{DeadlineKey, DeadlineKind};
use complaintflow_domain::values::InvalidValue;

/// Any checked string newtype from a literal, as the wire hands them over: a
/// `String` to be checked.
pub(crate) fn v<T: TryFrom<String, Error = InvalidValue>>(s: &str) -> T {
    T::try_from(s.to_owned()).expect("test value")
}

pub(crate) fn key(kind: DeadlineKind, started_by: u64, generation: u32) -> DeadlineKey {
    DeadlineKey {
        kind,
        started_by,
        generation,
    }
}
