//! Turning "N hours of business time since X, except while paused" into
//! an instant.

use jiff::{SignedDuration, Timestamp};

use crate::domain::calendar::{BusinessCalendar, CalendarError};

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

    fn at(s: &str) -> Timestamp {
        s.parse().expect("test timestamp")
    }

    #[test]
    fn without_stops_it_just_adds() {
        let due = run_until(
            Measure::Wall,
            at("2025-09-01T10:00:00Z"),
            SignedDuration::from_hours(2),
            &[],
        );
        assert_eq!(due, Ok(Some(at("2025-09-01T12:00:00Z"))));
    }

    #[test]
    fn a_stop_pushes_the_end_back_by_its_length() {
        let stops = [Stop {
            starts: at("2025-09-01T11:00:00Z"),
            ends: Some(at("2025-09-01T14:00:00Z")),
        }];
        let due = run_until(
            Measure::Wall,
            at("2025-09-01T10:00:00Z"),
            SignedDuration::from_hours(2),
            &stops,
        );
        assert_eq!(due, Ok(Some(at("2025-09-01T15:00:00Z"))));
    }

    #[test]
    fn an_open_stop_suspends_the_clock() {
        let stops = [Stop {
            starts: at("2025-09-01T11:00:00Z"),
            ends: None,
        }];
        let due = run_until(
            Measure::Wall,
            at("2025-09-01T10:00:00Z"),
            SignedDuration::from_hours(2),
            &stops,
        );
        assert_eq!(due, Ok(None));
    }

    #[test]
    fn stops_after_the_end_or_before_the_start_do_not_count() {
        let stops = [
            Stop {
                starts: at("2025-09-01T08:00:00Z"),
                ends: Some(at("2025-09-01T09:00:00Z")),
            },
            Stop {
                starts: at("2025-09-01T13:00:00Z"),
                ends: None,
            },
        ];
        let due = run_until(
            Measure::Wall,
            at("2025-09-01T10:00:00Z"),
            SignedDuration::from_hours(2),
            &stops,
        );
        assert_eq!(due, Ok(Some(at("2025-09-01T12:00:00Z"))));
    }

    #[test]
    fn a_stop_that_began_before_the_clock_delays_its_start() {
        let stops = [Stop {
            starts: at("2025-09-01T08:00:00Z"),
            ends: Some(at("2025-09-01T11:00:00Z")),
        }];
        let due = run_until(
            Measure::Wall,
            at("2025-09-01T10:00:00Z"),
            SignedDuration::from_hours(1),
            &stops,
        );
        assert_eq!(due, Ok(Some(at("2025-09-01T12:00:00Z"))));
    }

    #[test]
    fn share_is_a_percentage() {
        assert_eq!(
            share(SignedDuration::from_hours(4), 75),
            SignedDuration::from_hours(3)
        );
    }
}
