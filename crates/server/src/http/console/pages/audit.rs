//! The auditor's page: verify the whole log, take a digest, check a saved one, export
//! timelines as a download. AuditService decides who may; the page only asks.

use axum::body::Body;
use axum::extract::{Form, Path, Query};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use maud::{Markup, html};
use serde::{Deserialize, Serialize};

use crate::api::convert::event_from_proto;
use crate::api::proto;
use crate::api::proto::check_digest_response::Verdict;
use crate::http::console::error::ConsoleError;
use crate::http::console::i18n::Msg;
use crate::http::console::layout::page;
use crate::http::console::session::Desk;
use complaintflow_domain::values::ComplaintId;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct AuditForm {
    csrf: String,
    position: String,
    head_hash: String,
}

/// What an operation found, shown above the forms.
enum Outcome {
    Verified(proto::VerifyResult),
    Digest(proto::Digest),
    Checked(proto::CheckDigestResponse),
}

pub(crate) async fn show(desk: Desk) -> Response {
    if !desk.principal.can_audit_log() {
        return desk.failure(&ConsoleError::Call(tonic::Status::permission_denied(
            "verifying the whole log, digests and exports need the auditor or admin role",
        )));
    }
    render(&desk, None).into_response()
}

fn broken(desk: &Desk, link: Option<&proto::BrokenLink>) -> Markup {
    html! {
        @if let Some(link) = link {
            p { (desk.t(Msg::FirstBreak)) ": " (desk.t(Msg::Position)) " " (link.position) " · "
                (link.complaint_id) " v" (link.version) " · " (link.detail) }
        }
    }
}

fn render(desk: &Desk, outcome: Option<&Outcome>) -> Markup {
    let body = html! {
        h1 { (desk.t(Msg::AuditTitle)) }
        @match outcome {
            Some(Outcome::Verified(result)) => div.banner.(if result.intact { "good" } else { "bad" }) id="outcome" {
                @if result.intact { (desk.t(Msg::ChainIntact)) } @else { (desk.t(Msg::ChainBroken)) }
                " · " (result.events_checked) " " (desk.t(Msg::EventsChecked))
                (broken(desk, result.first_break.as_ref()))
            },
            Some(Outcome::Digest(digest)) => div.banner id="outcome" {
                (desk.t(Msg::DigestTaken)) ": "
                span.mono id="digest" { (digest.position) ":" (digest.head_hash) }
            },
            Some(Outcome::Checked(check)) => {
                @let consistent = check.verdict == Verdict::Consistent as i32;
                div.banner.(if consistent { "good" } else { "bad" }) id="outcome" {
                    (desk.t(Msg::Verdict)) ": "
                    (desk.t(match Verdict::try_from(check.verdict) {
                        Ok(Verdict::Consistent) => Msg::Consistent,
                        Ok(Verdict::Truncated) => Msg::Truncated,
                        Ok(Verdict::HashMismatch) => Msg::HashMismatch,
                        _ => Msg::Broken,
                    }))
                    " · " (check.detail)
                    (broken(desk, check.first_break.as_ref()))
                }
            },
            None => {}
        }
        div.grid {
            form.card method="post" action="/audit/verify" id="verify" {
                h2 { (desk.t(Msg::VerifyLog)) }
                input type="hidden" name="csrf" value=(desk.csrf);
                button type="submit" { (desk.t(Msg::VerifyLog)) }
            }
            form.card method="post" action="/audit/digest" id="digest-form" {
                h2 { (desk.t(Msg::TakeDigest)) }
                input type="hidden" name="csrf" value=(desk.csrf);
                button type="submit" { (desk.t(Msg::TakeDigest)) }
            }
            form.card method="post" action="/audit/check" id="check" {
                h2 { (desk.t(Msg::CheckDigest)) }
                input type="hidden" name="csrf" value=(desk.csrf);
                label { (desk.t(Msg::Position)) br; input type="number" name="position" min="0" required; }
                label { (desk.t(Msg::HeadHash)) br; input type="text" name="head_hash" size="64" required; }
                button type="submit" { (desk.t(Msg::CheckDigest)) }
            }
            form.card method="get" action="/audit/export" id="export" {
                h2 { (desk.t(Msg::ExportTimelines)) }
                label { (desk.t(Msg::ComplaintIds)) br; input type="text" name="complaints" size="40"; }
                p.muted { (desk.t(Msg::ExportHelp)) }
                button type="submit" { (desk.t(Msg::ExportTimelines)) }
            }
        }
    };
    page(&desk.chrome(), desk.t(Msg::AuditTitle), body)
}

