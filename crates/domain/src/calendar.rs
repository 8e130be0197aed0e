//! Business time: working hours on working days in a real time zone.
//!
//! Deadlines such as "the result within 3 days" count business time, so the
//! clock stops at closing time, on weekends and on public holidays, and
//! starts again at opening time. Days are walked in civil (local) time and
//! each day's window is converted to instants, so DST transitions give the
//! true length of that day's window.

use std::collections::BTreeSet;

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// How far ahead a computation may walk before giving up; a calendar with
/// at least one working day a week never gets near it.
const MAX_DAYS_SCANNED: usize = 3_700;

#[derive(Debug, Clone, thiserror::Error)]
pub enum CalendarError {
    #[error("working hours must open before they close ({opens} >= {closes})")]
    EmptyWorkingHours { opens: Time, closes: Time },
    #[error("a calendar needs at least one working day a week")]
    NoWorkingDays,
    #[error("no working time within {MAX_DAYS_SCANNED} days of {from}")]
    NoWorkingTimeAhead { from: Timestamp },
    #[error("date arithmetic out of range: {0}")]
    OutOfRange(#[from] jiff::Error),
}

/// A working calendar: one working window a day, on the working weekdays,
/// minus holidays, plus make-up working days (China's 调休 Saturdays).
#[derive(Debug, Clone, PartialEq)]
pub struct BusinessCalendar {
    time_zone: TimeZone,
    opens: Time,
    closes: Time,
    working_weekdays: BTreeSet<i8>,
    holidays: BTreeSet<Date>,
    extra_working_days: BTreeSet<Date>,
    /// The years whose holidays are listed, and those of them that are provisional.
    years: BTreeSet<i16>,
    provisional_years: BTreeSet<i16>,
}

/// One working day's window, as instants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Window {
    opens: Timestamp,
    closes: Timestamp,
}

impl BusinessCalendar {
    pub fn new(
        time_zone: TimeZone,
        opens: Time,
        closes: Time,
        working_weekdays: impl IntoIterator<Item = Weekday>,
        holidays: impl IntoIterator<Item = Date>,
        extra_working_days: impl IntoIterator<Item = Date>,
    ) -> Result<Self, CalendarError> {
        if opens >= closes {
            return Err(CalendarError::EmptyWorkingHours { opens, closes });
        }
        let working_weekdays: BTreeSet<i8> = working_weekdays
            .into_iter()
            .map(Weekday::to_monday_zero_offset)
            .collect();
        if working_weekdays.is_empty() {
            return Err(CalendarError::NoWorkingDays);
        }
        Ok(Self {
            time_zone,
            opens,
            closes,
            working_weekdays,
            holidays: holidays.into_iter().collect(),
            extra_working_days: extra_working_days.into_iter().collect(),
            years: BTreeSet::new(),
            provisional_years: BTreeSet::new(),
        })
    }

    /// The years whose holidays and make-up days the calendar holds (`provisional`: of
    /// those, the ones not yet confirmed).
    #[must_use]
    pub(crate) fn covering(
        mut self,
        years: impl IntoIterator<Item = i16>,
        provisional: impl IntoIterator<Item = i16>,
    ) -> Self {
        self.years = years.into_iter().collect();
        self.provisional_years = provisional.into_iter().collect();
        self
    }

    /// The last day whose holidays are known: 31 December of the last covered year.
    pub(crate) fn last_covered_day(&self) -> Option<Date> {
        let year = *self.years.last()?;
        Date::new(year, 12, 31).ok()
    }

