//! One virtual dealer system: files a complaint, works it to resolution in a few
//! appends with timeline queries in between, and starts the next, until the deadline.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use tonic::Code;
use uuid::Uuid;

use super::client::ComplaintClient;
use super::stats::{Method, Tally};
use super::workload;
use complaintflow_server::api::proto;

/// What every client shares.
#[derive(Debug, Clone)]
pub struct Shared {
    /// No call starts after this.
    pub deadline: Instant,
    /// Events acknowledged so far, for the live progress line.
    pub events: Arc<AtomicU64>,
    /// Timeline queries per complaint (0, 1 or 2 and more).
    pub reads_per_complaint: u32,
}

/// Runs one client until the deadline and returns what it measured.
pub async fn run(
    mut client: ComplaintClient,
    mut rng: StdRng,
    shared: Shared,
    mut tally: Tally,
) -> Tally {
    while Instant::now() < shared.deadline {
        if let Err(code) = one_complaint(&mut client, &mut rng, &shared, &mut tally).await {
            // A broken connection or a server at its limit answers at once: back off
            // rather than spin, and let the next complaint try again.
            if matches!(
                code,
                Code::Unavailable | Code::Unknown | Code::Cancelled | Code::ResourceExhausted
            ) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    tally
}

/// One complaint's life. Stops at the first error (counted in the tally): a real
/// dealer system would look at the complaint again before going on.
async fn one_complaint(
    client: &mut ComplaintClient,
    rng: &mut StdRng,
    shared: &Shared,
    tally: &mut Tally,
) -> Result<(), Code> {
    let filed = workload::filing(rng);
    // The server derives the complaint id from the request id, as for a DMS that has
    // no numbering of its own.
    let request = workload::file_request(Uuid::new_v4(), "", filed);
    let started = Instant::now();
    let filing = observe(
        tally,
        Method::FileComplaint,
        started,
        client.file_complaint(request).await,
    )?;
    count_events(
        tally,
        shared,
        Method::FileComplaint,
        started,
        u64::from(!filing.replayed),
    );
    let complaint_id = filing.complaint_id;
    let mut version = filing.version;

    let batches = workload::life_after_filing(rng);
    let last = batches.len() - 1;
    for (index, batch) in batches.into_iter().enumerate() {
        if Instant::now() >= shared.deadline {
            return Ok(());
        }
        let events = batch
            .into_iter()
            .map(|kind| workload::submission(None, kind))
            .collect();
        let request =
            workload::append_request(&complaint_id, Uuid::new_v4(), Some(version), events);
        let started = Instant::now();
        let appended = observe(
            tally,
            Method::AppendEvents,
            started,
            client.append_events(request).await,
        )?;
        let fresh = if appended.replayed {
            0
        } else {
            appended.events.len() as u64
        };
        count_events(tally, shared, Method::AppendEvents, started, fresh);
        version = appended.version;

        let reads = shared.reads_per_complaint;
        if (index == 0 && reads >= 2) || (index == last && reads >= 1) {
            read_timeline(client, tally, &complaint_id, appended.position, index == 0).await?;
        }
    }
    Ok(())
}

/// After the first contact the advisor looks at the complaint; at the end, the whole
/// timeline. Either read shows what the client wrote (through `position`), whichever
/// node answers.
async fn read_timeline(
    client: &mut ComplaintClient,
    tally: &mut Tally,
    complaint_id: &str,
    position: u64,
    state_only: bool,
) -> Result<(), Code> {
    let name = workload::complaint_name(complaint_id);
    let started = Instant::now();
    if state_only {
        let request = proto::GetComplaintRequest {
            name,
            as_of: None,
            min_position: Some(position),
        };
        observe(
            tally,
            Method::GetComplaint,
            started,
            client.get_complaint(request).await,
        )?;
        tally.success(Method::GetComplaint, started, 0);
    } else {
        let request = proto::ListComplaintEventsRequest {
            parent: name,
            page_size: 100,
            page_token: String::new(),
            descending: false,
            min_position: Some(position),
        };
        observe(
            tally,
            Method::ListComplaintEvents,
            started,
            client.list_complaint_events(request).await,
        )?;
        tally.success(Method::ListComplaintEvents, started, 0);
    }
    Ok(())
}

/// The answer, or the failure counted under its code.
fn observe<T>(
    tally: &mut Tally,
    method: Method,
    started: Instant,
    result: Result<tonic::Response<T>, tonic::Status>,
) -> Result<T, Code> {
    result.map(tonic::Response::into_inner).map_err(|status| {
        tally.failure(method, started, status.code());
        status.code()
    })
}

fn count_events(tally: &mut Tally, shared: &Shared, method: Method, started: Instant, events: u64) {
    tally.success(method, started, events);
    shared.events.fetch_add(events, Ordering::Relaxed);
}
