//! Quality follow-ups, both directions.

use crate::api::proto;
use crate::api::proto::record_follow_up_event_request::Event as ProtoEvent;
use complaintflow_domain::follow_up::{
    Answered, BecameComplaint, CallUnanswered, Closed, FollowUpEvent, FollowUpState, Opened,
};
use complaintflow_domain::values::FollowUpId;

use super::enums::enum_to_proto;
use super::events::{customer_from_proto, customer_to_proto, vehicle_from_proto, vehicle_to_proto};
use super::fields::Fields;
use super::names::id_in_name;
use super::time::{optional_timestamp_to_proto, timestamp_to_proto};
use super::violation::FieldViolation;

/// The collection of follow-up resource names: `followUps/{follow_up_id}`.
pub(crate) const FOLLOW_UPS_COLLECTION: &str = "followUps";

/// `followUps/{follow_up_id}`.
pub(crate) fn follow_up_name(id: &FollowUpId) -> String {
    format!("{FOLLOW_UPS_COLLECTION}/{id}")
}

/// The follow-up id in a resource name `followUps/{follow_up_id}`.
pub(crate) fn follow_up_id_from_name(
    name: &str,
    field: &str,
) -> Result<FollowUpId, FieldViolation> {
    let id = id_in_name(FOLLOW_UPS_COLLECTION, "follow_up_id", name, field)?;
    FollowUpId::parse(id).map_err(|err| FieldViolation::invalid(field, err))
}

/// The opening a request asks for.
pub(crate) fn opened_from_proto(pb: proto::OpenFollowUpRequest) -> Result<Opened, FieldViolation> {
    let f = Fields::at("");
    Ok(Opened {
        follow_up_id: f.value("follow_up_id", pb.follow_up_id)?,
        occasion: f.enumeration("occasion", pb.occasion)?,
        dealer: f.value("dealer_code", pb.dealer_code)?,
        region: f.value("region_code", pb.region_code)?,
        customer: customer_from_proto(f.message("customer", pb.customer)?, &f.nested("customer"))?,
        vehicle: vehicle_from_proto(f.message("vehicle", pb.vehicle)?, &f.nested("vehicle"))?,
        delivered_at: f.timestamp("deliver_time", pb.deliver_time)?,
        reference: f.optional_value("reference", pb.reference)?,
    })
}

/// The event a `RecordFollowUpEvent` request carries.
pub(crate) fn follow_up_event_from_proto(
    event: Option<ProtoEvent>,
) -> Result<FollowUpEvent, FieldViolation> {
    let f = Fields::at("");
    Ok(
        match event.ok_or_else(|| FieldViolation::required("event"))? {
            ProtoEvent::CallUnanswered(_) => CallUnanswered {}.into(),
            ProtoEvent::Answered(answered) => {
                let f = f.nested("answered");
                Answered {
                    score: f.checked("score", f.byte("score", answered.score)?)?,
                    concern: f.optional_value("concern", answered.concern)?,
                }
                .into()
            }
            ProtoEvent::BecameComplaint(became) => BecameComplaint {
                complaint_id: f
                    .nested("became_complaint")
                    .value("complaint_id", became.complaint_id)?,
            }
            .into(),
            ProtoEvent::Closed(closed) => Closed {
                note: f.nested("closed").optional_value("note", closed.note)?,
            }
            .into(),
        },
    )
}

pub fn follow_up_to_proto(state: &FollowUpState) -> proto::FollowUp {
    let opened = &state.opened;
    proto::FollowUp {
        name: follow_up_name(&opened.follow_up_id),
        occasion: enum_to_proto(opened.occasion),
        dealer_code: opened.dealer.to_string(),
        region_code: opened.region.to_string(),
        customer: Some(customer_to_proto(&opened.customer)),
        vehicle: Some(vehicle_to_proto(&opened.vehicle)),
        deliver_time: Some(timestamp_to_proto(opened.delivered_at)),
        reference: opened
            .reference
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        status: enum_to_proto(state.status),
        due_time: Some(timestamp_to_proto(state.due_at)),
        unanswered_calls: u32::from(state.unanswered_calls),
        answer_time: optional_timestamp_to_proto(state.answered.map(|(at, _)| at)),
        score: state
            .answered
            .map_or(0, |(_, score)| u32::from(score.get())),
        concern: state.concern,
        missed: state.missed,
        complaint_id: state
            .complaint
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        version: state.version,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follow_up_names_round_trip_and_refuse_complaint_names() {
        let id = FollowUpId::parse("FU-1").expect("id");
        assert_eq!(follow_up_name(&id), "followUps/FU-1");
        assert_eq!(follow_up_id_from_name("followUps/FU-1", "name"), Ok(id));
        assert!(follow_up_id_from_name("complaints/FU-1", "name").is_err());
        assert!(follow_up_id_from_name("", "name").is_err());
    }

    #[test]
    fn an_answer_needs_a_score_in_range_and_a_request_an_event() {
        let answer = |score| {
            follow_up_event_from_proto(Some(ProtoEvent::Answered(proto::FollowUpAnswered {
                score,
                concern: String::new(),
            })))
        };
        assert!(answer(4).is_ok());
        assert!(answer(0).is_err());
        assert!(answer(6).is_err());
        assert!(follow_up_event_from_proto(None).is_err());
    }
}
