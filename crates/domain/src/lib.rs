//! The pure complaint domain: events, state, rules, policy, business
//! calendar and deadlines. No I/O and no clock: `now` is always an argument.

pub mod actor;
pub mod calendar;
pub mod deadlines;
pub mod events;
pub mod follow_up;
pub mod merge;
pub mod policy;
pub mod rules;
pub mod state;
pub mod values;
pub mod vocabulary;

#[cfg(test)]
mod scenario_tests;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;

pub use actor::{Actor, EventMeta, Role};
pub use calendar::{BusinessCalendar, CalendarError, add_business_duration};
pub use deadlines::{
    Deadline, DeadlineKey, DeadlineKind, DeadlineOutcome, DueStage, Obligations, TrackedDeadline,
    beyond_calendar, on_deadline_due, tracked_deadlines,
};
pub use events::{ComplaintEvent, DecodeError};
pub use policy::{Policy, PolicyError};
pub use rules::{CheckContext, RuleViolation, check, check_reference, referenced_complaint};
pub use state::{ComplaintState, Status, apply, replay};
pub use values::InvalidValue;
