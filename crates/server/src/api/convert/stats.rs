//! The statistics answer as the API shows it.

use std::collections::BTreeMap;

use crate::api::proto;
use crate::projections::Statistics;
use complaintflow_domain::DeadlineKind;

use super::enums::enum_to_proto;

fn counts(map: &BTreeMap<String, u64>) -> Vec<proto::Count> {
    map.iter()
        .map(|(key, count)| proto::Count {
            key: key.clone(),
            count: *count,
        })
        .collect()
}

/// Buckets hold signed counts (a correction takes one back); an answer never shows
/// fewer than none.
fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

pub fn statistics_to_proto(stats: &Statistics) -> proto::GetStatisticsResponse {
    let handling = &stats.handling;
    proto::GetStatisticsResponse {
        complaints: stats.complaints,
        by_category: counts(&stats.by_category),
        by_channel: counts(&stats.by_channel),
        by_root_cause: counts(&stats.by_root_cause),
        by_dealer: counts(&stats.by_dealer),
        by_month: counts(&stats.by_month),
        deadlines: stats
            .deadlines
            .iter()
            .filter_map(|(kind, (met, missed))| {
                let kind: DeadlineKind = kind.parse().ok()?;
                Some(proto::DeadlineOutcome {
                    kind: enum_to_proto(kind),
                    met: *met,
                    missed: *missed,
                })
            })
            .collect(),
        escalation_rate: stats.escalation_rate,
        reopen_rate: stats.reopen_rate,
        average_satisfaction: stats.average_satisfaction,
        satisfaction_count: stats.satisfaction_count,
        by_nature: counts(&stats.by_nature),
        by_customer_want: counts(&stats.by_customer_want),
        by_three_change: counts(&stats.by_three_change),
        cases_shared: count(handling.cases_shared),
        prevention_plans: count(handling.prevention_plans),
        suppliers: Some(proto::SupplierStatistics {
            notified: count(handling.suppliers_notified),
            charge_backs: count(handling.supplier_charge_backs),
            charged_back_minor_units: handling.supplier_charged_back_fen.max(0),
            improvements_requested: count(handling.supplier_improvements_requested),
        }),
        plan_promises_renewed: count(handling.plan_promises_renewed),
        results_reported: count(handling.results_reported),
        duplicates_merged: count(handling.duplicates_merged),
        joint_approvals: count(handling.joint_approvals),
    }
}
