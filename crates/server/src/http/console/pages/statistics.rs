//! The statistics (seed 000's annual analysis) as charts, filtered by region, dealer and
//! period, each chart's numbers downloadable as CSV. Every number comes from
//! GetStatistics or ListComplaints in the caller's scope.

use std::collections::BTreeMap;

use axum::extract::{Path, Query};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use jiff::civil::Date;
use maud::{Markup, html};
use serde::{Deserialize, Serialize};

use crate::api::proto;
use crate::http::console::chart::Chart;
use crate::http::console::error::ConsoleError;
use crate::http::console::i18n::{self, Lang, Msg};
use crate::http::console::layout::page;
use crate::http::console::listing;
use crate::http::console::session::Desk;

#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(default)]
pub(crate) struct StatsQuery {
    pub region: String,
    pub dealer: String,
    /// First month, `YYYY-MM`.
    pub from: String,
    /// Last month, `YYYY-MM`, included.
    pub to: String,
    #[serde(skip_serializing)]
    pub lang: String,
}

/// The first instant of a `YYYY-MM` month (plus `months_after`) in the network's zone.
fn month_start(desk: &Desk, month: &str, months_after: i32) -> Option<prost_types::Timestamp> {
    let date: Date = format!("{month}-01").parse().ok()?;
    desk.day_start(
        date.checked_add(jiff::Span::new().months(months_after))
            .ok()?,
    )
}

fn request(
    query: &StatsQuery,
    start: Option<prost_types::Timestamp>,
    end: Option<prost_types::Timestamp>,
) -> proto::GetStatisticsRequest {
    proto::GetStatisticsRequest {
        region_code: query.region.trim().to_owned(),
        dealer_code: query.dealer.trim().to_owned(),
        start_time: start,
        end_time: end,
        min_position: None,
    }
}

/// One chart's rows from per-month counts: months down, keys across.
fn per_month(
    key: &'static str,
    title: Msg,
    months: &[(String, Vec<proto::Count>)],
    label: impl Fn(&str) -> String,
) -> Chart {
    let mut keys: Vec<String> = Vec::new();
    for (_, counts) in months {
        for count in counts {
            if !keys.contains(&count.key) {
                keys.push(count.key.clone());
            }
        }
    }
    keys.sort();
    let rows = months
        .iter()
        .map(|(month, counts)| {
            let values = keys
                .iter()
                .map(|key| {
                    counts
                        .iter()
                        .find(|c| &c.key == key)
                        .map_or(0.0, |c| c.count as f64)
                })
                .collect();
            (month.clone(), values)
        })
        .collect();
    Chart {
        key,
        title,
        rows_are: Msg::Month,
        series: keys.iter().map(|k| label(k)).collect(),
        rows,
        percent: false,
    }
}

/// A vocabulary key as GetStatistics reports it (`PRODUCT_QUALITY`, `product_quality`…)
/// to its label, through the proto enum of that name.
fn vocabulary<E: TryFrom<i32>>(
    key: &str,
    lang: Lang,
    prefix: &str,
    from_name: impl Fn(&str) -> Option<E>,
    to_i32: impl Fn(E) -> i32,
    text: impl Fn(i32, Lang) -> &'static str,
) -> String {
    let upper = key.to_ascii_uppercase();
    let name = if upper.starts_with(prefix) {
        upper
    } else {
        format!("{prefix}{upper}")
    };
    from_name(&name).map_or_else(
        || key.to_owned(),
        |value| text(to_i32(value), lang).to_owned(),
    )
}

fn category_label(key: &str, lang: Lang) -> String {
    vocabulary(
        key,
        lang,
        "CATEGORY_",
        proto::Category::from_str_name,
        |v| v as i32,
        i18n::category,
    )
}

fn channel_label(key: &str, lang: Lang) -> String {
    vocabulary(
        key,
        lang,
        "CHANNEL_",
        proto::Channel::from_str_name,
        |v| v as i32,
        i18n::channel,
    )
}

fn root_cause_label(key: &str, lang: Lang) -> String {
    vocabulary(
        key,
        lang,
        "ROOT_CAUSE_",
        proto::RootCause::from_str_name,
        |v| v as i32,
        i18n::root_cause,
    )
}

