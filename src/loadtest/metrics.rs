//! The server's own view of the run, from its Prometheus endpoint: how many events one
//! group commit carries, how long a commit (apply + fsync) takes, and how long the
//! server itself spends on each method. Compared with what the clients see, this tells
//! whether time goes to the disk, to the server's CPU, or to queueing outside it.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// One scrape: every sample, keyed by its series (`name{labels}`).
#[derive(Debug, Clone, Default)]
pub struct Scrape {
    samples: HashMap<String, f64>,
}

impl Scrape {
    /// `GET /metrics` over plain HTTP/1.0 (the exporter's own tiny server).
    pub fn fetch(address: SocketAddr) -> Result<Self, String> {
        let timeout = Duration::from_secs(5);
        let mut stream = TcpStream::connect_timeout(&address, timeout)
            .map_err(|e| format!("metrics at {address}: {e}"))?;
        stream
            .set_read_timeout(Some(timeout))
            .map_err(|e| e.to_string())?;
        write!(stream, "GET /metrics HTTP/1.0\r\nHost: {address}\r\n\r\n")
            .map_err(|e| e.to_string())?;
        let mut response = String::new();
        stream
            .read_to_string(&mut response)
            .map_err(|e| format!("metrics at {address}: {e}"))?;
        let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
        Ok(Self::parse(body))
    }

    pub fn parse(text: &str) -> Self {
        let samples = text
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| {
                let (series, value) = line.rsplit_once(' ')?;
                Some((series.to_owned(), value.parse().ok()?))
            })
            .collect();
        Self { samples }
    }

    /// The sum of every series of `name` whose labels contain `label` (e.g. a method).
    fn total(&self, name: &str, label: &str) -> f64 {
        self.samples
            .iter()
            .filter(|(series, _)| {
                let (series_name, labels) = series.split_once('{').unwrap_or((series, ""));
                series_name == name && labels.contains(label)
            })
            .map(|(_, value)| value)
            .sum()
    }
}

/// What happened on the server between two scrapes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServerFigures {
    pub commits: f64,
    pub committed_events: f64,
    pub commit_seconds: f64,
}

impl ServerFigures {
    pub fn between(before: &Scrape, after: &Scrape) -> Self {
        let delta = |name: &str| after.total(name, "") - before.total(name, "");
        Self {
            commits: delta("complaintflow_store_commit_seconds_count"),
            committed_events: delta("complaintflow_store_group_events_sum"),
            commit_seconds: delta("complaintflow_store_commit_seconds_sum"),
        }
    }

    pub fn events_per_commit(&self) -> f64 {
        self.committed_events / self.commits.max(1.0)
    }

    pub fn mean_commit(&self) -> Duration {
        Duration::from_secs_f64(self.commit_seconds / self.commits.max(1.0))
    }
}

/// The server's mean time in one method between two scrapes (from admission to the
/// response headers), if it served that method.
pub fn server_mean(before: &Scrape, after: &Scrape, method: &str) -> Option<Duration> {
    let label = format!("/{method}\"");
    let count = after.total("complaintflow_grpc_request_seconds_count", &label)
        - before.total("complaintflow_grpc_request_seconds_count", &label);
    let sum = after.total("complaintflow_grpc_request_seconds_sum", &label)
        - before.total("complaintflow_grpc_request_seconds_sum", &label);
    (count > 0.0).then(|| Duration::from_secs_f64(sum / count))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEFORE: &str = "# TYPE complaintflow_store_group_events histogram\n\
        complaintflow_store_group_events_sum 10\n\
        complaintflow_store_group_events_count 5\n\
        complaintflow_store_commit_seconds_sum 0.5\n\
        complaintflow_store_commit_seconds_count 5\n\
        complaintflow_grpc_request_seconds_sum{method=\"complaintflow.v1.ComplaintService/AppendEvents\"} 1\n\
        complaintflow_grpc_request_seconds_count{method=\"complaintflow.v1.ComplaintService/AppendEvents\"} 100\n";
    const AFTER: &str = "complaintflow_store_group_events_sum 110\n\
        complaintflow_store_group_events_count 15\n\
        complaintflow_store_commit_seconds_sum 1.5\n\
        complaintflow_store_commit_seconds_count 15\n\
        complaintflow_grpc_request_seconds_sum{method=\"complaintflow.v1.ComplaintService/AppendEvents\"} 3\n\
        complaintflow_grpc_request_seconds_count{method=\"complaintflow.v1.ComplaintService/AppendEvents\"} 300\n";

    #[test]
    fn figures_are_deltas_between_scrapes() {
        let (before, after) = (Scrape::parse(BEFORE), Scrape::parse(AFTER));
        let figures = ServerFigures::between(&before, &after);
        assert_eq!(figures.commits, 10.0);
        assert_eq!(figures.events_per_commit(), 10.0);
        assert_eq!(figures.mean_commit(), Duration::from_millis(100));
        assert_eq!(
            server_mean(&before, &after, "AppendEvents"),
            Some(Duration::from_millis(10))
        );
        assert_eq!(server_mean(&before, &after, "GetComplaint"), None);
    }
}
