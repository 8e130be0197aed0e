//! How long an event appended through one node takes to show on another: in that
//! node's queries (a query that waits for the append's position answers) and in its
//! subscriptions (the event arrives on a live stream). A probe appends a note through
//! node A at a steady pace, alongside whatever load runs, and times both on node B from
//! the moment A acknowledged the append.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::StreamExt;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Endpoint;
use uuid::Uuid;

use super::client::{BearerAuth, connect};
use super::workload;
use complaintflow_server::api::proto;
use complaintflow_server::api::proto::subscription_service_client::SubscriptionServiceClient;

/// The probe's complaints are this dealer's, which the generated load never uses, so
/// that B's subscription carries the probe's events only.
const PROBE_DEALER: &str = "SH-9999";

/// The lag measured, one sample per probe append.
#[derive(Debug, Clone, Default)]
pub struct LagReport {
    pub from: Option<SocketAddr>,
    pub to: Option<SocketAddr>,
    /// Until B's query for the append's position answered.
    pub query: Vec<Duration>,
    /// Until the event arrived on B's subscription.
    pub subscription: Vec<Duration>,
    /// Probe appends that failed (not counted above).
    pub failures: usize,
}

/// The `q`-quantile of `samples` (nearest rank), if there are any.
pub fn quantile(samples: &[Duration], q: f64) -> Option<Duration> {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let last = sorted.len().checked_sub(1)?;
    let rank = ((last as f64) * q).round() as usize;
    sorted.get(rank.min(last)).copied()
}

impl std::fmt::Display for LagReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (Some(from), Some(to)) = (self.from, self.to) else {
            return Ok(());
        };
        writeln!(f, "lag from {from} to {to} (from A's acknowledgement):")?;
        for (what, samples) in [
            ("query (min_position)", &self.query),
            ("subscription", &self.subscription),
        ] {
            match (quantile(samples, 0.5), quantile(samples, 0.99)) {
                (Some(p50), Some(p99)) => writeln!(
                    f,
                    "  {what:<22} {:>5} samples  p50 {:>8.2} ms  p99 {:>8.2} ms  max {:>8.2} ms",
                    samples.len(),
                    p50.as_secs_f64() * 1e3,
                    p99.as_secs_f64() * 1e3,
                    quantile(samples, 1.0).unwrap_or_default().as_secs_f64() * 1e3,
                )?,
                _ => writeln!(f, "  {what:<22} no samples")?,
            }
        }
        if self.failures > 0 {
            writeln!(f, "  {} probe appends failed", self.failures)?;
        }
        Ok(())
    }
}

/// Probes from `from` to `to` every `every` until `until`.
pub async fn probe(
    from: SocketAddr,
    to: SocketAddr,
    auth: BearerAuth,
    every: Duration,
    until: Instant,
) -> Result<LagReport, String> {
    let mut writer = connect(from, auth.clone())
        .await
        .map_err(|e| format!("cannot connect to {from}: {e}"))?;
    let mut reader = connect(to, auth.clone())
        .await
        .map_err(|e| format!("cannot connect to {to}: {e}"))?;
    let channel = Endpoint::from_shared(format!("http://{to}"))
        .map_err(|e| e.to_string())?
        .connect()
        .await
        .map_err(|e| format!("cannot connect to {to}: {e}"))?;
    let mut subscriber = SubscriptionServiceClient::new(InterceptedService::new(channel, auth));

    let mut filing = workload::filing(&mut rand::SeedableRng::seed_from_u64(0));
    PROBE_DEALER.clone_into(&mut filing.dealer_code);
    let filed = writer
        .file_complaint(workload::file_request(Uuid::new_v4(), "", filing))
        .await
        .map_err(|e| format!("the probe's complaint was not filed: {e}"))?
        .into_inner();

    // When B's subscription delivered each position.
    let arrived: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let mut stream = subscriber
        .subscribe(proto::SubscribeRequest {
            start_position: filed.position + 1,
            dealer_codes: vec![PROBE_DEALER.to_owned()],
            ..Default::default()
        })
        .await
        .map_err(|e| format!("cannot subscribe on {to}: {e}"))?
        .into_inner();
    let listening = tokio::spawn({
        let arrived = arrived.clone();
        async move {
            while let Some(Ok(message)) = stream.next().await {
                if let Some(proto::subscribe_response::Message::Event(event)) = message.message {
                    arrived
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .insert(event.position, Instant::now());
                }
            }
        }
    });

    let mut report = LagReport {
        from: Some(from),
        to: Some(to),
        ..LagReport::default()
    };
    let mut acknowledged = Vec::new();
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while Instant::now() < until {
        ticker.tick().await;
        let request = workload::append_request(
            &filed.complaint_id,
            Uuid::new_v4(),
            None,
            vec![workload::submission(None, workload::note("lag probe"))],
        );
        let Ok(appended) = writer.append_events(request).await else {
            report.failures += 1;
            continue;
        };
        let acked = Instant::now();
        let position = appended.into_inner().position;
        let query = proto::GetStatisticsRequest {
            dealer_code: PROBE_DEALER.to_owned(),
            min_position: Some(position),
            ..Default::default()
        };
        if reader.get_statistics(query).await.is_ok() {
            report.query.push(acked.elapsed());
        } else {
            report.failures += 1;
        }
        acknowledged.push((position, acked));
    }
    // The last events get a moment to arrive.
    tokio::time::sleep(Duration::from_millis(500)).await;
    listening.abort();
    let arrived = arrived.lock().unwrap_or_else(PoisonError::into_inner);
    for (position, acked) in acknowledged {
        if let Some(at) = arrived.get(&position) {
            // Before the acknowledgement reached the probe: no lag at all.
            report
                .subscription
                .push(at.saturating_duration_since(acked));
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_by_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(quantile(&samples, 0.5), Some(Duration::from_millis(51)));
        assert_eq!(quantile(&samples, 0.99), Some(Duration::from_millis(99)));
        assert_eq!(quantile(&samples, 1.0), Some(Duration::from_millis(100)));
        assert_eq!(quantile(&[], 0.5), None);
    }
}