/// Every chart of the page, for the page and for its CSV downloads alike.
async fn charts(desk: &Desk, query: &StatsQuery) -> Result<(u64, f64, Vec<Chart>), ConsoleError> {
    let lang = desk.lang;
    let mut client = desk.complaints();
    let start = month_start(desk, &query.from, 0);
    let end = month_start(desk, &query.to, 1);
    let total = client
        .get_statistics(request(query, start, end))
        .await?
        .into_inner();
    // One call per month for the monthly breakdowns: GetStatistics sums whole months.
    let mut months = Vec::new();
    for month in &total.by_month {
        let stats = client
            .get_statistics(request(
                query,
                month_start(desk, &month.key, 0),
                month_start(desk, &month.key, 1),
            ))
            .await?
            .into_inner();
        months.push((month.key.clone(), stats));
    }
    let pick = |f: fn(&proto::GetStatisticsResponse) -> &Vec<proto::Count>| {
        months
            .iter()
            .map(|(month, stats)| (month.clone(), f(stats).clone()))
            .collect::<Vec<_>>()
    };
    let mut charts = vec![
        per_month(
            "per-month-by-category",
            Msg::PerMonthByCategory,
            &pick(|s| &s.by_category),
            |k| category_label(k, lang),
        ),
        per_month(
            "per-month-by-channel",
            Msg::PerMonthByChannel,
            &pick(|s| &s.by_channel),
            |k| channel_label(k, lang),
        ),
        per_month(
            "per-month-by-root-cause",
            Msg::PerMonthByRootCause,
            &pick(|s| &s.by_root_cause),
            |k| root_cause_label(k, lang),
        ),
    ];
    charts.push(Chart {
        key: "deadlines",
        title: Msg::DeadlinesMetMissed,
        rows_are: Msg::DeadlineKind,
        series: vec![
            Msg::Met.text(lang).to_owned(),
            Msg::Missed.text(lang).to_owned(),
        ],
        rows: total
            .deadlines
            .iter()
            .map(|d| {
                (
                    i18n::deadline_kind(d.kind, lang).to_owned(),
                    vec![d.met as f64, d.missed as f64],
                )
            })
            .collect(),
        percent: false,
    });
    charts.push(Chart {
        key: "rates",
        title: Msg::Rates,
        rows_are: Msg::Rates,
        series: vec![Msg::Rates.text(lang).to_owned()],
        rows: vec![
            (
                Msg::EscalationRate.text(lang).to_owned(),
                vec![total.escalation_rate],
            ),
            (
                Msg::ReopenRate.text(lang).to_owned(),
                vec![total.reopen_rate],
            ),
        ],
        percent: true,
    });
    // The distribution is not in GetStatistics: counted from the complaints themselves.
    let (complaints, _) = listing::scan(
        desk,
        proto::ListComplaintsRequest {
            dealer_code: query.dealer.trim().to_owned(),
            region_code: query.region.trim().to_owned(),
            filed_after: start,
            filed_before: end,
            ..Default::default()
        },
    )
    .await?;
    let mut scores = BTreeMap::from([(1, 0.0), (2, 0.0), (3, 0.0), (4, 0.0), (5, 0.0)]);
    for complaint in &complaints {
        if let Some(count) = scores.get_mut(&complaint.satisfaction_score) {
            *count += 1.0;
        }
    }
    charts.push(Chart {
        key: "satisfaction",
        title: Msg::SatisfactionDistribution,
        rows_are: Msg::Score,
        series: vec![Msg::Count.text(lang).to_owned()],
        rows: scores
            .into_iter()
            .map(|(score, count)| (score.to_string(), vec![count]))
            .collect(),
        percent: false,
    });
    charts.push(Chart {
        key: "dealers",
        title: Msg::DealersSideBySide,
        rows_are: Msg::Dealer,
        series: vec![Msg::Complaints.text(lang).to_owned()],
        rows: total
            .by_dealer
            .iter()
            .map(|c| (c.key.clone(), vec![c.count as f64]))
            .collect(),
        percent: false,
    });
    Ok((total.complaints, total.average_satisfaction, charts))
}

pub(crate) async fn show(desk: Desk, Query(query): Query<StatsQuery>) -> Response {
    match render(&desk, &query).await {
        Ok(page) => page.into_response(),
        Err(error) => desk.failure(&error),
    }
}

async fn render(desk: &Desk, query: &StatsQuery) -> Result<Markup, ConsoleError> {
    let (complaints, average, charts) = charts(desk, query).await?;
    let filters = serde_urlencoded::to_string(query).unwrap_or_default();
    let body = html! {
        h1 { (desk.t(Msg::StatisticsTitle)) }
        form.filters method="get" action="/statistics" id="filters" {
            label { (desk.t(Msg::Region)) input type="text" name="region" size="8" value=(query.region); }
            label { (desk.t(Msg::Dealer)) input type="text" name="dealer" size="8" value=(query.dealer); }
            label { (desk.t(Msg::FiledFrom)) input type="month" name="from" value=(query.from); }
            label { (desk.t(Msg::FiledTo)) input type="month" name="to" value=(query.to); }
            button type="submit" { (desk.t(Msg::Filter)) }
        }
        p id="totals" {
            (desk.t(Msg::Complaints)) ": " strong id="total" { (complaints) }
            " · " (desk.t(Msg::Satisfaction)) " (" (desk.t(Msg::Average)) "): " strong { (format!("{average:.2}")) }
        }
        div.grid.charts {
            @for chart in &charts {
                div.chart id={ "chart-" (chart.key) } {
                    h2 { (desk.t(chart.title)) }
                    @if chart.rows.is_empty() { p.muted { (desk.t(Msg::NoData)) } }
                    @else { (chart.svg()) }
                    a.csv href={ "/statistics/" (chart.key) ".csv?" (filters) } download { (desk.t(Msg::Download)) }
                }
            }
        }
    };
    Ok(page(&desk.chrome(), desk.t(Msg::StatisticsTitle), body))
}

pub(crate) async fn csv(
    desk: Desk,
    Path(file): Path<String>,
    Query(query): Query<StatsQuery>,
) -> Response {
    let Some(key) = file.strip_suffix(".csv") else {
        return desk.failure(&ConsoleError::Field {
            field: "chart",
            reason: "no such chart",
        });
    };
    let made = async {
        let (_, _, charts) = charts(&desk, &query).await?;
        let chart =
            charts
                .into_iter()
                .find(|chart| chart.key == key)
                .ok_or(ConsoleError::Field {
                    field: "chart",
                    reason: "no such chart",
                })?;
        chart.csv(desk.t(chart.rows_are))
    };
    match made.await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{key}.csv\""),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(error) => desk.failure(&error),
    }
}
