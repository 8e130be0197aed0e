//! The desk's everyday steps from a complaint's page: acknowledge, apologize, report to
//! the CAC, record a contact attempt, add a note. Each form carries the version it was
//! drawn at and a request id, so a stale form is a version conflict and a form sent
//! twice is a replay; the rules that refuse a step are the engine's, named on the page.

use axum::extract::{Form, Path};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::civil::DateTime;
use maud::{Markup, html};
use serde::Deserialize;
use tonic::Code;

use super::complaint::{self, Banner};
use crate::api::proto;
use crate::api::proto::workflow_event::Kind;
use crate::http::console::clock;
use crate::http::console::error::{ConsoleError, refused_rule};
use crate::http::console::i18n::{self, Msg};
use crate::http::console::listing::path_of;
use crate::http::console::session::Desk;

/// The steps, by the name in their form's URL.
const STEPS: [(&str, Msg); 5] = [
    ("acknowledge", Msg::Acknowledge),
    ("apologize", Msg::Apologize),
    ("report-to-cac", Msg::ReportToCac),
    ("contact-attempt", Msg::RecordContact),
    ("note", Msg::AddNote),
];

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct StepForm {
    csrf: String,
    request_id: String,
    expected_version: String,
    confirmed_facts: String,
    plan_promised_by: String,
    note: String,
    cac_reference: String,
    purpose: String,
    answered: String,
    called_at: String,
    text: String,
}

fn step_fields(desk: &Desk, step: &str) -> Markup {
    let lang = desk.lang;
    match step {
        "acknowledge" => html! {
            label { (desk.t(Msg::ConfirmedFacts)) input type="text" name="confirmed_facts" size="40"; }
            label { (desk.t(Msg::PlanPromisedBy)) input type="datetime-local" name="plan_promised_by"; }
        },
        "apologize" => html! {
            label { (desk.t(Msg::Note)) input type="text" name="note" size="40"; }
        },
        "report-to-cac" => html! {
            label { (desk.t(Msg::CacReference)) input type="text" name="cac_reference" size="20"; }
        },
        "contact-attempt" => html! {
            label { (desk.t(Msg::Purpose))
                select name="purpose" {
                    @for purpose in 1..=3 {
                        option value=(purpose) { (i18n::contact_purpose(purpose, lang)) }
                    }
                }
            }
            label { input type="checkbox" name="answered" value="yes"; " " (desk.t(Msg::Answered)) }
            // Agents often log a call after making it: the call's own time decides whether
            // it was within calling hours.
            label { (desk.t(Msg::CalledAt)) input type="datetime-local" name="called_at"; }
            label { (desk.t(Msg::Note)) input type="text" name="note" size="40"; }
        },
        _ => html! {
            label { (desk.t(Msg::Note)) textarea name="text" rows="2" cols="40" required {} }
        },
    }
}

/// The forms for a complaint at its current version.
pub(crate) fn forms(desk: &Desk, complaint: &proto::Complaint) -> Markup {
    html! {
        @for (step, label) in STEPS {
            form method="post" action={ (path_of(&complaint.complaint_id)) "/actions/" (step) } id={ "step-" (step) } {
                input type="hidden" name="csrf" value=(desk.csrf);
                input type="hidden" name="request_id" value=(uuid::Uuid::new_v4());
                input type="hidden" name="expected_version" value=(complaint.version);
                strong { (desk.t(label)) }
                (step_fields(desk, step))
                button type="submit" { (desk.t(Msg::Submit)) }
            }
        }
    }
}

/// The `datetime-local` value of `field`, read in the complaint's region's zone.
fn local_time(
    field: &'static str,
    value: &str,
    zone: &jiff::tz::TimeZone,
) -> Result<Option<prost_types::Timestamp>, ConsoleError> {
    if value.is_empty() {
        return Ok(None);
    }
    let bad = ConsoleError::Field {
        field,
        reason: "not a date and time",
    };
    let local: DateTime = value.parse().map_err(|_| bad)?;
    let at = zone.to_timestamp(local).map_err(|_| ConsoleError::Field {
        field,
        reason: "not a time in the region's zone",
    })?;
    Ok(Some(clock::to_proto(at)))
}

