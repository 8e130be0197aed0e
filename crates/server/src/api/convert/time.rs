//! Instants and calendar dates.
//!
//! `google.protobuf.Timestamp` allows 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z
//! with nanoseconds in 0..1e9 (non-negative even before 1970). jiff has signed
//! sub-second parts and a range that starts earlier but ends a day sooner
//! (9999-12-30T22:00Z), so both directions normalise and the last day of year 9999
//! is refused.

use jiff::civil::Date;

use super::violation::FieldViolation;

/// Seconds of 0001-01-01T00:00:00Z, the earliest proto timestamp.
const MIN_PROTO_SECONDS: i64 = -62_135_596_800;
/// Seconds of 9999-12-31T23:59:59Z, the latest proto timestamp.
const MAX_PROTO_SECONDS: i64 = 253_402_300_799;
const NANOS_PER_SECOND: i32 = 1_000_000_000;

/// A proto timestamp as an instant.
pub(crate) fn timestamp_from_proto(
    ts: &prost_types::Timestamp,
    field: &str,
) -> Result<jiff::Timestamp, FieldViolation> {
    if !(0..NANOS_PER_SECOND).contains(&ts.nanos) {
        return Err(FieldViolation::new(
            field,
            format!("nanos must be in 0..=999999999, got {}", ts.nanos),
        ));
    }
    if !(MIN_PROTO_SECONDS..=MAX_PROTO_SECONDS).contains(&ts.seconds) {
        return Err(FieldViolation::new(
            field,
            format!("must be within {ACCEPTED_RANGE}, got {}s", ts.seconds),
        ));
    }
    // The last day and a bit of year 9999 fit the proto but not jiff: refused with the
    // range the API documents, not the library's own words.
    jiff::Timestamp::new(ts.seconds, ts.nanos).map_err(|_| {
        FieldViolation::new(
            field,
            format!("must be within {ACCEPTED_RANGE}, got {}s", ts.seconds),
        )
    })
}

/// The instants the API accepts, as its documentation states them.
pub(crate) const ACCEPTED_RANGE: &str = "0001-01-01T00:00:00Z..=9999-12-30T22:00:00.999999999Z";

/// A timestamp field that must be set.
pub(crate) fn required_timestamp_from_proto(
    ts: Option<prost_types::Timestamp>,
    field: &str,
) -> Result<jiff::Timestamp, FieldViolation> {
    let ts = ts.ok_or_else(|| FieldViolation::required(field))?;
    timestamp_from_proto(&ts, field)
}

/// A timestamp field that may be unset.
pub(crate) fn optional_timestamp_from_proto(
    ts: Option<prost_types::Timestamp>,
    field: &str,
) -> Result<Option<jiff::Timestamp>, FieldViolation> {
    ts.map(|ts| timestamp_from_proto(&ts, field)).transpose()
}

/// The wire form of an instant, nanoseconds normalised to be non-negative.
pub fn timestamp_to_proto(ts: jiff::Timestamp) -> prost_types::Timestamp {
    let mut seconds = ts.as_second();
    let mut nanos = ts.subsec_nanosecond();
    // jiff gives instants before 1970 a negative sub-second part; proto wants
    // the second before and a positive remainder.
    if nanos < 0 {
        seconds -= 1;
        nanos += NANOS_PER_SECOND;
    }
    prost_types::Timestamp { seconds, nanos }
}

pub fn optional_timestamp_to_proto(ts: Option<jiff::Timestamp>) -> Option<prost_types::Timestamp> {
    ts.map(timestamp_to_proto)
}

/// An optional `YYYY-MM-DD` date; the empty string is `None`. Only the plain
/// extended form is accepted (jiff would also take `20230520` and more).
pub(crate) fn date_from_proto(s: &str, field: &str) -> Result<Option<Date>, FieldViolation> {
    if s.is_empty() {
        return Ok(None);
    }
    let bad = || FieldViolation::new(field, format!("must be a date YYYY-MM-DD, got {s:?}"));
    let shape_ok = s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !shape_ok {
        return Err(bad());
    }
    s.parse::<Date>().map(Some).map_err(|_| bad())
}

