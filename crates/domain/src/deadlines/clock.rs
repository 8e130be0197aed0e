//! Turning "N hours of business time since X, except while paused" into
//! an instant.

use jiff::{SignedDuration, Timestamp};

use crate::calendar::{BusinessCalendar, CalendarError};

/// How a clock counts time.
#[derive(Debug, Clone, Copy)]
pub(super) enum Measure<'a> {
    /// Only working hours of the calendar count.
    Business(&'a BusinessCalendar),
    /// Every second counts (emergencies do not wait for Monday).
    Wall,
}

impl Measure<'_> {
    fn add(self, start: Timestamp, amount: SignedDuration) -> Result<Timestamp, CalendarError> {
        match self {
            Measure::Business(calendar) => calendar.add_business_duration(start, amount),
            Measure::Wall => Ok(start.checked_add(amount)?),
        }
    }

    pub(super) fn between(
        self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<SignedDuration, CalendarError> {
        match self {
            Measure::Business(calendar) => calendar.business_time_between(from, to),
            Measure::Wall => Ok(to.duration_since(from).max(SignedDuration::ZERO)),
        }
    }
}

/// A period during which a clock stands still; `ends` is `None` while it lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Stop {
    pub starts: Timestamp,
    pub ends: Option<Timestamp>,
}

/// When `amount` of time (as `measure` counts it) has run on a clock started
/// at `start` that stands still during `stops` (chronological). `None` while
/// the clock is stopped before reaching its end: it has no due time yet.
pub(super) fn run_until(
    measure: Measure<'_>,
    start: Timestamp,
    amount: SignedDuration,
    stops: &[Stop],
) -> Result<Option<Timestamp>, CalendarError> {
    let mut cursor = start;
    let mut remaining = amount;
    for stop in stops {
        if stop.ends.is_some_and(|ends| ends <= cursor) {
            continue;
        }
        if stop.starts > cursor {
            let ran = measure.between(cursor, stop.starts)?;
            if ran >= remaining {
                return measure.add(cursor, remaining).map(Some);
            }
            remaining -= ran;
        }
        match stop.ends {
            Some(ends) => cursor = ends,
            None => return Ok(None),
        }
    }
    measure.add(cursor, remaining).map(Some)
}

/// `percent` of `amount`, for warnings.
pub(super) fn share(amount: SignedDuration, percent: u8) -> SignedDuration {
    amount * i32::from(percent) / 100
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 1 September 2025 at `hour`:00 UTC.
    fn hour(hour: i8) -> Timestamp {
        jiff::civil::date(2025, 9, 1)
            .at(hour, 0, 0, 0)
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .map(|zoned| zoned.timestamp())
            .expect("test instant")
    }

    fn stop(starts: i8, ends: Option<i8>) -> Stop {
        Stop {
            starts: hour(starts),
            ends: ends.map(hour),
        }
    }

    /// When a wall clock started at 10:00 with `hours` to run ends.
    fn due(hours: i64, stops: &[Stop]) -> Option<i8> {
        let end = run_until(
            Measure::Wall,
            hour(10),
            SignedDuration::from_hours(hours),
            stops,
        )
        .expect("in range")?;
        let hours_after = end.duration_since(hour(0)).as_hours();
        Some(i8::try_from(hours_after).expect("same day"))
    }

    #[test]
    fn without_stops_it_just_adds() {
        assert_eq!(due(2, &[]), Some(12));
    }

    #[test]
    fn a_stop_pushes_the_end_back_by_its_length() {
        assert_eq!(due(2, &[stop(11, Some(14))]), Some(15));
    }

    #[test]
    fn an_open_stop_suspends_the_clock() {
        assert_eq!(due(2, &[stop(11, None)]), None);
    }

    #[test]
    fn stops_after_the_end_or_before_the_start_do_not_count() {
        assert_eq!(due(2, &[stop(8, Some(9)), stop(13, None)]), Some(12));
    }

    #[test]
    fn a_stop_that_began_before_the_clock_delays_its_start() {
        assert_eq!(due(1, &[stop(8, Some(11))]), Some(12));
    }

    #[test]
    fn share_is_a_percentage() {
        assert_eq!(
            share(SignedDuration::from_hours(4), 75),
            SignedDuration::from_hours(3)
        );
    }
}
