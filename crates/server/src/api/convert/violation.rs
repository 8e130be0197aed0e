//! The one error type of inbound conversions.

use tonic_types::{ErrorDetails, StatusExt};

use crate::api::status::clip;
use complaintflow_domain::InvalidValue;

/// A request field that failed conversion. `field` is the full path of the proto
/// field, e.g. `events[2].event.filed.vehicle.vin`, in the form `BadRequest` wants.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {description}")]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

impl FieldViolation {
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }

    /// A field that must be set and was not (empty string, unset message,
    /// `*_UNSPECIFIED` enum, missing timestamp).
    pub fn required(field: impl Into<String>) -> Self {
        Self::new(field, "required")
    }

    /// A domain value check failed. The domain names the field by its own short
    /// name; the wire path replaces it, the reason is kept.
    pub fn invalid(field: impl Into<String>, err: InvalidValue) -> Self {
        Self::new(field, err.reason)
    }

    /// INVALID_ARGUMENT with a `BadRequest` detail naming this field.
    pub(crate) fn into_status(self) -> tonic::Status {
        let message = clip(&self.to_string()).into_owned();
        let details =
            ErrorDetails::with_bad_request_violation(clip(&self.field), clip(&self.description));
        tonic::Status::with_error_details(tonic::Code::InvalidArgument, message, details)
    }
}

impl From<FieldViolation> for tonic::Status {
    fn from(violation: FieldViolation) -> Self {
        violation.into_status()
    }
}

/// `parent.name`, or just `name` at the top level.
pub(crate) fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_skips_the_dot_at_the_top_level() {
        assert_eq!(join("", "name"), "name");
        assert_eq!(join("events[0].event", "filed"), "events[0].event.filed");
    }

    #[test]
    fn status_carries_a_bad_request_naming_the_field() {
        let status = FieldViolation::new("filed.vehicle.vin", "too short").into_status();
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        let bad_request = status
            .get_details_bad_request()
            .expect("a BadRequest detail");
        assert_eq!(bad_request.field_violations.len(), 1);
        assert_eq!(bad_request.field_violations[0].field, "filed.vehicle.vin");
        assert_eq!(bad_request.field_violations[0].description, "too short");
    }
}
