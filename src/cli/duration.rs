//! Durations on the command line, read by jiff: `30d`, `12h`, `90m`, `20s`, `500ms`,
//! `1h 30m`, or ISO 8601 (`PT2H`). A day is 24 hours here: these are spans of time to
//! wait or to keep, not calendar days.

use jiff::{SignedDuration, Span, SpanRelativeTo};

/// A duration longer than zero.
pub(crate) fn positive(text: &str) -> Result<SignedDuration, String> {
    let expected = "expected a duration such as 30d, 12h, 90m, 20s or 500ms";
    let span: Span = text
        .trim()
        .parse()
        .map_err(|e| format!("{text:?}: {e} ({expected})"))?;
    let duration = span
        .to_duration(SpanRelativeTo::days_are_24_hours())
        .map_err(|e| format!("{text:?}: {e}"))?;
    if duration.is_positive() {
        Ok(duration)
    } else {
        Err(format!("{text:?}: must be longer than zero"))
    }
}

/// A duration longer than zero, for the standard library's timers.
pub(crate) fn positive_std(text: &str) -> Result<std::time::Duration, String> {
    let duration = positive(text)?;
    std::time::Duration::try_from(duration).map_err(|e| format!("{text:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_usual_units_and_iso_8601() {
        assert_eq!(positive("30d").unwrap(), SignedDuration::from_hours(720));
        assert_eq!(positive("90m").unwrap(), SignedDuration::from_mins(90));
        assert_eq!(positive("PT2H").unwrap(), SignedDuration::from_hours(2));
        assert_eq!(positive("1h 30m").unwrap(), SignedDuration::from_mins(90));
        assert_eq!(
            positive_std("500ms").unwrap(),
            std::time::Duration::from_millis(500)
        );
        assert_eq!(
            positive_std("20s").unwrap(),
            std::time::Duration::from_secs(20)
        );
    }

    #[test]
    fn nothing_else() {
        assert!(positive("0d").is_err());
        assert!(positive("-5m").is_err());
        assert!(positive("soon").is_err());
        assert!(positive("").is_err());
    }
}
