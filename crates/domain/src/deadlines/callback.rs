//! When to try an unanswered customer again.

use jiff::Timestamp;

use crate::policy::Policy;
use crate::values::RegionCode;
use crate::vocabulary::DaySlot;

/// Days ahead to look for a free time of day; three slots a day means one
/// is always found within two days.
const DAYS_AHEAD: i64 = 3;

/// The earliest moment after `last_failed` + the minimum gap that lies in a
/// time of day not yet used by this run of unanswered calls (any time of day
/// when the policy does not ask for distinct ones).
pub(super) fn next_attempt_at(
    policy: &Policy,
    region: &RegionCode,
    last_failed: Timestamp,
    used: &[DaySlot],
) -> Option<Timestamp> {
    let earliest = last_failed.checked_add(policy.min_callback_gap()).ok()?;
    let tz = policy.calendar(region).time_zone();
    let first_day = tz.to_datetime(earliest).date();
    let distinct = policy.callbacks().distinct_slots;
    (0..DAYS_AHEAD)
        .filter_map(|offset| first_day.checked_add(jiff::Span::new().days(offset)).ok())
        .flat_map(|day| DaySlot::ALL.iter().map(move |slot| (day, *slot)))
        .filter(|(_, slot)| !distinct || !used.contains(slot))
        .find_map(|(day, slot)| {
            let (opens, closes) = policy.slot_bounds(slot);
            let opens = tz.to_timestamp(day.to_datetime(opens)).ok()?;
            let closes = tz.to_timestamp(day.to_datetime(closes)).ok()?;
            let candidate = earliest.max(opens);
            (candidate < closes).then_some(candidate)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().expect("test timestamp")
    }

    fn cn() -> RegionCode {
        RegionCode::parse("CN").expect("region")
    }

    #[test]
    fn after_a_morning_failure_try_in_the_afternoon() {
        let next = next_attempt_at(
            &Policy::builtin(),
            &cn(),
            at("2025-09-01T09:30:00+08:00"),
            &[DaySlot::Morning],
        );
        assert_eq!(next, Some(at("2025-09-01T12:00:00+08:00")));
    }

    #[test]
    fn the_minimum_gap_is_respected_inside_a_free_slot() {
        let next = next_attempt_at(
            &Policy::builtin(),
            &cn(),
            at("2025-09-01T11:30:00+08:00"),
            &[DaySlot::Morning],
        );
        assert_eq!(next, Some(at("2025-09-01T13:30:00+08:00")));
    }

    #[test]
    fn when_todays_free_slots_are_gone_try_tomorrow() {
        let next = next_attempt_at(
            &Policy::builtin(),
            &cn(),
            at("2025-09-01T20:00:00+08:00"),
            &[DaySlot::Evening, DaySlot::Afternoon],
        );
        assert_eq!(next, Some(at("2025-09-02T09:00:00+08:00")));
    }
}
