//! A complaint's page: its state, running deadlines with the business time left, its
//! place on the escalation ladder, the whole timeline, the chain's verification, the
//! complaint as it was at any earlier version, and the desk's everyday steps.

use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::actions;
use crate::api::convert::event_from_proto;
use crate::api::proto;
use crate::http::console::clock;
use crate::http::console::error::ConsoleError;
use crate::http::console::i18n::{self, Msg};
use crate::http::console::layout::page;
use crate::http::console::listing::path_of;
use crate::http::console::pages::queue::categories;
use crate::http::console::session::Desk;
use complaintflow_domain::values::ComplaintId;

/// The ladder's levels, bottom to top.
const LADDER: [proto::Level; 6] = [
    proto::Level::DealerDesk,
    proto::Level::ServiceManager,
    proto::Level::ShiftSupervisor,
    proto::Level::ManufacturerCac,
    proto::Level::RegionalManager,
    proto::Level::RegionalEngineer,
];

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ComplaintQuery {
    version: String,
    done: String,
}

/// A message above the page: what a step did, or why it was refused.
pub(crate) enum Banner {
    Done(Msg),
    Refused {
        title: Msg,
        rule: Option<String>,
        detail: String,
    },
}

pub(crate) async fn show(
    desk: Desk,
    Path(id): Path<String>,
    Query(query): Query<ComplaintQuery>,
) -> Response {
    let version = query.version.parse::<u64>().ok();
    let banner = match query.done.as_str() {
        "recorded" => Some(Banner::Done(Msg::Recorded)),
        "replayed" => Some(Banner::Done(Msg::Replayed)),
        _ => None,
    };
    match render(&desk, &id, version, banner.as_ref()).await {
        Ok(page) => page.into_response(),
        Err(error) => desk.failure(&error),
    }
}

/// Every event of the complaint, oldest first.
async fn timeline(desk: &Desk, id: &str) -> Result<Vec<proto::RecordedEvent>, ConsoleError> {
    let mut client = desk.complaints();
    let mut events = Vec::new();
    let mut page_token = String::new();
    loop {
        let response = client
            .list_complaint_events(proto::ListComplaintEventsRequest {
                parent: format!("complaints/{id}"),
                page_size: 1000,
                page_token: std::mem::take(&mut page_token),
                descending: false,
                min_position: None,
            })
            .await?
            .into_inner();
        events.extend(response.events);
        if response.next_page_token.is_empty() {
            return Ok(events);
        }
        page_token = response.next_page_token;
    }
}

/// The event's content in a line: its payload's fields as `name: value`.
fn summary(event: &proto::RecordedEvent) -> String {
    let (Some(pb), Ok(id)) = (event.event.clone(), ComplaintId::parse(&event.complaint_id)) else {
        return String::new();
    };
    let Ok(domain) = event_from_proto(pb, &id, "event") else {
        return String::new();
    };
    let mut parts = Vec::new();
    flatten("", &domain.payload_json(), &mut parts);
    parts.join("; ")
}

fn flatten(prefix: &str, value: &serde_json::Value, out: &mut Vec<String>) {
    use serde_json::Value;
    match value {
        Value::Null => {}
        Value::String(s) if s.is_empty() => {}
        Value::Array(items) if items.is_empty() => {}
        Value::Object(fields) => {
            for (name, value) in fields {
                let name = if prefix.is_empty() {
                    name.clone()
                } else {
                    format!("{prefix}.{name}")
                };
                flatten(&name, value, out);
            }
        }
        Value::String(s) => out.push(format!("{prefix}: {s}")),
        other => out.push(format!("{prefix}: {other}")),
    }
}

