//! Who may touch which stream, as the engine asks it before any rule.
//!
//! Every stream the engine keeps belongs to one dealer in one region, from the event that
//! opens it on. The engine knows which event that is and what the stream's state says;
//! the caller's side only answers two questions about a dealer and a region. The answers
//! never tell a stream the caller may not see from one that does not exist.

use super::EngineError;

/// What a caller may see and open.
pub trait Access: Send + Sync {
    /// Whether the caller sees what `owner` owns.
    fn sees(&self, owner: Owner<'_>) -> bool;

    /// Whether the caller may open a stream (file a complaint, open a follow-up) for
    /// `owner`; the error says why not.
    fn may_open(&self, owner: Owner<'_>) -> Result<(), String>;
}

/// Access for the engine's own timers and trusted tools: everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct Trusted;

impl Access for Trusted {
    fn sees(&self, _: Owner<'_>) -> bool {
        true
    }

    fn may_open(&self, _: Owner<'_>) -> Result<(), String> {
        Ok(())
    }
}

/// The owner of a stream, from its state or from the event that opens it.
#[derive(Debug, Clone, Copy)]
pub struct Owner<'a> {
    pub dealer: &'a str,
    pub region: &'a str,
}

/// The one decision: a stream the caller sees may be written (the rules judge what);
/// a new one only by an opening event the caller may make; anything else is not found.
pub(crate) fn admit(
    access: &dyn Access,
    existing: Option<Owner<'_>>,
    opening: Option<Owner<'_>>,
    not_found: impl FnOnce() -> EngineError,
) -> Result<(), EngineError> {
    match (existing, opening) {
        (Some(owner), _) if access.sees(owner) => Ok(()),
        (Some(_), _) => Err(not_found()),
        (None, Some(owner)) => access.may_open(owner).map_err(EngineError::Forbidden),
        (None, None) => Err(not_found()),
    }
}
