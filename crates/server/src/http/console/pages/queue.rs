//! The work queue (`/`): the DCAC's daily check of open and unanswered complaints
//! (seed 002), sorted by the next deadline, with the counts at a glance.

use axum::extract::Query;
use axum::response::{IntoResponse, Response};
use jiff::civil::Date;
use maud::{Markup, html};
use serde::{Deserialize, Serialize};

use crate::api::proto;
use crate::http::console::clock;
use crate::http::console::error::ConsoleError;
use crate::http::console::i18n::{self, Lang, Msg};
use crate::http::console::layout::page;
use crate::http::console::listing::{self, is_open, path_of};
use crate::http::console::session::Desk;

const PAGE_SIZE: usize = 50;

/// The queue's filters, as the form and the links carry them.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(default)]
pub(crate) struct QueueQuery {
    pub view: String,
    pub dealer: String,
    pub region: String,
    pub status: String,
    pub category: String,
    pub severity: String,
    pub from: String,
    pub to: String,
    pub page: String,
    #[serde(skip_serializing)]
    pub lang: String,
}

/// The queue's tabs: which open complaints a person looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum View {
    All,
    Unanswered,
    AtRisk,
    Overdue,
    Unreachable,
    Waiting,
}

const VIEWS: [(View, &str, Msg); 6] = [
    (View::All, "all", Msg::ViewAll),
    (View::Unanswered, "unanswered", Msg::ViewUnanswered),
    (View::AtRisk, "at-risk", Msg::ViewAtRisk),
    (View::Overdue, "overdue", Msg::ViewOverdue),
    (View::Unreachable, "unreachable", Msg::ViewUnreachable),
    (View::Waiting, "waiting", Msg::ViewWaiting),
];

impl View {
    fn parse(code: &str) -> Self {
        VIEWS
            .iter()
            .find(|(_, name, _)| *name == code)
            .map_or(Self::All, |(view, _, _)| *view)
    }

    /// Whether an open complaint belongs in this view. Unanswered: still as received,
    /// nobody has started on it.
    fn holds(self, complaint: &proto::Complaint) -> bool {
        match self {
            Self::All => true,
            Self::Unanswered => complaint.status == proto::Status::Received as i32,
            Self::AtRisk => complaint.at_risk,
            Self::Overdue => complaint.overdue,
            Self::Unreachable => complaint.customer_unreachable,
            Self::Waiting => complaint.waiting_for != proto::WaitingFor::Unspecified as i32,
        }
    }
}

fn number(value: &str) -> i32 {
    value.parse().unwrap_or(0)
}

/// The start of a `YYYY-MM-DD` day in the network's zone.
fn day_start(desk: &Desk, value: &str, days_after: i64) -> Option<prost_types::Timestamp> {
    let date: Date = value.parse().ok()?;
    desk.day_start(date.checked_add(jiff::Span::new().days(days_after)).ok()?)
}

fn filter(desk: &Desk, query: &QueueQuery) -> proto::ListComplaintsRequest {
    proto::ListComplaintsRequest {
        dealer_code: query.dealer.trim().to_owned(),
        region_code: query.region.trim().to_owned(),
        status: number(&query.status),
        category: number(&query.category),
        severity: number(&query.severity),
        filed_after: day_start(desk, &query.from, 0),
        filed_before: day_start(desk, &query.to, 1),
        ..Default::default()
    }
}

/// The next deadline's due time, for sorting: none sorts last.
fn next_due(complaint: &proto::Complaint) -> (bool, i64, i32) {
    complaint
        .deadlines
        .first()
        .and_then(|deadline| deadline.due_time.as_ref())
        .map_or((true, 0, 0), |due| (false, due.seconds, due.nanos))
}

pub(crate) async fn queue(desk: Desk, Query(query): Query<QueueQuery>) -> Response {
    match render(&desk, &query).await {
        Ok(page) => page.into_response(),
        Err(error) => desk.failure(&error),
    }
}

