//! `SubscriptionService`: the global log, live, filtered to what the caller may see.

use std::collections::{HashMap, HashSet};
use std::pin::Pin;
use std::time::Duration;

use futures::{Stream, StreamExt};
use tokio::sync::watch;
use tonic::{Request, Response, Status};
use tracing::{debug, instrument};

use self::outbox::{Ending, Outbox, SendError};
use super::AppState;
use crate::api::auth::principal;
use crate::api::budget::OwnLimits;
use crate::api::convert::{FieldViolation, recorded_event_to_proto};
use crate::api::proto::subscription_service_server::SubscriptionService;
use crate::api::proto::{self, subscribe_response::Message};
use crate::api::status::ApiError;
use crate::auth::Principal;
use complaintflow_domain::ComplaintEvent;
use complaintflow_log::{Direction, LogReader, RecordedEvent, StreamId, subscription};

mod outbox;

/// Complaints whose dealer and region a subscription remembers before starting over
/// (about 100 bytes each: a bound on what a subscriber costs besides its buffer).
const DIRECTORY_CAPACITY: usize = 10_000;
/// Events read from the log at a time for one subscriber.
const PAGE: usize = 128;

type SubscribeStream = Pin<Box<dyn Stream<Item = Result<proto::SubscribeResponse, Status>> + Send>>;

pub struct SubscriptionApi {
    state: AppState,
}

impl SubscriptionApi {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

/// What a subscriber asked for and may see.
struct Filter {
    caller: Principal,
    regions: HashSet<String>,
    dealers: HashSet<String>,
    event_types: HashSet<String>,
}

impl Filter {
    fn from_request(
        caller: Principal,
        req: &proto::SubscribeRequest,
    ) -> Result<Self, FieldViolation> {
        if let Some((i, unknown)) = req
            .event_types
            .iter()
            .enumerate()
            .find(|(_, t)| !ComplaintEvent::TYPES.contains(&t.as_str()))
        {
            return Err(FieldViolation::new(
                format!("event_types[{i}]"),
                format!("unknown event type {unknown:?}"),
            ));
        }
        Ok(Self {
            caller,
            regions: req.region_codes.iter().cloned().collect(),
            dealers: req.dealer_codes.iter().cloned().collect(),
            event_types: req.event_types.iter().cloned().collect(),
        })
    }

