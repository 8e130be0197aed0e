//! Every error the API can answer with, and its gRPC status: the one place where the
//! engine's, the store's and the projections' errors get their codes and details.

use std::borrow::Cow;
use std::time::Duration;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use super::convert::FieldViolation;
use crate::engine::EngineError;
use crate::projections::ProjectionError;
use complaintflow_log::{ExpectedVersion, StoreError, WriterFailure};

const DOMAIN: &str = "complaintflow";

/// The most of a client's value an answer repeats, in bytes. A message or detail that
/// echoed a 4 MB value whole would be refused by the client's own header limit.
pub(crate) const MAX_ECHO_BYTES: usize = 256;

/// `text` cut to at most [`MAX_ECHO_BYTES`] on a character boundary, with the size of what
/// was left out. Every text an answer carries passes here: messages, field paths,
/// descriptions and metadata values.
pub(crate) fn clip(text: &str) -> Cow<'_, str> {
    if text.len() <= MAX_ECHO_BYTES {
        return Cow::Borrowed(text);
    }
    let mut end = MAX_ECHO_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!(
        "{}… ({} more bytes)",
        &text[..end],
        text.len() - end
    ))
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Field(#[from] FieldViolation),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Projection(#[from] ProjectionError),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    FailedPrecondition(String),
    #[error("{0}")]
    ResourceExhausted(String),
    #[error(
        "the subscriber read nothing for {waited:?} with its buffer full and was cut off; resume from position {resume_position}"
    )]
    SubscriberTooSlow {
        resume_position: u64,
        waited: Duration,
    },
    #[error("the server is shutting down; resume from position {resume_position}")]
    ShuttingDown { resume_position: u64 },
    #[error(
        "this node has read the log up to position {next_position} (exclusive), not yet through min_position {min_position}, after waiting {waited:?}; retry here or on another node"
    )]
    PositionNotReached {
        min_position: u64,
        next_position: u64,
        waited: Duration,
    },
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        Self::Engine(EngineError::Store(err))
    }
}

fn with_info(code: Code, message: String, reason: &str, metadata: Vec<(String, String)>) -> Status {
    let details = ErrorDetails::with_error_info(
        reason,
        DOMAIN,
        metadata
            .into_iter()
            .map(|(key, value)| (key, clip(&value).into_owned()))
            .collect::<std::collections::HashMap<_, _>>(),
    );
    Status::with_error_details(code, clip(&message), details)
}

fn expected_text(expected: ExpectedVersion) -> String {
    match expected {
        ExpectedVersion::Exact(v) => v.to_string(),
        other => other.to_string(),
    }
}

fn store_status(err: StoreError) -> Status {
    let message = err.to_string();
    match err {
        StoreError::InvalidInput(input) => {
            FieldViolation::new(input.field, input.reason).into_status()
        }
        StoreError::WrongExpectedVersion {
            stream,
            expected,
            actual,
        } => with_info(
            Code::Aborted,
            message,
            "WRONG_EXPECTED_VERSION",
            vec![
                ("complaint_id".into(), stream.to_string()),
                ("expected_version".into(), expected_text(expected)),
                (
                    "actual_version".into(),
                    actual.map_or_else(|| "none".into(), |v| v.to_string()),
                ),
            ],
        ),
        StoreError::IdempotencyConflict { event_id, .. } => with_info(
            Code::AlreadyExists,
            message,
            "EVENT_ID_REUSED",
            vec![("event_id".into(), event_id.to_string())],
        ),
        StoreError::Corrupt { .. } | StoreError::LogLoss { .. } => Status::data_loss(message),
        StoreError::Unavailable(_) => Status::unavailable(message),
        StoreError::WriterStopped(failure) => match *failure {
            // The log on disk is not what was acknowledged: nothing a retry can mend.
            WriterFailure::LogLoss(_) | WriterFailure::TailUnreadable(_) => {
                Status::data_loss(message)
            }
            // The storage failed under a write; the operator has to act, then it serves.
            WriterFailure::Apply(_)
            | WriterFailure::Flush(_)
            | WriterFailure::Sync(_)
            | WriterFailure::RecordAcknowledged(_) => Status::unavailable(message),
            // The server's own machinery broke, not the storage.
            WriterFailure::FlusherStart(_) | WriterFailure::FlusherStopped => {
                Status::internal(message)
            }
        },
        StoreError::DataDirLocked { .. }
        | StoreError::NotADataDir { .. }
        | StoreError::NewerFormat { .. }
        | StoreError::Backend(_) => Status::internal(message),
    }
}

/// A refused event names the workflow rule it breaks, for complaints and follow-ups alike.
fn rule_status(
    message: String,
    index: usize,
    event_type: &str,
    code: &str,
    violation: &dyn std::fmt::Display,
) -> Status {
    let mut details = ErrorDetails::with_precondition_failure_violation(
        "WORKFLOW_RULE",
        format!("events[{index}]"),
        clip(&violation.to_string()),
    );
    details.set_error_info(
        code.to_uppercase(),
        DOMAIN,
        [
            ("rule".to_owned(), code.to_owned()),
            ("event_type".to_owned(), event_type.to_owned()),
        ],
    );
    Status::with_error_details(Code::FailedPrecondition, message, details)
}

