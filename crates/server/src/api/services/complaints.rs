//! `ComplaintService`: filing, appending, and the questions about complaints.

use tonic::{Request, Response, Status};
use tracing::instrument;
use uuid::Uuid;

use super::AppState;
use super::paging::{binding, page_size};
use super::position;
use super::require_writer;
use crate::api::auth::principal;
use crate::api::convert::{
    FieldViolation, check_dealer_namespace, complaint_id_from_name, complaint_name,
    complaint_to_proto, event_from_proto, filed_from_proto, optional_enum_from_proto,
    optional_timestamp_from_proto, parse_optional_uuid, parse_uuid, recorded_event_to_proto,
};
use crate::api::proto::complaint_service_server::ComplaintService;
use crate::api::proto::{self, get_complaint_request::AsOf as ProtoAsOf};
use crate::api::status::ApiError;
use crate::auth::{Principal, Scope};
use crate::engine::{AsOf, EngineError, Submission, complaint_stream};
use crate::projections::{ListQuery, StatsFilter, Within};
use complaintflow_domain::values::ComplaintId;
use complaintflow_domain::{ComplaintEvent, ComplaintState, tracked_deadlines};
use complaintflow_log::{AppendOutcome, Direction, ExpectedVersion, StoreError};

/// The namespace of event ids derived from request ids.
const REQUEST_NAMESPACE: Uuid = Uuid::from_u128(0x1f4e_8a52_3c6b_4d97_b2a1_5e0f_7c3d_9a64);

/// The id of the `index`-th event of a request that did not name its events.
fn derived_event_id(request_id: Uuid, index: usize) -> Uuid {
    Uuid::new_v5(
        &REQUEST_NAMESPACE,
        format!("{request_id}/{index}").as_bytes(),
    )
}

/// A complaint id derived from the filing request, when the caller gave none: from the
/// request id within the dealer and region it files for, so that two tenants that
/// happen to use the same request id get two complaints (one id for both would answer
/// the second with the first's existence).
fn derived_complaint_id(
    request_id: Uuid,
    filed: Option<&proto::Filed>,
) -> Result<ComplaintId, FieldViolation> {
    let scope = filed.map_or_else(String::new, |f| {
        format!("{}/{}/", f.region_code, f.dealer_code)
    });
    complaint_id_from_uuid(Uuid::new_v5(
        &REQUEST_NAMESPACE,
        format!("{scope}{request_id}/complaint").as_bytes(),
    ))
}

/// The id derived before ids were scoped by dealer, from the request id alone: a retry
/// of a filing answered by an older server finds its complaint under it.
fn unscoped_complaint_id(request_id: Uuid) -> Result<ComplaintId, FieldViolation> {
    complaint_id_from_uuid(derived_event_id(request_id, usize::MAX))
}

fn complaint_id_from_uuid(uuid: Uuid) -> Result<ComplaintId, FieldViolation> {
    let hex = uuid.simple().to_string();
    ComplaintId::parse(format!("C-{}", &hex[..16].to_ascii_uppercase()))
        .map_err(|e| FieldViolation::invalid("complaint_id", e))
}

/// Refuses an `occur_time` further in the past than `limits.max_occur_age`, unless the
/// request back-fills on purpose: the deadlines of a fact that old are all long due, and
/// a mistyped year would fire every one of them at once.
fn check_occur_age(
    occurred_at: Option<jiff::Timestamp>,
    field: &str,
    now: jiff::Timestamp,
    max_age: jiff::SignedDuration,
    backfill: bool,
) -> Result<(), FieldViolation> {
    match occurred_at {
        Some(at) if !backfill && now.duration_since(at) > max_age => Err(FieldViolation::new(
            field,
            format!(
                "more than {max_age:#} in the past (limits.max_occur_age); set backfill to record history this old"
            ),
        )),
        _ => Ok(()),
    }
}

pub struct ComplaintApi {
    state: AppState,
}

