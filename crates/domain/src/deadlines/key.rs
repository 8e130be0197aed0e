//! Identity of one deadline instance, stored inside engine events.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::vocabulary::named_enum;

named_enum! {
    /// The clocks the engine keeps for a complaint.
    pub enum DeadlineKind {
        /// The dealer's desk reports to the CAC the same business day
        /// (major cases: within minutes).
        ReportToCac = "report_to_cac",
        /// A result (an agreed plan, or the case resolved) within N business days.
        Result = "result",
        /// The date promised to the customer in the accepted option.
        Promise = "promise",
        /// Satisfaction call-back within N business days after resolution.
        SatisfactionCallback = "satisfaction_callback",
        /// The next try after an unanswered call, in another time of day.
        CallbackRetry = "callback_retry",
        /// Failed attempts are used up: mark the customer unreachable.
        MarkUnreachable = "mark_unreachable",
        /// Regular progress reports on major cases.
        ProgressReport = "progress_report",
        /// Emergency cases: an engineer dispatched within N hours.
        EngineerDispatch = "engineer_dispatch",
        /// The dispatched engineer's announced arrival.
        EngineerArrival = "engineer_arrival",
        /// The date given at reception for a plan (seed 002 step 1, seed 001): a
        /// solution proposed by then, or the customer called with progress and a new date.
        PlanPromise = "plan_promise",
        /// A complaint the CAC pushed to the dealer: the dealer's feedback on its
        /// handling, the same business day (seed 002 五(2), (4)).
        CacFeedback = "cac_feedback",
        /// The handling result reported to the CAC within N business days of receipt
        /// (seed 002 五(4), 七 "结案并回报 CAC"); waits while a fix waits (五(6)).
        ResultReport = "result_report",
    }
}

/// Identifies one deadline instance deterministically: which clock, the
/// version of the event that started it, and a generation that counts
/// restarts of that clock from the same event (reopen rounds, repeated
/// progress reports, attempt numbers). A scheduler derives the id of the
/// event it appends from the key and the stage, so firing twice is idempotent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DeadlineKey {
    pub kind: DeadlineKind,
    pub started_by: u64,
    pub generation: u32,
}

impl fmt::Display for DeadlineKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}#{}", self.kind, self.started_by, self.generation)
    }
}
