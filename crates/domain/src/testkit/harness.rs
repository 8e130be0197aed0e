//! Runs events through `check` and `apply` the way the engine does, for the domain's
//! own tests: the other crates test the real engine instead.

use jiff::Timestamp;

use super::{actor, at, complaint_id, seed_004_filing};
use crate::actor::{EventMeta, Role};
use crate::events::ComplaintEvent;
use crate::policy::Policy;
use crate::rules::{CheckContext, RuleViolation, check};
use crate::state::{ComplaintState, apply};

/// Each event is checked against the state so far, dated `at`, with the engine
/// clock at `at`.
pub(crate) struct Harness {
    pub policy: Policy,
    pub state: Option<ComplaintState>,
    pub version: u64,
    pub log: Vec<(ComplaintEvent, EventMeta)>,
}

impl Harness {
    pub(crate) fn new() -> Self {
        Self::with_policy(Policy::builtin())
    }

    pub(crate) fn with_policy(policy: Policy) -> Self {
        Self {
            policy,
            state: None,
            version: 0,
            log: Vec::new(),
        }
    }

    /// A harness with the seed-004 complaint filed at `filed_at`.
    pub(crate) fn filed_at(filed_at: &str) -> Self {
        let mut harness = Self::new();
        harness.ok(seed_004_filing(), Role::DealerStaff, filed_at);
        harness
    }

    pub(crate) fn state(&self) -> &ComplaintState {
        self.state.as_ref().expect("complaint filed")
    }

    #[allow(
        clippy::unused_self,
        reason = "read as a step of the test world, like its neighbours"
    )]
    pub(crate) fn context(&self, role: Role, when: Timestamp) -> CheckContext {
        CheckContext {
            complaint_id: complaint_id(),
            actor: actor(role),
            occurred_at: when,
            now: when,
        }
    }

    pub(crate) fn try_event(
        &mut self,
        event: impl Into<ComplaintEvent>,
        role: Role,
        when: &str,
    ) -> Result<(), RuleViolation> {
        self.try_at(event, role, at(when))
    }

    pub(crate) fn try_at(
        &mut self,
        event: impl Into<ComplaintEvent>,
        role: Role,
        when: Timestamp,
    ) -> Result<(), RuleViolation> {
        let event = event.into();
        check(
            self.state.as_ref(),
            &event,
            &self.context(role, when),
            &self.policy,
        )?;
        self.append(event, role, when);
        Ok(())
    }

    /// Applies without checking (for building states the rules test against).
    pub(crate) fn append(&mut self, event: impl Into<ComplaintEvent>, role: Role, when: Timestamp) {
        let event = event.into();
        self.version += 1;
        let meta = EventMeta {
            version: self.version,
            occurred_at: when,
            recorded_at: when,
            actor: actor(role),
        };
        apply(&mut self.state, &event, &meta);
        self.log.push((event, meta));
    }

    #[track_caller]
    pub(crate) fn ok(&mut self, event: impl Into<ComplaintEvent>, role: Role, when: &str) {
        let event = event.into();
        let event_type = event.event_type();
        if let Err(violation) = self.try_event(event, role, when) {
            panic!("{event_type} refused: {} ({violation})", violation.code());
        }
    }

    /// The code of the rule that refuses `event`; the state is left unchanged.
    #[track_caller]
    pub(crate) fn refused(
        &self,
        event: impl Into<ComplaintEvent>,
        role: Role,
        when: &str,
    ) -> &'static str {
        let event = event.into();
        let ctx = self.context(role, at(when));
        match check(self.state.as_ref(), &event, &ctx, &self.policy) {
            Err(violation) => violation.code(),
            Ok(()) => panic!("{} was accepted", event.event_type()),
        }
    }
}