impl From<ApiError> for Status {
    fn from(err: ApiError) -> Self {
        let message = clip(&err.to_string()).into_owned();
        match err {
            ApiError::Field(violation) => violation.into_status(),
            ApiError::Engine(EngineError::Store(err)) => store_status(err),
            ApiError::Engine(EngineError::Rule {
                index,
                event_type,
                violation,
            }) => rule_status(message, index, event_type, violation.code(), &violation),
            ApiError::Engine(EngineError::FollowUpRule {
                index,
                event_type,
                violation,
            }) => rule_status(message, index, event_type, violation.code(), &violation),
            ApiError::Engine(EngineError::NotFound(_) | EngineError::FollowUpNotFound(_))
            | ApiError::NotFound(_) => Status::not_found(message),
            ApiError::Engine(EngineError::Unreadable { .. }) => Status::data_loss(message),
            ApiError::Engine(EngineError::Contention(id)) => with_info(
                Code::Aborted,
                message,
                "CONTENTION",
                vec![("complaint_id".into(), id.to_string())],
            ),
            ApiError::Engine(EngineError::FollowUpContention(id)) => with_info(
                Code::Aborted,
                message,
                "CONTENTION",
                vec![("follow_up_id".into(), id.to_string())],
            ),
            ApiError::Engine(EngineError::Forbidden(_)) => Status::permission_denied(message),
            ApiError::Projection(_) => Status::internal(message),
            ApiError::Unauthenticated(_) => Status::unauthenticated(message),
            ApiError::PermissionDenied(_) => Status::permission_denied(message),
            ApiError::AlreadyExists(_) => Status::already_exists(message),
            ApiError::FailedPrecondition(_) => Status::failed_precondition(message),
            ApiError::ResourceExhausted(_) => Status::resource_exhausted(message),
            ApiError::SubscriberTooSlow {
                resume_position, ..
            } => with_info(
                Code::ResourceExhausted,
                message,
                "SUBSCRIBER_TOO_SLOW",
                vec![("resume_position".into(), resume_position.to_string())],
            ),
            ApiError::ShuttingDown { resume_position } => with_info(
                Code::Unavailable,
                message,
                "SHUTTING_DOWN",
                vec![("resume_position".into(), resume_position.to_string())],
            ),
            // The node is behind or cut off from the log: a retry, later or elsewhere,
            // may find it there.
            ApiError::PositionNotReached {
                min_position,
                next_position,
                ..
            } => with_info(
                Code::Unavailable,
                message,
                "POSITION_NOT_REACHED",
                vec![
                    ("min_position".into(), min_position.to_string()),
                    ("next_position".into(), next_position.to_string()),
                ],
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use complaintflow_log::StreamId;

    #[test]
    fn a_version_conflict_is_aborted_with_both_versions() {
        let status: Status = ApiError::from(StoreError::WrongExpectedVersion {
            stream: StreamId::new("C-1").unwrap(),
            expected: ExpectedVersion::Exact(3),
            actual: Some(5),
        })
        .into();
        assert_eq!(status.code(), Code::Aborted);
        let info = status.get_details_error_info().expect("error info");
        assert_eq!(info.reason, "WRONG_EXPECTED_VERSION");
        assert_eq!(
            info.metadata.get("expected_version").map(String::as_str),
            Some("3")
        );
        assert_eq!(
            info.metadata.get("actual_version").map(String::as_str),
            Some("5")
        );
    }

    #[test]
    fn echoed_values_are_clipped_on_a_character_boundary() {
        assert_eq!(clip("SH-0042"), "SH-0042");
        let long = "经".repeat(2_000_000);
        let clipped = clip(&long);
        assert!(clipped.len() < MAX_ECHO_BYTES + 40, "{}", clipped.len());
        assert!(clipped.ends_with(&format!("({} more bytes)", long.len() - 255)));
        let status: Status = ApiError::NotFound(format!("complaint {long} not found")).into();
        assert!(status.message().len() < MAX_ECHO_BYTES + 40);
        let status: Status = ApiError::from(StoreError::IdempotencyConflict {
            event_id: uuid::Uuid::nil(),
            reason: long.clone(),
        })
        .into();
        assert_eq!(status.code(), Code::AlreadyExists);
        assert!(status.message().len() < MAX_ECHO_BYTES + 40);
    }

    #[test]
    fn a_position_not_reached_is_unavailable_with_the_nodes_position() {
        let status: Status = ApiError::PositionNotReached {
            min_position: 41,
            next_position: 17,
            waited: Duration::from_secs(1),
        }
        .into();
        assert_eq!(status.code(), Code::Unavailable);
        let info = status.get_details_error_info().expect("error info");
        assert_eq!(info.reason, "POSITION_NOT_REACHED");
        assert_eq!(
            info.metadata.get("next_position").map(String::as_str),
            Some("17")
        );
        assert_eq!(
            info.metadata.get("min_position").map(String::as_str),
            Some("41")
        );
    }

    #[test]
    fn invalid_input_names_the_field() {
        let status: Status = ApiError::from(StoreError::InvalidInput(
            complaintflow_log::InvalidInput::new("events[0].payload", "too big"),
        ))
        .into();
        assert_eq!(status.code(), Code::InvalidArgument);
        let bad = status.get_details_bad_request().expect("bad request");
        assert_eq!(bad.field_violations[0].field, "events[0].payload");
    }
}