impl ComplaintApi {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

fn append_response(outcome: &AppendOutcome) -> proto::AppendEventsResponse {
    proto::AppendEventsResponse {
        version: outcome.last_version(),
        position: outcome.last_position(),
        events: outcome
            .slots
            .iter()
            .map(|slot| proto::AppendedEvent {
                event_id: slot.event_id.to_string(),
                version: slot.version,
                position: slot.position,
            })
            .collect(),
        replayed: outcome.replayed,
    }
}

/// A query that may name the log position its answer must include.
trait Query {
    fn min_position(&self) -> Option<u64>;
}

macro_rules! queries {
    ($($request:ty),+) => {$(
        impl Query for $request {
            fn min_position(&self) -> Option<u64> {
                self.min_position
            }
        }
    )+};
}

queries!(
    proto::GetComplaintRequest,
    proto::ListComplaintsRequest,
    proto::ListComplaintEventsRequest,
    proto::GetStatisticsRequest
);

impl ComplaintApi {
    /// Answers a query once this node's read models have reached the position it names
    /// (at most as long as the caller and the limits allow), within the response budget.
    async fn query<Q: Query, R: prost::Message, F>(
        &self,
        request: Request<Q>,
        answer: impl FnOnce(Principal, Q) -> F,
    ) -> Result<Response<R>, Status>
    where
        F: Future<Output = Result<R, ApiError>>,
    {
        let caller = principal(&request)?;
        let wait = position::wait_bound(
            request.metadata(),
            self.state.limits.max_position_wait.unsigned_abs(),
        );
        let request = request.into_inner();
        position::reach(&self.state.projections, request.min_position(), wait).await?;
        Ok(self
            .state
            .responses
            .respond(answer(caller, request).await?)?)
    }

    fn check_occur_age(
        &self,
        occurred_at: Option<jiff::Timestamp>,
        field: &str,
        backfill: bool,
    ) -> Result<(), FieldViolation> {
        check_occur_age(
            occurred_at,
            field,
            self.state.engine.clock().now(),
            self.state.limits.max_occur_age,
            backfill,
        )
    }

    /// The id for a filing that named none. A retry of one filed under the unscoped id
    /// by this caller's scope keeps it; anything else there (another tenant's complaint)
    /// is passed over without a word, as if it did not exist.
    async fn derived_id(
        &self,
        caller: &Principal,
        request_id: Uuid,
        filed: Option<&proto::Filed>,
    ) -> Result<ComplaintId, ApiError> {
        let unscoped = unscoped_complaint_id(request_id)?;
        let stream = complaint_stream(&unscoped).map_err(StoreError::from)?;
        if self
            .state
            .engine
            .find_event(&stream, &derived_event_id(request_id, 0))
            .await?
            .is_some()
        {
            let state = self.state.engine.load(&unscoped, AsOf::Now).await?;
            if caller.can_see(state.dealer.as_str(), state.region.as_str()) {
                return Ok(unscoped);
            }
        }
        Ok(derived_complaint_id(request_id, filed)?)
    }

    async fn file(
        &self,
        caller: Principal,
        req: proto::FileComplaintRequest,
    ) -> Result<proto::FileComplaintResponse, ApiError> {
        require_writer(&caller)?;
        let request_id = parse_uuid(&req.request_id, "request_id")?;
        let id = match req.complaint_id.as_str() {
            "" => {
                self.derived_id(&caller, request_id, req.filed.as_ref())
                    .await?
            }
            given => {
                ComplaintId::parse(given).map_err(|e| FieldViolation::invalid("complaint_id", e))?
            }
        };
        let filed = filed_from_proto(
            req.filed.ok_or_else(|| FieldViolation::required("filed"))?,
            &id,
            "filed",
        )?;
        if !req.complaint_id.is_empty() {
            check_dealer_namespace(
                "complaint_id",
                id.dealer_namespace(),
                filed.dealer.as_str(),
                (
                    "a complaint id chosen by the client",
                    "RO-2026-0117",
                    "; leave it empty to have the server derive one",
                ),
            )?;
        }
        // Before the log is asked whether the id is taken: a filing the caller may not
        // make is refused alike whether or not the complaint exists.
        caller
            .may_file(filed.dealer.as_str(), filed.region.as_str())
            .map_err(ApiError::PermissionDenied)?;
        let occurred_at = optional_timestamp_from_proto(req.occur_time, "occur_time")?;
        self.check_occur_age(occurred_at, "occur_time", req.backfill)?;
        let submission = Submission {
            event_id: derived_event_id(request_id, 0),
            event: filed.into(),
            occurred_at,
            correlation_id: parse_optional_uuid(&req.correlation_id, "correlation_id")?,
            causation_id: None,
        };
        let outcome = self
            .state
            .engine
            .submit(
                &caller.actor,
                &id,
                ExpectedVersion::NoStream,
                &[submission],
                &caller,
            )
            .await
            .map_err(|err| match err {
                // Taken, whoever's it is: a complaint out of the caller's scope gets the
                // answer of one in it, not NOT_FOUND (which would tell them apart).
                EngineError::Store(StoreError::WrongExpectedVersion { .. })
                | EngineError::NotFound(_) => {
                    ApiError::AlreadyExists(format!("complaint {id} already exists"))
                }
                other => other.into(),
            })?;
        Ok(proto::FileComplaintResponse {
            name: complaint_name(&id),
            complaint_id: id.to_string(),
            version: outcome.last_version(),
            position: outcome.last_position(),
            replayed: outcome.replayed,
        })
    }