pub(crate) async fn run(
    desk: Desk,
    Path(operation): Path<String>,
    Form(form): Form<AuditForm>,
) -> Response {
    if !desk.csrf_ok(&form.csrf) {
        return desk.failure(&ConsoleError::Csrf);
    }
    match operate(&desk, &operation, &form).await {
        Ok(outcome) => render(&desk, Some(&outcome)).into_response(),
        Err(error) => desk.failure(&error),
    }
}

async fn operate(desk: &Desk, operation: &str, form: &AuditForm) -> Result<Outcome, ConsoleError> {
    let mut audit = desk.audit();
    Ok(match operation {
        "verify" => Outcome::Verified(
            audit
                .verify_log(proto::VerifyLogRequest {})
                .await?
                .into_inner()
                .result
                .unwrap_or_default(),
        ),
        "digest" => Outcome::Digest(
            audit
                .take_digest(proto::TakeDigestRequest {})
                .await?
                .into_inner()
                .digest
                .unwrap_or_default(),
        ),
        "check" => {
            let position = form
                .position
                .trim()
                .parse()
                .map_err(|_| ConsoleError::Field {
                    field: "position",
                    reason: "not a log position",
                })?;
            Outcome::Checked(
                audit
                    .check_digest(proto::CheckDigestRequest {
                        digest: Some(proto::Digest {
                            position,
                            head_hash: form.head_hash.trim().to_owned(),
                        }),
                    })
                    .await?
                    .into_inner(),
            )
        }
        _ => {
            return Err(ConsoleError::Field {
                field: "operation",
                reason: "no such audit operation",
            });
        }
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ExportQuery {
    complaints: String,
}

/// One exported event as a JSON line: the envelope and the payload, as `export` writes.
#[derive(Serialize)]
struct Line {
    complaint_id: String,
    version: u64,
    position: u64,
    event_id: String,
    event_type: String,
    schema_version: u32,
    occurred_at: Option<jiff::Timestamp>,
    recorded_at: Option<jiff::Timestamp>,
    #[serde(skip_serializing_if = "String::is_empty")]
    correlation_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    causation_id: String,
    actor: String,
    content_hash: String,
    hash: String,
    payload: serde_json::Value,
}

fn line(event: proto::RecordedEvent) -> Result<bytes::Bytes, std::io::Error> {
    use crate::http::console::clock::from_proto;
    let payload = match (event.event.clone(), ComplaintId::parse(&event.complaint_id)) {
        (Some(pb), Ok(id)) => event_from_proto(pb, &id, "event")
            .map(|e| e.payload_json())
            .map_err(|e| std::io::Error::other(e.to_string()))?,
        _ => serde_json::Value::Null,
    };
    let line = Line {
        occurred_at: from_proto(event.occur_time.as_ref()),
        recorded_at: from_proto(event.record_time.as_ref()),
        complaint_id: event.complaint_id,
        version: event.version,
        position: event.position,
        event_id: event.event_id,
        event_type: event.event_type,
        schema_version: event.schema_version,
        correlation_id: event.correlation_id,
        causation_id: event.causation_id,
        actor: event.actor,
        content_hash: event.content_hash,
        hash: event.hash,
        payload,
    };
    let mut text = serde_json::to_vec(&line).map_err(std::io::Error::other)?;
    text.push(b'\n');
    Ok(text.into())
}

/// Timelines as JSON lines, streamed as the service sends them.
pub(crate) async fn export(desk: Desk, Query(query): Query<ExportQuery>) -> Response {
    let complaint_ids = query
        .complaints
        .split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .collect();
    let stream = match desk
        .audit()
        .export_timelines(proto::ExportTimelinesRequest { complaint_ids })
        .await
    {
        Ok(response) => response.into_inner(),
        Err(status) => return desk.failure(&ConsoleError::Call(status)),
    };
    let body = Body::from_stream(stream.map(|item| match item {
        Ok(item) => item.event.map_or_else(|| Ok(bytes::Bytes::new()), line),
        Err(status) => Err(std::io::Error::other(status)),
    }));
    (
        [
            (header::CONTENT_TYPE, "application/x-ndjson"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"timelines.jsonl\"",
            ),
        ],
        body,
    )
        .into_response()
}