pub(crate) async fn render(
    desk: &Desk,
    id: &str,
    version: Option<u64>,
    banner: Option<&Banner>,
) -> Result<Markup, ConsoleError> {
    let mut client = desk.complaints();
    let name = format!("complaints/{id}");
    let latest = client
        .get_complaint(proto::GetComplaintRequest {
            name: name.clone(),
            as_of: None,
            min_position: None,
        })
        .await?
        .into_inner()
        .complaint
        .unwrap_or_default();
    let shown = match version {
        Some(v) if v < latest.version => client
            .get_complaint(proto::GetComplaintRequest {
                name: name.clone(),
                as_of: Some(proto::get_complaint_request::AsOf::AsOfVersion(v)),
                min_position: None,
            })
            .await?
            .into_inner()
            .complaint
            .unwrap_or_default(),
        _ => latest.clone(),
    };
    let historical = shown.version < latest.version;
    let events: Vec<_> = timeline(desk, id)
        .await?
        .into_iter()
        .filter(|event| event.version <= shown.version)
        .collect();
    let verified = desk
        .audit()
        .verify_complaint(proto::VerifyComplaintRequest { name })
        .await?
        .into_inner()
        .result
        .unwrap_or_default();
    let lang = desk.lang;
    let policy = desk.serving.app.engine.policy();
    let calendar = clock::calendar(policy, &shown.region_code);
    let zone = calendar.time_zone();
    let now = desk.serving.clock.now();
    let c = &shown;
    let body = html! {
        h1 {
            (desk.t(Msg::Complaint)) " " span id="complaint-id" { (c.complaint_id) } " "
            @if verified.intact {
                span.badge.good id="chain" { (desk.t(Msg::ChainIntact)) " · " (verified.events_checked) " " (desk.t(Msg::EventsChecked)) }
            } @else {
                span.badge.bad id="chain" { (desk.t(Msg::ChainBroken)) }
            }
        }
        @match banner {
            Some(Banner::Done(msg)) => p.banner id="done" { (desk.t(*msg)) },
            Some(Banner::Refused { title, rule, detail }) => p.banner.bad id="refused" {
                strong { (desk.t(*title)) }
                @if let Some(rule) = rule { " · " code id="rule" { (rule) } }
                br; (detail)
            },
            None => {}
        }
        form.filters method="get" action=(path_of(id)) id="as-of" {
            label { (desk.t(Msg::AsOfVersion))
                input type="number" name="version" min="0" max=(latest.version) value=(c.version);
            }
            button type="submit" { (desk.t(Msg::ShowVersion)) }
            @if historical { a href=(path_of(id)) { (desk.t(Msg::Latest)) " (v" (latest.version) ")" } }
        }
        @if historical { p.banner.info id="historical" { (desk.t(Msg::HistoricalView)) } }
        div.grid {
            div.card {
                h2 { (desk.t(Msg::State)) }
                dl.facts {
                    dt { (desk.t(Msg::Status)) } dd id="status" { (i18n::status(c.status, lang)) }
                    dt { (desk.t(Msg::Version)) } dd id="version" { (c.version) }
                    dt { (desk.t(Msg::Dealer)) } dd { (c.dealer_code) " · " (c.region_code) }
                    dt { (desk.t(Msg::Channel)) } dd { (i18n::channel(c.channel, lang)) }
                    dt { (desk.t(Msg::Category)) } dd { (categories(&c.categories, lang)) }
                    dt { (desk.t(Msg::Severity)) } dd { (i18n::severity(c.severity, lang)) }
                    dt { (desk.t(Msg::Filed)) } dd id="filed-at" data-time=(clock::rfc3339(c.file_time.as_ref())) { (clock::local(c.file_time.as_ref(), zone)) }
                    dt { (desk.t(Msg::Customer)) } dd { @if let Some(p) = &c.customer { (p.name) " " (p.phone) } }
                    dt { (desk.t(Msg::Vehicle)) } dd { @if let Some(v) = &c.vehicle { (v.model) " " span.mono { (v.vin) } } }
                    dt { (desk.t(Msg::Description)) } dd { (c.description) }
                    dt { (desk.t(Msg::Request)) } dd { (c.customer_request) }
                    dt { (desk.t(Msg::ContactAttempts)) } dd id="contact-attempts" { (c.contact_attempts) }
                    dt { (desk.t(Msg::Unreachable)) } dd { (desk.t(if c.customer_unreachable { Msg::Yes } else { Msg::No })) }
                    @if c.waiting_for != 0 { dt { (desk.t(Msg::WaitingFor)) } dd { (i18n::waiting_for(c.waiting_for, lang)) } }
                    dt { (desk.t(Msg::Escalations)) } dd { (c.escalation_count) }
                    dt { (desk.t(Msg::Reopens)) } dd { (c.reopen_count) }
                    @if c.satisfaction_score > 0 { dt { (desk.t(Msg::Satisfaction)) } dd { (c.satisfaction_score) " / 5" } }
                }
            }
            div.card {
                h2 { (desk.t(Msg::Ladder)) }
                ol.ladder id="ladder" {
                    @for level in LADDER {
                        li class=@if level as i32 == c.level { "on" } { (i18n::level(level as i32, lang)) }
                    }
                }
                h2 { (desk.t(Msg::Deadlines)) }
                @if c.deadlines.is_empty() {
                    p.muted { (desk.t(Msg::NoDeadlines)) }
                } @else {
                    table id="deadlines" {
                        thead { tr { th { (desk.t(Msg::DeadlineKind)) } th { (desk.t(Msg::Due)) } th { (desk.t(Msg::TimeLeft)) } } }
                        tbody {
                            @for d in &c.deadlines {
                                tr {
                                    td {
                                        (i18n::deadline_kind(d.kind, lang))
                                        @if d.overdue { " " span.badge.bad { (desk.t(Msg::OverdueBadge)) } }
                                        @else if d.warned { " " span.badge.warn { (desk.t(Msg::AtRiskBadge)) } }
                                    }
                                    td { (clock::local(d.due_time.as_ref(), zone)) }
                                    td { (clock::time_left_text(clock::from_proto(d.due_time.as_ref()).and_then(|due| clock::business_time_left(calendar, now, due)), lang)) }
                                }
                            }
                        }
                    }
                }
            }
            @if !historical && desk.principal.can_write() {
                div.card.actions id="actions" {
                    h2 { (desk.t(Msg::Actions)) }
                    (actions::forms(desk, c))
                }
            }
        }
        h2 { (desk.t(Msg::Timeline)) }
        table id="timeline" {
            thead { tr {
                th { (desk.t(Msg::Version)) }
                th { (desk.t(Msg::What)) }
                th { (desk.t(Msg::Who)) }
                th { (desk.t(Msg::OccurredAt)) }
                th { (desk.t(Msg::RecordedAt)) }
            } }
            tbody {
                @for e in &events {
                    tr data-type=(e.event_type) {
                        td { a href={ (path_of(id)) "?version=" (e.version) } { (e.version) } }
                        td { strong { (i18n::event_type(&e.event_type, lang)) } br; span.muted { (summary(e)) } }
                        td.actor { (e.actor) }
                        td.time { (clock::local(e.occur_time.as_ref(), zone)) }
                        td.time { (clock::local(e.record_time.as_ref(), zone)) }
                    }
                }
            }
        }
    };
    Ok(page(&desk.chrome(), &c.complaint_id, body))
}

/// The page again, with why a step was refused.
pub(crate) async fn refused(desk: &Desk, id: &str, banner: Banner) -> Response {
    match render(desk, id, None, Some(&banner)).await {
        Ok(page) => (StatusCode::CONFLICT, page).into_response(),
        Err(error) => desk.failure(&error),
    }
}