    pub fn provisional_years(&self) -> impl Iterator<Item = i16> + '_ {
        self.provisional_years.iter().copied()
    }

    /// Whether the local day of `at` lies in a year the calendar covers. A calendar
    /// that lists no year covers nothing it could be wrong about, so every day.
    pub fn covers(&self, at: Timestamp) -> bool {
        self.years.is_empty() || self.years.contains(&self.local_date(at).year())
    }

    /// Whole days from the local day of `now` to the last covered day (negative once
    /// past it); `None` when no year is listed.
    pub(crate) fn days_left(&self, now: Timestamp) -> Option<i64> {
        let last = self.last_covered_day()?;
        let today = self.local_date(now);
        let days = today.until((jiff::Unit::Day, last)).ok()?.get_days();
        Some(i64::from(days))
    }

    pub fn time_zone(&self) -> &TimeZone {
        &self.time_zone
    }

    /// The nominal length of a working day (closing minus opening time);
    /// "3 business days" means three of these.
    pub fn working_day_length(&self) -> SignedDuration {
        self.closes.duration_since(self.opens)
    }

    pub fn is_working_day(&self, date: Date) -> bool {
        if self.extra_working_days.contains(&date) {
            return true;
        }
        !self.holidays.contains(&date)
            && self
                .working_weekdays
                .contains(&date.weekday().to_monday_zero_offset())
    }

    pub fn local_date(&self, at: Timestamp) -> Date {
        self.time_zone.to_datetime(at).date()
    }

    fn window(&self, date: Date) -> Result<Option<Window>, CalendarError> {
        if !self.is_working_day(date) {
            return Ok(None);
        }
        Ok(Some(Window {
            opens: self.time_zone.to_timestamp(date.to_datetime(self.opens))?,
            closes: self.time_zone.to_timestamp(date.to_datetime(self.closes))?,
        }))
    }

    /// Working windows from the local day of `from` onwards.
    fn windows_from(
        &self,
        from: Timestamp,
    ) -> impl Iterator<Item = Result<Window, CalendarError>> + '_ {
        let mut date = Some(self.local_date(from));
        std::iter::from_fn(move || {
            let current = date?;
            date = current.tomorrow().ok();
            Some(current)
        })
        .take(MAX_DAYS_SCANNED)
        .filter_map(move |day| self.window(day).transpose())
    }

    /// The instant at which `duration` of business time has passed after `start`.
    /// A start outside working hours counts from the next opening.
    pub fn add_business_duration(
        &self,
        start: Timestamp,
        duration: SignedDuration,
    ) -> Result<Timestamp, CalendarError> {
        if duration <= SignedDuration::ZERO {
            return Ok(start);
        }
        let mut remaining = duration;
        for window in self.windows_from(start) {
            let window = window?;
            let from = start.max(window.opens);
            if from >= window.closes {
                continue;
            }
            let available = window.closes.duration_since(from);
            if remaining <= available {
                return Ok(from.checked_add(remaining)?);
            }
            remaining -= available;
        }
        Err(CalendarError::NoWorkingTimeAhead { from: start })
    }

    /// Business time between two instants (zero when `to` is not after `from`).
    pub fn business_time_between(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<SignedDuration, CalendarError> {
        let mut total = SignedDuration::ZERO;
        if to <= from {
            return Ok(total);
        }
        for window in self.windows_from(from) {
            let window = window?;
            if window.opens >= to {
                break;
            }
            let overlap_start = from.max(window.opens);
            let overlap_end = to.min(window.closes);
            if overlap_end > overlap_start {
                total += overlap_end.duration_since(overlap_start);
            }
        }
        Ok(total)
    }

    /// Closing time of the business day `at` falls in; after closing or on a
    /// day off, the closing time of the next business day.
    pub(crate) fn end_of_business_day(&self, at: Timestamp) -> Result<Timestamp, CalendarError> {
        for window in self.windows_from(at) {
            let window = window?;
            if window.closes > at {
                return Ok(window.closes);
            }
        }
        Err(CalendarError::NoWorkingTimeAhead { from: at })
    }
}