/// `YYYY-MM-DD`; the empty string for `None`.
pub(crate) fn date_to_proto(date: Option<Date>) -> String {
    date.map(|d| d.to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pb(seconds: i64, nanos: i32) -> prost_types::Timestamp {
        prost_types::Timestamp { seconds, nanos }
    }

    #[test]
    fn instants_round_trip_including_before_1970() {
        for text in [
            "2025-09-01T01:02:03.456789Z",
            "1969-12-31T23:59:59.5Z",
            "0001-01-01T00:00:00Z",
            // jiff's last instant; proto allows a day more, which is refused below.
            "9999-12-30T22:00:00.999999999Z",
        ] {
            let ts: jiff::Timestamp = text.parse().expect("test instant");
            let wire = timestamp_to_proto(ts);
            assert!((0..NANOS_PER_SECOND).contains(&wire.nanos), "{text}");
            assert_eq!(timestamp_from_proto(&wire, "t"), Ok(ts), "{text}");
        }
        assert_eq!(
            timestamp_to_proto("1969-12-31T23:59:59.5Z".parse().expect("instant")),
            pb(-1, 500_000_000)
        );
    }

    #[test]
    fn negative_or_oversized_nanos_are_refused() {
        for nanos in [-1, NANOS_PER_SECOND] {
            let err =
                timestamp_from_proto(&pb(0, nanos), "events[0].occur_time").expect_err("bad nanos");
            assert_eq!(err.field, "events[0].occur_time");
        }
    }

    #[test]
    fn seconds_outside_the_proto_range_are_refused() {
        for seconds in [
            MIN_PROTO_SECONDS - 1,
            MAX_PROTO_SECONDS + 1,
            i64::MIN,
            i64::MAX,
        ] {
            let err = timestamp_from_proto(&pb(seconds, 0), "occur_time").expect_err("range");
            assert_eq!(err.field, "occur_time");
        }
    }

    fn pb_min() -> jiff::Timestamp {
        timestamp_from_proto(&pb(MIN_PROTO_SECONDS, 0), "t").expect("the first instant")
    }

    #[test]
    fn the_last_day_of_9999_is_refused_with_the_documented_range() {
        let last = pb(MAX_PROTO_SECONDS, 999_999_999);
        let err = timestamp_from_proto(&last, "occur_time").expect_err("past jiff's range");
        assert_eq!(err.field, "occur_time");
        assert_eq!(
            err.description,
            format!("must be within {ACCEPTED_RANGE}, got {MAX_PROTO_SECONDS}s")
        );
        assert_eq!(
            ACCEPTED_RANGE,
            format!(
                "{}..={}",
                jiff::Timestamp::MIN.max(pb_min()),
                jiff::Timestamp::MAX
            ),
            "ACCEPTED_RANGE names the real bounds"
        );
    }

    #[test]
    fn required_and_optional_timestamps() {
        assert_eq!(
            required_timestamp_from_proto(None, "x.due_time"),
            Err(FieldViolation::required("x.due_time"))
        );
        assert_eq!(optional_timestamp_from_proto(None, "x"), Ok(None));
        assert_eq!(optional_timestamp_to_proto(None), None);
    }

    #[test]
    fn dates_are_plain_iso_days() {
        let date = date_from_proto("2023-05-20", "d").expect("valid date");
        assert_eq!(date, Some(jiff::civil::date(2023, 5, 20)));
        assert_eq!(date_to_proto(date), "2023-05-20");
        assert_eq!(date_from_proto("", "d"), Ok(None));
        assert_eq!(date_to_proto(None), "");
        for bad in [
            "2023-02-30",
            "20230520",
            "2023-5-20",
            "2023-05-20T00:00",
            "２０２３-05-20",
        ] {
            let err = date_from_proto(bad, "filed.vehicle.purchase_date").expect_err(bad);
            assert_eq!(err.field, "filed.vehicle.purchase_date");
        }
    }
}
