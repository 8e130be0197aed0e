//! What the clients measure: latencies per method, events made durable, errors by code.
//!
//! Every client keeps its own [`Tally`] (no lock on the hot path) and the tallies are
//! merged once at the end. Latencies go into an HDR histogram per method, in
//! microseconds with three significant digits: constant memory whatever the run's
//! length, and percentiles within 0.1 %.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// Three significant digits: a 12.3 ms latency is told from 12.4 ms.
const SIGNIFICANT_DIGITS: u8 = 3;

#[allow(
    clippy::expect_used,
    reason = "a constant precision hdrhistogram accepts"
)]
fn histogram() -> Histogram<u64> {
    Histogram::new(SIGNIFICANT_DIGITS).expect("3 significant digits is a valid precision")
}

/// The RPCs the load generator sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Method {
    FileComplaint,
    AppendEvents,
    GetComplaint,
    ListComplaintEvents,
}

impl Method {
    pub const ALL: [Method; 4] = [
        Method::FileComplaint,
        Method::AppendEvents,
        Method::GetComplaint,
        Method::ListComplaintEvents,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Method::FileComplaint => "FileComplaint",
            Method::AppendEvents => "AppendEvents",
            Method::GetComplaint => "GetComplaint",
            Method::ListComplaintEvents => "ListComplaintEvents",
        }
    }

    /// Writes go through the engine's rules and the group commit; reads do not.
    pub fn is_write(self) -> bool {
        matches!(self, Method::FileComplaint | Method::AppendEvents)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One client's measurements. Samples that start before `measure_from` (the warm-up)
/// are dropped, so connection set-up and cold caches do not count.
#[derive(Debug, Clone)]
pub struct Tally {
    measure_from: Instant,
    /// Microseconds per successful call, by method.
    latencies: BTreeMap<Method, Histogram<u64>>,
    /// Failed calls by method and gRPC code name.
    errors: BTreeMap<(Method, String), u64>,
    /// Events the server acknowledged as newly durable (replays excluded).
    events: u64,
    /// When the last measured call finished.
    last_finish: Option<Instant>,
}

impl Tally {
    pub fn new(measure_from: Instant) -> Self {
        Self {
            measure_from,
            latencies: BTreeMap::new(),
            errors: BTreeMap::new(),
            events: 0,
            last_finish: None,
        }
    }

    fn measured(&mut self, started: Instant) -> bool {
        if started < self.measure_from {
            return false;
        }
        let now = Instant::now();
        self.last_finish = Some(self.last_finish.map_or(now, |last| last.max(now)));
        true
    }

    /// A successful call that made `events` events durable.
    pub fn success(&mut self, method: Method, started: Instant, events: u64) {
        if !self.measured(started) {
            return;
        }
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        // An auto-resizing histogram takes any value: `record` cannot fail.
        let _ = self
            .latencies
            .entry(method)
            .or_insert_with(histogram)
            .record(micros.max(1));
        self.events += events;
    }

    pub fn failure(&mut self, method: Method, started: Instant, code: tonic::Code) {
        if !self.measured(started) {
            return;
        }
        *self
            .errors
            .entry((method, format!("{code:?}")))
            .or_default() += 1;
    }

    pub fn merge(&mut self, other: Tally) {
        for (method, samples) in other.latencies {
            // Both histograms auto-resize, so adding cannot fail.
            let _ = self
                .latencies
                .entry(method)
                .or_insert_with(histogram)
                .add(samples);
        }
        for (key, count) in other.errors {
            *self.errors.entry(key).or_default() += count;
        }
        self.events += other.events;
        self.last_finish = match (self.last_finish, other.last_finish) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }

    pub fn events(&self) -> u64 {
        self.events
    }

    /// The measured window: from the end of the warm-up to the last measured answer.
    pub fn window(&self) -> Duration {
        self.last_finish.map_or(Duration::ZERO, |last| {
            last.duration_since(self.measure_from)
        })
    }

    pub fn errors(&self) -> &BTreeMap<(Method, String), u64> {
        &self.errors
    }

    /// The latency summary of one method, if it was called.
    pub fn summary(&self, method: Method) -> Option<Summary> {
        Summary::of(self.latencies.get(&method)?)
    }

    /// The latency summary of every call of the methods `which` selects together.
    pub fn summary_where(&self, which: impl Fn(Method) -> bool) -> Option<Summary> {
        let mut together = histogram();
        for (_, samples) in self.latencies.iter().filter(|(method, _)| which(**method)) {
            let _ = together.add(samples);
        }
        Summary::of(&together)
    }
}

/// Count and latency percentiles of a set of calls.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub count: u64,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Summary {
    fn of(micros: &Histogram<u64>) -> Option<Self> {
        if micros.is_empty() {
            return None;
        }
        let at = |q: f64| Duration::from_micros(micros.value_at_quantile(q));
        Some(Self {
            count: micros.len(),
            p50: at(0.50),
            p99: at(0.99),
            max: Duration::from_micros(micros.max()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_within_the_histograms_precision() {
        let mut micros = histogram();
        for value in (1..=1000).rev() {
            micros.record(value).unwrap();
        }
        let summary = Summary::of(&micros).unwrap();
        assert_eq!(summary.count, 1000);
        assert_eq!(summary.p50, Duration::from_micros(500));
        assert_eq!(summary.p99, Duration::from_micros(990));
        assert_eq!(summary.max, Duration::from_millis(1));
    }

    #[test]
    fn warm_up_samples_are_dropped_and_tallies_merge() {
        let before = Instant::now();
        let mut a = Tally::new(before + Duration::from_secs(3600));
        a.success(Method::AppendEvents, before, 3);
        assert_eq!(a.events(), 0);
        assert!(a.summary(Method::AppendEvents).is_none());

        let mut b = Tally::new(before);
        b.success(Method::AppendEvents, Instant::now(), 3);
        b.success(Method::FileComplaint, Instant::now(), 1);
        b.failure(Method::AppendEvents, Instant::now(), tonic::Code::Aborted);
        let mut c = Tally::new(before);
        c.success(Method::GetComplaint, Instant::now(), 0);
        b.merge(c);
        assert_eq!(b.events(), 4);
        assert_eq!(b.summary_where(Method::is_write).unwrap().count, 2);
        assert_eq!(b.summary(Method::GetComplaint).unwrap().count, 1);
        assert_eq!(b.errors()[&(Method::AppendEvents, "Aborted".to_owned())], 1);
    }
}