/// Free-function form of [`BusinessCalendar::add_business_duration`].
pub fn add_business_duration(
    start: Timestamp,
    duration: SignedDuration,
    calendar: &BusinessCalendar,
) -> Result<Timestamp, CalendarError> {
    calendar.add_business_duration(start, duration)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{date, time};

    fn shanghai() -> BusinessCalendar {
        BusinessCalendar::new(
            TimeZone::get("Asia/Shanghai").expect("bundled tz"),
            time(8, 30, 0, 0),
            time(17, 30, 0, 0),
            [
                Weekday::Monday,
                Weekday::Tuesday,
                Weekday::Wednesday,
                Weekday::Thursday,
                Weekday::Friday,
            ],
            // National Day week 2025.
            (1..=8).map(|d| date(2025, 10, d)),
            // Make-up working Saturday.
            [date(2025, 10, 11)],
        )
        .expect("valid calendar")
    }

    fn at(s: &str) -> Timestamp {
        s.parse().expect("test timestamp")
    }

    #[test]
    fn adds_within_the_same_day() {
        let cal = shanghai();
        let due = cal
            .add_business_duration(
                at("2025-09-01T10:00:00+08:00"),
                SignedDuration::from_hours(2),
            )
            .expect("due");
        assert_eq!(due, at("2025-09-01T12:00:00+08:00"));
    }

    #[test]
    fn three_business_days_from_mid_morning_land_on_the_same_time() {
        let cal = shanghai();
        let three_days = cal.working_day_length() * 3;
        let due = cal
            .add_business_duration(at("2025-09-01T10:00:00+08:00"), three_days)
            .expect("due");
        assert_eq!(due, at("2025-09-04T10:00:00+08:00"));
    }

    #[test]
    fn skips_the_weekend() {
        let cal = shanghai();
        // Friday 16:30 + 2h = Monday 09:30.
        let due = cal
            .add_business_duration(
                at("2025-09-05T16:30:00+08:00"),
                SignedDuration::from_hours(2),
            )
            .expect("due");
        assert_eq!(due, at("2025-09-08T09:30:00+08:00"));
    }

    #[test]
    fn start_outside_working_hours_counts_from_next_opening() {
        let cal = shanghai();
        let evening = cal
            .add_business_duration(
                at("2025-09-01T20:00:00+08:00"),
                SignedDuration::from_hours(1),
            )
            .expect("due");
        assert_eq!(evening, at("2025-09-02T09:30:00+08:00"));
        let saturday = cal
            .add_business_duration(
                at("2025-09-06T11:00:00+08:00"),
                SignedDuration::from_hours(1),
            )
            .expect("due");
        assert_eq!(saturday, at("2025-09-08T09:30:00+08:00"));
        let early = cal
            .add_business_duration(
                at("2025-09-02T07:00:00+08:00"),
                SignedDuration::from_mins(30),
            )
            .expect("due");
        assert_eq!(early, at("2025-09-02T09:00:00+08:00"));
    }

    #[test]
    fn skips_holidays_and_honours_make_up_working_days() {
        let cal = shanghai();
        // Tuesday 30 Sep 17:00 + 1h: the holiday runs 1-8 Oct, Thu 9 Oct opens.
        let due = cal
            .add_business_duration(
                at("2025-09-30T17:00:00+08:00"),
                SignedDuration::from_hours(1),
            )
            .expect("due");
        assert_eq!(due, at("2025-10-09T09:00:00+08:00"));
        assert!(cal.is_working_day(date(2025, 10, 11)), "make-up Saturday");
        assert!(!cal.is_working_day(date(2025, 10, 1)));
        assert!(!cal.is_working_day(date(2025, 10, 12)));
    }

    #[test]
    fn end_of_business_day() {
        let cal = shanghai();
        assert_eq!(
            cal.end_of_business_day(at("2025-09-01T09:00:00+08:00"))
                .expect("eod"),
            at("2025-09-01T17:30:00+08:00")
        );
        // After closing: the next business day.
        assert_eq!(
            cal.end_of_business_day(at("2025-09-05T18:00:00+08:00"))
                .expect("eod"),
            at("2025-09-08T17:30:00+08:00")
        );
        // Before opening: the same day.
        assert_eq!(
            cal.end_of_business_day(at("2025-09-02T06:00:00+08:00"))
                .expect("eod"),
            at("2025-09-02T17:30:00+08:00")
        );
    }

    #[test]
    fn business_time_between_counts_only_working_windows() {
        let cal = shanghai();
        let elapsed = cal
            .business_time_between(
                at("2025-09-05T16:30:00+08:00"),
                at("2025-09-08T09:30:00+08:00"),
            )
            .expect("elapsed");
        assert_eq!(elapsed, SignedDuration::from_hours(2));
        assert_eq!(
            cal.business_time_between(
                at("2025-09-08T09:30:00+08:00"),
                at("2025-09-05T16:30:00+08:00")
            )
            .ok(),
            Some(SignedDuration::ZERO)
        );
    }

    proptest::proptest! {
        #[test]
        fn adding_then_measuring_gives_back_the_duration(
            start_minutes in 0i64..(366 * 24 * 60),
            minutes in 0i64..(200 * 60),
        ) {
            let cal = shanghai();
            let start = at("2025-01-01T00:00:00+08:00")
                .checked_add(SignedDuration::from_mins(start_minutes))
                .expect("in range");
            let duration = SignedDuration::from_mins(minutes);
            let due = cal.add_business_duration(start, duration).expect("due");
            proptest::prop_assert!(due >= start);
            proptest::prop_assert_eq!(cal.business_time_between(start, due).ok(), Some(duration));
        }
    }

    #[test]
    fn add_and_between_agree() {
        let cal = shanghai();
        let start = at("2025-09-26T15:10:00+08:00");
        for hours in [1, 5, 9, 20, 40] {
            let due = cal
                .add_business_duration(start, SignedDuration::from_hours(hours))
                .expect("due");
            assert_eq!(
                cal.business_time_between(start, due).ok(),
                Some(SignedDuration::from_hours(hours))
            );
        }
    }

    fn every_day(tz: &str, opens: Time, closes: Time) -> BusinessCalendar {
        BusinessCalendar::new(
            TimeZone::get(tz).expect("bundled tz"),
            opens,
            closes,
            [
                Weekday::Monday,
                Weekday::Tuesday,
                Weekday::Wednesday,
                Weekday::Thursday,
                Weekday::Friday,
                Weekday::Saturday,
                Weekday::Sunday,
            ],
            [],
            [],
        )
        .expect("valid calendar")
    }

    #[test]
    fn dst_spring_forward_shortens_that_day() {
        // New York skips 02:00-03:00 on 9 March 2025.
        let cal = every_day("America/New_York", time(1, 0, 0, 0), time(5, 0, 0, 0));
        let day = cal
            .business_time_between(
                at("2025-03-09T00:00:00-05:00"),
                at("2025-03-09T12:00:00-04:00"),
            )
            .expect("elapsed");
        assert_eq!(day, SignedDuration::from_hours(3));
        // Opening time is 09:00 local on both sides of the change.
        let office = every_day("America/New_York", time(9, 0, 0, 0), time(17, 0, 0, 0));
        let before = office
            .end_of_business_day(at("2025-03-08T10:00:00-05:00"))
            .expect("eod");
        let after = office
            .end_of_business_day(at("2025-03-10T10:00:00-04:00"))
            .expect("eod");
        assert_eq!(before, at("2025-03-08T22:00:00Z"));
        assert_eq!(after, at("2025-03-10T21:00:00Z"));
    }

    #[test]
    fn dst_fall_back_lengthens_that_day() {
        // Berlin repeats 02:00-03:00 on 26 October 2025.
        let cal = every_day("Europe/Berlin", time(1, 0, 0, 0), time(5, 0, 0, 0));
        let day = cal
            .business_time_between(
                at("2025-10-26T00:00:00+02:00"),
                at("2025-10-26T12:00:00+01:00"),
            )
            .expect("elapsed");
        assert_eq!(day, SignedDuration::from_hours(5));
        let due = cal
            .add_business_duration(
                at("2025-10-26T01:00:00+02:00"),
                SignedDuration::from_hours(5),
            )
            .expect("due");
        assert_eq!(due, at("2025-10-26T05:00:00+01:00"));
    }

    #[test]
    fn invalid_calendars_are_refused() {
        let tz = TimeZone::get("Asia/Shanghai").expect("bundled tz");
        assert!(matches!(
            BusinessCalendar::new(
                tz.clone(),
                time(18, 0, 0, 0),
                time(9, 0, 0, 0),
                [Weekday::Monday],
                [],
                []
            ),
            Err(CalendarError::EmptyWorkingHours { .. })
        ));
        assert!(matches!(
            BusinessCalendar::new(tz, time(9, 0, 0, 0), time(18, 0, 0, 0), [], [], []),
            Err(CalendarError::NoWorkingDays)
        ));
    }

    #[test]
    fn a_calendar_that_is_all_holidays_gives_an_error_not_a_hang() {
        let tz = TimeZone::get("Asia/Shanghai").expect("bundled tz");
        let start = date(2025, 1, 1);
        let holidays: Vec<Date> = (0..4_000)
            .filter_map(|d| start.checked_add(jiff::Span::new().days(d)).ok())
            .collect();
        let cal = BusinessCalendar::new(
            tz,
            time(9, 0, 0, 0),
            time(18, 0, 0, 0),
            [Weekday::Monday],
            holidays,
            [],
        )
        .expect("valid calendar");
        assert!(matches!(
            cal.add_business_duration(
                at("2025-01-01T10:00:00+08:00"),
                SignedDuration::from_hours(1)
            ),
            Err(CalendarError::NoWorkingTimeAhead { .. })
        ));
    }
}