    async fn append(
        &self,
        caller: Principal,
        req: proto::AppendEventsRequest,
    ) -> Result<proto::AppendEventsResponse, ApiError> {
        require_writer(&caller)?;
        let id = complaint_id_from_name(&req.name, "name")?;
        let request_id = parse_uuid(&req.request_id, "request_id")?;
        if req.events.is_empty() {
            return Err(FieldViolation::new("events", "at least one event").into());
        }
        let submissions = req
            .events
            .into_iter()
            .enumerate()
            .map(|(i, pb)| {
                let path = format!("events[{i}]");
                let event_id = match pb.event_id.as_str() {
                    "" => derived_event_id(request_id, i),
                    given => parse_uuid(given, &format!("{path}.event_id"))?,
                };
                let event = pb
                    .event
                    .ok_or_else(|| FieldViolation::required(format!("{path}.event")))?;
                let occur_field = format!("{path}.occur_time");
                let occurred_at = optional_timestamp_from_proto(pb.occur_time, &occur_field)?;
                self.check_occur_age(occurred_at, &occur_field, req.backfill)?;
                Ok(Submission {
                    event_id,
                    event: event_from_proto(event, &id, &format!("{path}.event"))?,
                    occurred_at,
                    correlation_id: parse_optional_uuid(
                        &pb.correlation_id,
                        &format!("{path}.correlation_id"),
                    )?,
                    causation_id: parse_optional_uuid(
                        &pb.causation_id,
                        &format!("{path}.causation_id"),
                    )?,
                })
            })
            .collect::<Result<Vec<_>, FieldViolation>>()?;
        if matches!(
            submissions.first().map(|s| &s.event),
            Some(ComplaintEvent::Filed(_))
        ) {
            return Err(FieldViolation::new(
                "events[0].event.filed",
                "file complaints with FileComplaint",
            )
            .into());
        }
        let expected = req
            .expected_version
            .map_or(ExpectedVersion::Any, ExpectedVersion::Exact);
        let outcome = self
            .state
            .engine
            .submit(&caller.actor, &id, expected, &submissions, &caller)
            .await?;
        // A merge's survivor records it before the caller hears that it is done.
        self.state
            .engine
            .carry_merges(&id, &submissions, &outcome)
            .await?;
        Ok(append_response(&outcome))
    }

    /// The complaint, if the caller may see it; NOT_FOUND otherwise, so that a dealer
    /// cannot learn that another dealer's complaint exists.
    async fn visible(
        &self,
        caller: &Principal,
        id: &ComplaintId,
        as_of: AsOf,
    ) -> Result<ComplaintState, ApiError> {
        let state = self.state.engine.load(id, as_of).await?;
        if caller.can_see(state.dealer.as_str(), state.region.as_str()) {
            Ok(state)
        } else {
            Err(ApiError::NotFound(format!("complaint {id} not found")))
        }
    }