    fn admits(&self, event_type: &str, dealer: &str, region: &str) -> bool {
        self.caller.can_see(dealer, region)
            && (self.regions.is_empty() || self.regions.contains(region))
            && (self.dealers.is_empty() || self.dealers.contains(dealer))
            && (self.event_types.is_empty() || self.event_types.contains(event_type))
    }
}

/// Which dealer and region each complaint belongs to, read from its filing.
#[derive(Default)]
struct Directory {
    known: HashMap<StreamId, Option<(String, String)>>,
}

impl Directory {
    async fn lookup(
        &mut self,
        store: &dyn LogReader,
        event: &RecordedEvent,
    ) -> Option<(String, String)> {
        if let Some(known) = self.known.get(&event.stream) {
            return known.clone();
        }
        let first = if event.version == 0 {
            Some(event.clone())
        } else {
            store
                .read_stream(&event.stream, 0, Direction::Forwards, 1)
                .await
                .ok()
                .and_then(|mut events| events.pop())
        };
        let owner = first.and_then(|first| {
            match ComplaintEvent::decode(&first.event_type, first.schema_version, &first.payload)
                .ok()?
            {
                ComplaintEvent::Filed(filed) => {
                    Some((filed.dealer.to_string(), filed.region.to_string()))
                }
                _ => None,
            }
        });
        if self.known.len() >= DIRECTORY_CAPACITY {
            self.known.clear();
        }
        self.known.insert(event.stream.clone(), owner.clone());
        owner
    }
}

/// What ended a feed early.
enum Stop {
    ClientGone,
    Ended,
}

/// Queues `message` for the subscriber, unless the server stops first; a subscriber
/// whose buffer stays full for the stall timeout is cut off.
async fn deliver(
    outbox: &Outbox,
    shutdown: &mut watch::Receiver<bool>,
    stall: Duration,
    message: Message,
) -> Result<(), Stop> {
    let message = proto::SubscribeResponse {
        message: Some(message),
    };
    let sent = tokio::select! {
        sent = outbox.send(message, stall) => sent,
        _ = shutdown.wait_for(|stop| *stop) => {
            outbox.end(Ending::ShuttingDown);
            return Err(Stop::Ended);
        }
    };
    match sent {
        Ok(()) => Ok(()),
        Err(SendError::Closed) => Err(Stop::ClientGone),
        Err(SendError::Stalled) => {
            debug!(?stall, "subscriber cut off: its buffer stayed full");
            metrics::counter!("complaintflow_subscriptions_cut_off_total").increment(1);
            outbox.end(Ending::Stalled(stall));
            Err(Stop::Ended)
        }
    }
}

async fn feed(state: AppState, filter: Filter, start: u64, outbox: Outbox) {
    metrics::gauge!("complaintflow_subscriptions_live").increment(1.0);
    let _ = run_feed(&state, &filter, start, &outbox).await;
    metrics::gauge!("complaintflow_subscriptions_live").decrement(1.0);
    debug!("subscription ended");
}

async fn run_feed(
    state: &AppState,
    filter: &Filter,
    start: u64,
    outbox: &Outbox,
) -> Result<(), Stop> {
    let store = state.engine.log().clone();
    let stall = state.limits.subscriber_stall_timeout.unsigned_abs();
    let tail = subscription::tail(store.clone(), start, PAGE).ready_chunks(PAGE);
    let mut tail = std::pin::pin!(tail);
    let mut directory = Directory::default();
    let mut shutdown = state.shutdown.clone();
    loop {
        let chunk = tokio::select! {
            chunk = tail.next() => chunk,
            _ = shutdown.wait_for(|stop| *stop) => {
                outbox.end(Ending::ShuttingDown);
                return Err(Stop::Ended);
            }
            () = outbox.closed() => return Err(Stop::ClientGone),
        };
        let Some(chunk) = chunk else { return Ok(()) };
        let mut skipped_to = None;
        for item in chunk {
            let event = match item {
                Ok(event) => event,
                Err(err) => {
                    outbox.end(Ending::Failed(Status::from(ApiError::from(err))));
                    return Err(Stop::Ended);
                }
            };
            let visible = match directory.lookup(store.as_ref(), &event).await {
                Some((dealer, region)) => filter.admits(&event.event_type, &dealer, &region),
                None => false,
            };
            if !visible {
                skipped_to = Some(event.position + 1);
                continue;
            }
            skipped_to = None;
            match recorded_event_to_proto(&event) {
                Ok(event) => deliver(outbox, &mut shutdown, stall, Message::Event(event)).await?,
                Err(_) => skipped_to = Some(event.position + 1),
            }
        }
        if let Some(next_position) = skipped_to {
            let checkpoint = Message::Checkpoint(proto::Checkpoint { next_position });
            deliver(outbox, &mut shutdown, stall, checkpoint).await?;
        }
    }
}

#[tonic::async_trait]
impl SubscriptionService for SubscriptionApi {
    type SubscribeStream = SubscribeStream;

    #[instrument(skip_all, name = "Subscribe")]
    async fn subscribe(
        &self,
        request: Request<proto::SubscribeRequest>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        let caller = principal(&request)?;
        let req = request.into_inner();
        let filter = Filter::from_request(caller, &req)?;
        let permit = self
            .state
            .subscriptions
            .clone()
            .try_acquire_owned()
            .map_err(|_| {
                Status::from(ApiError::ResourceExhausted(
                    "too many live subscriptions; try again later".into(),
                ))
            })?;
        let (outbox, inbox) = outbox::channel(
            self.state.limits.subscriber_buffer_bytes,
            req.start_position,
            permit,
        );
        tokio::spawn(feed(self.state.clone(), filter, req.start_position, outbox));
        let mut response = Response::new(Box::pin(inbox) as SubscribeStream);
        response.extensions_mut().insert(OwnLimits);
        Ok(response)
    }
}
