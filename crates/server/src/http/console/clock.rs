//! Times as people in a region read them: in the region's time zone (the policy's
//! calendar for it), and time left counted in business hours.

use complaintflow_domain::Policy;
use complaintflow_domain::calendar::BusinessCalendar;
use complaintflow_domain::values::RegionCode;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use super::i18n::Lang;

/// The business calendar of `region`, or the network's default for an unknown one.
pub(crate) fn calendar<'a>(policy: &'a Policy, region: &str) -> &'a BusinessCalendar {
    match RegionCode::parse(region) {
        Ok(region) => policy.calendar(&region),
        Err(_) => policy.default_calendar(),
    }
}

pub(crate) fn from_proto(ts: Option<&prost_types::Timestamp>) -> Option<Timestamp> {
    let ts = ts?;
    Timestamp::new(ts.seconds, ts.nanos).ok()
}

pub(crate) fn to_proto(ts: Timestamp) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: ts.as_second(),
        nanos: ts.subsec_nanosecond(),
    }
}

/// RFC 3339 in UTC to the second, for machines reading the page; empty when unset.
pub(crate) fn rfc3339(ts: Option<&prost_types::Timestamp>) -> String {
    from_proto(ts).map_or_else(String::new, |ts| {
        ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    })
}

/// `2026-03-02 14:30` in `zone`; empty when unset.
pub(crate) fn local(ts: Option<&prost_types::Timestamp>, zone: &TimeZone) -> String {
    from_proto(ts).map_or_else(String::new, |ts| {
        zone.to_datetime(ts).strftime("%Y-%m-%d %H:%M").to_string()
    })
}

/// Business hours and minutes, e.g. `5h 20m` / `5小时20分`.
pub(crate) fn business_duration(duration: SignedDuration, lang: Lang) -> String {
    let minutes = duration.as_secs().max(0) / 60;
    let (hours, minutes) = (minutes / 60, minutes % 60);
    match lang {
        Lang::Zh => format!("{hours}小时{minutes}分"),
        Lang::En => format!("{hours}h {minutes}m"),
    }
}

/// Business time from `now` to `due` (negative when past due), on `calendar`.
pub(crate) fn business_time_left(
    calendar: &BusinessCalendar,
    now: Timestamp,
    due: Timestamp,
) -> Option<SignedDuration> {
    if due >= now {
        calendar.business_time_between(now, due).ok()
    } else {
        calendar.business_time_between(due, now).ok().map(|d| -d)
    }
}

/// Time left for display: `3h 20m`, or `−1h 5m` when overdue.
pub(crate) fn time_left_text(left: Option<SignedDuration>, lang: Lang) -> String {
    match left {
        None => String::new(),
        Some(left) if left.is_negative() => format!("−{}", business_duration(-left, lang)),
        Some(left) => business_duration(left, lang),
    }
}