    async fn get(
        &self,
        caller: Principal,
        req: proto::GetComplaintRequest,
    ) -> Result<proto::GetComplaintResponse, ApiError> {
        let id = complaint_id_from_name(&req.name, "name")?;
        let as_of = match req.as_of {
            None => AsOf::Now,
            Some(ProtoAsOf::AsOfVersion(version)) => AsOf::Version(version),
            Some(ProtoAsOf::AsOfTime(time)) => AsOf::Time(
                crate::api::convert::timestamp_from_proto(&time, "as_of_time")?,
            ),
        };
        // Visibility is judged on today's state: a complaint reassigned later stays
        // with its current dealer.
        let current = self.visible(&caller, &id, AsOf::Now).await?;
        if let AsOf::Version(version) = as_of
            && version > current.version
        {
            return Err(FieldViolation::new(
                "as_of_version",
                format!("the complaint has versions 0 to {}", current.version),
            )
            .into());
        }
        let state = match as_of {
            AsOf::Now => current,
            past => self.state.engine.load(&id, past).await?,
        };
        let deadlines = tracked_deadlines(&state, self.state.engine.policy());
        Ok(proto::GetComplaintResponse {
            complaint: Some(complaint_to_proto(&state, &deadlines)),
        })
    }

    async fn list(
        &self,
        caller: Principal,
        req: proto::ListComplaintsRequest,
    ) -> Result<proto::ListComplaintsResponse, ApiError> {
        let size = page_size(req.page_size, 50, 500)?;
        let query = ListQuery {
            dealer: non_empty(req.dealer_code),
            region: non_empty(req.region_code),
            status: optional_enum_from_proto(req.status, "status")?,
            category: optional_enum_from_proto(req.category, "category")?,
            severity: optional_enum_from_proto(req.severity, "severity")?,
            overdue_only: req.overdue_only,
            at_risk_only: req.at_risk_only,
            filed_after: optional_timestamp_from_proto(req.filed_after, "filed_after")?,
            filed_before: optional_timestamp_from_proto(req.filed_before, "filed_before")?,
            within: match &caller.scope {
                Scope::Everything => Within::Everything,
                Scope::Dealers(dealers) => Within::Dealers(dealers.clone()),
                Scope::Regions(regions) => Within::Regions(regions.clone()),
            },
        };
        let bound = binding("ListComplaints", &caller, &query);
        let after = self.state.page_tokens.open_token(&bound, &req.page_token)?;
        let visible = |record: &crate::projections::ComplaintRecord| {
            caller.can_see(record.state.dealer.as_str(), record.state.region.as_str())
        };
        let page = self
            .state
            .projections
            .list(&query, &visible, size, after.as_deref())?;
        Ok(proto::ListComplaintsResponse {
            complaints: page
                .records
                .iter()
                .map(|record| complaint_to_proto(&record.state, &record.deadlines))
                .collect(),
            next_page_token: page
                .next
                .map(|cursor| self.state.page_tokens.seal(&bound, &cursor))
                .unwrap_or_default(),
        })
    }

    async fn events(
        &self,
        caller: Principal,
        req: proto::ListComplaintEventsRequest,
    ) -> Result<proto::ListComplaintEventsResponse, ApiError> {
        let id = complaint_id_from_name(&req.parent, "parent")?;
        let size = page_size(req.page_size, 100, 1000)?;
        self.visible(&caller, &id, AsOf::Now).await?;
        let direction = if req.descending {
            Direction::Backwards
        } else {
            Direction::Forwards
        };
        let bound = binding("ListComplaintEvents", &caller, &(&id, req.descending));
        let from = match self.state.page_tokens.open_token(&bound, &req.page_token)? {
            Some(bytes) => u64::from_be_bytes(bytes.try_into().map_err(|_| {
                FieldViolation::new("page_token", "not a token issued for this query")
            })?),
            None if req.descending => u64::MAX,
            None => 0,
        };
        let stream = complaint_stream(&id).map_err(StoreError::from)?;
        let mut events = self
            .state
            .engine
            .log()
            .read_stream(&stream, from, direction, size + 1)
            .await?;
        let next = (events.len() > size).then(|| {
            events.truncate(size);
            events.last().map(|last| match direction {
                Direction::Forwards => last.version + 1,
                Direction::Backwards => last.version.saturating_sub(1),
            })
        });
        let next_page_token = match next.flatten() {
            Some(version) => self.state.page_tokens.seal(&bound, &version.to_be_bytes()),
            None => String::new(),
        };
        let events = events
            .iter()
            .map(|e| {
                recorded_event_to_proto(e).map_err(|err| EngineError::unreadable(e.position, err))
            })
            .collect::<Result<_, _>>()?;
        Ok(proto::ListComplaintEventsResponse {
            events,
            next_page_token,
        })
    }