async fn render(desk: &Desk, query: &QueueQuery) -> Result<Markup, ConsoleError> {
    let (complaints, cut) = listing::scan(desk, filter(desk, query)).await?;
    let mut open: Vec<_> = complaints.into_iter().filter(is_open).collect();
    open.sort_by_key(next_due);
    let view = View::parse(&query.view);
    let counts: Vec<usize> = VIEWS
        .iter()
        .map(|(view, _, _)| open.iter().filter(|c| view.holds(c)).count())
        .collect();
    let shown: Vec<_> = open.iter().filter(|c| view.holds(c)).collect();
    let pages = shown.len().div_ceil(PAGE_SIZE).max(1);
    let page_no = query.page.parse::<usize>().unwrap_or(1).clamp(1, pages);
    let rows = shown.iter().skip((page_no - 1) * PAGE_SIZE).take(PAGE_SIZE);
    let lang = desk.lang;
    let policy = desk.serving.app.engine.policy();
    let now = desk.serving.clock.now();
    let link = |view: &str, page: usize| {
        let query = QueueQuery {
            view: view.to_owned(),
            page: page.to_string(),
            ..query.clone()
        };
        format!(
            "/?{}",
            serde_urlencoded::to_string(&query).unwrap_or_default()
        )
    };
    let view_code = VIEWS
        .iter()
        .find(|(v, _, _)| *v == view)
        .map_or("all", |(_, code, _)| code);
    let body = html! {
        h1 { (desk.t(Msg::QueueTitle)) }
        div.counts id="counts" {
            @for ((v, code, label), count) in VIEWS.iter().zip(&counts) {
                a class=@if *v == view { "on" } href=(link(code, 1)) data-view=(code) {
                    b { (count) } (label.text(lang))
                }
            }
        }
        (filters(desk, query, view_code))
        @if cut {
            p.banner.info { (desk.t(Msg::ScanLimited)) }
        }
        @if shown.is_empty() {
            p id="empty" { (desk.t(Msg::NoComplaints)) }
        } @else {
            table id="queue" {
                thead { tr {
                    th { (desk.t(Msg::Complaint)) }
                    th { (desk.t(Msg::Dealer)) }
                    th { (desk.t(Msg::Status)) }
                    th { (desk.t(Msg::Category)) }
                    th { (desk.t(Msg::Severity)) }
                    th { (desk.t(Msg::Filed)) }
                    th { (desk.t(Msg::NextDeadline)) }
                    th { (desk.t(Msg::TimeLeft)) }
                    th { (desk.t(Msg::Level)) }
                } }
                tbody {
                    @for c in rows {
                        @let calendar = clock::calendar(policy, &c.region_code);
                        @let zone = calendar.time_zone();
                        @let next = c.deadlines.first();
                        tr data-dealer=(c.dealer_code) data-region=(c.region_code) {
                            td { a href=(path_of(&c.complaint_id)) { (c.complaint_id) } }
                            td { (c.dealer_code) " " span.muted { (c.region_code) } }
                            td {
                                (i18n::status(c.status, lang))
                                @if c.overdue { " " span.badge.bad { (desk.t(Msg::OverdueBadge)) } }
                                @else if c.at_risk { " " span.badge.warn { (desk.t(Msg::AtRiskBadge)) } }
                                @if c.customer_unreachable { " " span.badge { (desk.t(Msg::Unreachable)) } }
                                @if c.waiting_for != 0 { " " span.badge { (desk.t(Msg::WaitingFor)) " " (i18n::waiting_for(c.waiting_for, lang)) } }
                            }
                            td { (categories(&c.categories, lang)) }
                            td { (i18n::severity(c.severity, lang)) }
                            td { (clock::local(c.file_time.as_ref(), zone)) }
                            td {
                                @if let Some(d) = next {
                                    (i18n::deadline_kind(d.kind, lang)) br;
                                    span.muted { (clock::local(d.due_time.as_ref(), zone)) }
                                }
                            }
                            td {
                                @if let Some(d) = next {
                                    (clock::time_left_text(
                                        clock::from_proto(d.due_time.as_ref())
                                            .and_then(|due| clock::business_time_left(calendar, now, due)),
                                        lang,
                                    ))
                                }
                            }
                            td { (i18n::level(c.level, lang)) }
                        }
                    }
                }
            }
            div.pager {
                @if page_no > 1 { a href=(link(view_code, page_no - 1)) { (desk.t(Msg::PagePrevious)) } }
                span { (page_no) " / " (pages) " · " (shown.len()) }
                @if page_no < pages { a href=(link(view_code, page_no + 1)) id="next-page" { (desk.t(Msg::PageNext)) } }
            }
        }
    };
    Ok(page(&desk.chrome(), desk.t(Msg::QueueTitle), body))
}

pub(crate) fn categories(values: &[i32], lang: Lang) -> String {
    values
        .iter()
        .map(|value| i18n::category(*value, lang))
        .collect::<Vec<_>>()
        .join("、")
}

/// A `<select>` over the values of a proto enum, with "any" first.
fn choice(
    name: &str,
    label: &str,
    any: &str,
    selected: &str,
    values: impl Iterator<Item = i32>,
    text: impl Fn(i32) -> &'static str,
) -> Markup {
    html! {
        label { (label)
            select name=(name) {
                option value="" { (any) }
                @for value in values {
                    @let code = value.to_string();
                    option value=(code) selected[code == selected] { (text(value)) }
                }
            }
        }
    }
}

fn filters(desk: &Desk, query: &QueueQuery, view: &str) -> Markup {
    let lang = desk.lang;
    let any = desk.t(Msg::Any);
    html! {
        form.filters method="get" action="/" id="filters" {
            input type="hidden" name="view" value=(view);
            label { (desk.t(Msg::Dealer)) input type="text" name="dealer" size="8" value=(query.dealer); }
            label { (desk.t(Msg::Region)) input type="text" name="region" size="8" value=(query.region); }
            (choice("status", desk.t(Msg::Status), any, &query.status, 1..=8, |v| i18n::status(v, lang)))
            (choice("category", desk.t(Msg::Category), any, &query.category, 1..=6, |v| i18n::category(v, lang)))
            (choice("severity", desk.t(Msg::Severity), any, &query.severity, 1..=4, |v| i18n::severity(v, lang)))
            label { (desk.t(Msg::FiledFrom)) input type="date" name="from" value=(query.from); }
            label { (desk.t(Msg::FiledTo)) input type="date" name="to" value=(query.to); }
            button type="submit" { (desk.t(Msg::Filter)) }
        }
    }
}
