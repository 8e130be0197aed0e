//! A merge's consequence on the complaint that carries on: the survivor records the
//! duplicate and what it still owed (`complaint.duplicate_merged`), so that nothing the
//! duplicate promised is forgotten when it stops taking events.
//!
//! The store appends to one stream at a time, so the merge (on the duplicate) and its
//! record (on the survivor) are two appends: the command that merges (`AppendEvents`)
//! submits the merge, then has the record written here before it answers. The record's
//! event id is derived from the merge's, so it is written once however often this runs,
//! and a retry of the merge (the answer lost, the server stopped between the two) is
//! answered from the log and writes the record if it is missing. Tools that submit
//! straight to the engine (the demo generator) write no record unless they call this.

use uuid::Uuid;

use super::{AsOf, Engine, EngineError, Submission, Trusted, complaint_stream};
use complaintflow_domain::events::MergedInto;
use complaintflow_domain::values::ComplaintId;
use complaintflow_domain::{Actor, ComplaintEvent, merge::duplicate_merged};
use complaintflow_log::{AppendOutcome, ExpectedVersion, StoreError};

/// The namespace of the survivor's record ids, derived from the merge's event id.
const MERGE_NAMESPACE: Uuid = Uuid::from_u128(0x3b1f_77c2_90a4_4d5e_8c61_2f0e_9d4b_71a3);

/// The event id of the survivor's record of the merge stored as `merge_event`.
pub(crate) fn duplicate_merged_event_id(merge_event: Uuid) -> Uuid {
    Uuid::new_v5(&MERGE_NAMESPACE, merge_event.as_bytes())
}

impl Engine {
    /// Records every merge among `submissions` (stored as `outcome`) on its survivor.
    pub async fn carry_merges(
        &self,
        duplicate: &ComplaintId,
        submissions: &[Submission],
        outcome: &AppendOutcome,
    ) -> Result<(), EngineError> {
        for (index, (submission, slot)) in submissions.iter().zip(&outcome.slots).enumerate() {
            let ComplaintEvent::MergedInto(merge) = &submission.event else {
                continue;
            };
            self.carry_merge(duplicate, merge, index, slot.event_id, slot.version)
                .await?;
        }
        Ok(())
    }

    async fn carry_merge(
        &self,
        duplicate: &ComplaintId,
        merge: &MergedInto,
        index: usize,
        merge_event: Uuid,
        merge_version: u64,
    ) -> Result<(), EngineError> {
        let event_id = duplicate_merged_event_id(merge_event);
        let stream = complaint_stream(&merge.target).map_err(StoreError::from)?;
        if self.store.find_event(&stream, &event_id).await?.is_some() {
            return Ok(());
        }
        // What the duplicate owed right before it was merged away.
        let before = match merge_version.checked_sub(1) {
            Some(version) => self.load(duplicate, AsOf::Version(version)).await?,
            None => return Err(EngineError::NotFound(duplicate.clone())),
        };
        let event: ComplaintEvent = duplicate_merged(&before, &self.policy).into();
        let record = Submission {
            event_id,
            event,
            occurred_at: None,
            correlation_id: Some(merge_event),
            causation_id: Some(merge_event),
        };
        // Written once: a copy running beside this one finds it stored and replays.
        self.submit(
            &Actor::engine(),
            &merge.target,
            ExpectedVersion::Any,
            &[record],
            &Trusted,
        )
        .await
        .map_err(|err| match err {
            // The record is the merge's consequence: its refusal is the merge's.
            EngineError::Rule {
                event_type,
                violation,
                ..
            } => EngineError::Rule {
                index,
                event_type,
                violation,
            },
            other => other,
        })?;
        Ok(())
    }
}