fn event(step: &str, form: &StepForm, zone: &jiff::tz::TimeZone) -> Result<Kind, ConsoleError> {
    Ok(match step {
        "acknowledge" => Kind::Acknowledged(proto::Acknowledged {
            confirmed_facts: form.confirmed_facts.clone(),
            plan_promised_by: local_time("plan_promised_by", &form.plan_promised_by, zone)?,
        }),
        "apologize" => Kind::Apologized(proto::Apologized {
            note: form.note.clone(),
        }),
        "report-to-cac" => Kind::ReportedToCac(proto::ReportedToCac {
            cac_reference: form.cac_reference.clone(),
        }),
        "contact-attempt" => Kind::ContactAttempted(proto::ContactAttempted {
            purpose: form.purpose.parse().unwrap_or(0),
            answered: !form.answered.is_empty(),
            recording: String::new(),
            note: form.note.clone(),
        }),
        "note" => Kind::NoteAdded(proto::NoteAdded {
            text: form.text.clone(),
        }),
        _ => {
            return Err(ConsoleError::Field {
                field: "action",
                reason: "no such step",
            });
        }
    })
}

pub(crate) async fn submit(
    desk: Desk,
    Path((id, step)): Path<(String, String)>,
    Form(form): Form<StepForm>,
) -> Response {
    // Refused before anything is read or written.
    if !desk.csrf_ok(&form.csrf) {
        return desk.failure(&ConsoleError::Csrf);
    }
    match append(&desk, &id, &step, &form).await {
        Ok(replayed) => {
            let done = if replayed { "replayed" } else { "recorded" };
            Redirect::to(&format!("{}?done={done}", path_of(&id))).into_response()
        }
        Err(ConsoleError::Call(status)) if status.code() == Code::FailedPrecondition => {
            let banner = Banner::Refused {
                title: Msg::RuleRefused,
                rule: refused_rule(&status),
                detail: status.message().to_owned(),
            };
            complaint::refused(&desk, &id, banner).await
        }
        Err(ConsoleError::Call(status)) if status.code() == Code::Aborted => {
            let banner = Banner::Refused {
                title: Msg::VersionConflict,
                rule: None,
                detail: status.message().to_owned(),
            };
            complaint::refused(&desk, &id, banner).await
        }
        Err(error) => desk.failure(&error),
    }
}

/// Appends the step; whether the request was a replay.
async fn append(desk: &Desk, id: &str, step: &str, form: &StepForm) -> Result<bool, ConsoleError> {
    let name = format!("complaints/{id}");
    let mut client = desk.complaints();
    // The region's zone reads the form's local times; the read is in the caller's scope.
    let region = client
        .get_complaint(proto::GetComplaintRequest {
            name: name.clone(),
            as_of: None,
            min_position: None,
        })
        .await?
        .into_inner()
        .complaint
        .map(|c| c.region_code)
        .unwrap_or_default();
    let zone = clock::calendar(desk.serving.app.engine.policy(), &region).time_zone();
    let kind = event(step, form, zone)?;
    // Only a call is dated by the form; every other step happens as it is recorded.
    let occur_time = match step {
        "contact-attempt" => local_time("called_at", &form.called_at, zone)?,
        _ => None,
    };
    let expected_version = form
        .expected_version
        .parse()
        .map_err(|_| ConsoleError::Field {
            field: "expected_version",
            reason: "not a version",
        })?;
    let response = client
        .append_events(proto::AppendEventsRequest {
            name,
            request_id: form.request_id.clone(),
            expected_version: Some(expected_version),
            events: vec![proto::EventSubmission {
                event: Some(proto::WorkflowEvent { kind: Some(kind) }),
                occur_time,
                ..Default::default()
            }],
            backfill: false,
        })
        .await?
        .into_inner();
    Ok(response.replayed)
}