    /// Statistics periods are whole months of filing, in the network's home time zone.
    async fn statistics(
        &self,
        caller: Principal,
        req: proto::GetStatisticsRequest,
    ) -> Result<proto::GetStatisticsResponse, ApiError> {
        let month =
            |t: Option<prost_types::Timestamp>, field: &str| -> Result<Option<String>, ApiError> {
                Ok(optional_timestamp_from_proto(t, field)?.map(|t| {
                    let zone = self.state.engine.policy().default_calendar().time_zone();
                    zone.to_datetime(t).strftime("%Y-%m").to_string()
                }))
            };
        let end = optional_timestamp_from_proto(req.end_time, "end_time")?
            .map(|t| t - jiff::SignedDuration::from_micros(1));
        let filter = StatsFilter {
            region: non_empty(req.region_code),
            dealer: non_empty(req.dealer_code),
            from_month: month(req.start_time, "start_time")?,
            to_month: month(end.map(crate::api::convert::timestamp_to_proto), "end_time")?,
        };
        let stats = self
            .state
            .projections
            .statistics(&filter, &|region, dealer| caller.can_see(dealer, region))?;
        Ok(crate::api::convert::statistics_to_proto(&stats))
    }
}

fn non_empty(value: String) -> Option<String> {
    (!value.is_empty()).then_some(value)
}

#[tonic::async_trait]
impl ComplaintService for ComplaintApi {
    #[instrument(skip_all, name = "FileComplaint")]
    async fn file_complaint(
        &self,
        request: Request<proto::FileComplaintRequest>,
    ) -> Result<Response<proto::FileComplaintResponse>, Status> {
        let caller = principal(&request)?;
        Ok(self
            .state
            .responses
            .respond(self.file(caller, request.into_inner()).await?)?)
    }

    #[instrument(skip_all, name = "AppendEvents")]
    async fn append_events(
        &self,
        request: Request<proto::AppendEventsRequest>,
    ) -> Result<Response<proto::AppendEventsResponse>, Status> {
        let caller = principal(&request)?;
        Ok(self
            .state
            .responses
            .respond(self.append(caller, request.into_inner()).await?)?)
    }

    #[instrument(skip_all, name = "GetComplaint")]
    async fn get_complaint(
        &self,
        request: Request<proto::GetComplaintRequest>,
    ) -> Result<Response<proto::GetComplaintResponse>, Status> {
        self.query(request, |caller, request| self.get(caller, request))
            .await
    }

    #[instrument(skip_all, name = "ListComplaints")]
    async fn list_complaints(
        &self,
        request: Request<proto::ListComplaintsRequest>,
    ) -> Result<Response<proto::ListComplaintsResponse>, Status> {
        self.query(request, |caller, request| self.list(caller, request))
            .await
    }

    #[instrument(skip_all, name = "ListComplaintEvents")]
    async fn list_complaint_events(
        &self,
        request: Request<proto::ListComplaintEventsRequest>,
    ) -> Result<Response<proto::ListComplaintEventsResponse>, Status> {
        self.query(request, |caller, request| self.events(caller, request))
            .await
    }

    #[instrument(skip_all, name = "GetStatistics")]
    async fn get_statistics(
        &self,
        request: Request<proto::GetStatisticsRequest>,
    ) -> Result<Response<proto::GetStatisticsResponse>, Status> {
        self.query(request, |caller, request| self.statistics(caller, request))
            .await
    }
}
