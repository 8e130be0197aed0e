//! `FollowUpService`: the quality follow-up calls after sales and repairs, in the
//! scopes of the complaints: a dealer sees and writes its own, a CAC service its
//! regions', an auditor reads everything.

use tonic::{Request, Response, Status};
use tracing::instrument;
use uuid::Uuid;

use super::AppState;
use super::paging::{binding, page_size};
use super::require_writer;
use crate::api::auth::principal;
use crate::api::convert::{
    FieldViolation, check_dealer_namespace, follow_up_event_from_proto, follow_up_id_from_name,
    follow_up_name, follow_up_to_proto, opened_from_proto, optional_timestamp_from_proto,
    parse_uuid,
};
use crate::api::proto;
use crate::api::proto::follow_up_service_server::FollowUpService;
use crate::api::status::ApiError;
use crate::auth::Principal;
use crate::engine::{EngineError, Submission};
use crate::projections::StatsFilter;
use complaintflow_domain::follow_up::{FollowUpEvent, FollowUpState};
use complaintflow_domain::values::FollowUpId;
use complaintflow_log::{AppendOutcome, ExpectedVersion};

/// How long a listing waits for the read models to reach what was written before it.
const CATCH_UP_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// The namespace of event ids derived from follow-up request ids.
const REQUEST_NAMESPACE: Uuid = Uuid::from_u128(0x5b1c_e0a7_42d9_4f63_8a1e_c3f5_07b2_d948);

pub struct FollowUpApi {
    state: AppState,
}

impl FollowUpApi {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

impl FollowUpApi {
    async fn submit(
        &self,
        caller: &Principal,
        id: &FollowUpId,
        expected: ExpectedVersion,
        submission: Submission<FollowUpEvent>,
    ) -> Result<AppendOutcome, ApiError> {
        Ok(self
            .state
            .engine
            .submit(&caller.actor, id, expected, &[submission], caller)
            .await?)
    }

    /// The follow-up as its stream says now (a caller reads what it just wrote), if
    /// the caller may see it; one it may not see is not found, like one that never was.
    async fn visible(
        &self,
        caller: &Principal,
        id: &FollowUpId,
    ) -> Result<FollowUpState, ApiError> {
        let state = self.state.engine.load_follow_up(id).await?;
        if caller.can_see(state.opened.dealer.as_str(), state.opened.region.as_str()) {
            Ok(state)
        } else {
            Err(EngineError::FollowUpNotFound(id.clone()).into())
        }
    }

    async fn open(
        &self,
        caller: Principal,
        req: proto::OpenFollowUpRequest,
    ) -> Result<proto::OpenFollowUpResponse, ApiError> {
        require_writer(&caller)?;
        let request_id = parse_uuid(&req.request_id, "request_id")?;
        let opened = opened_from_proto(req)?;
        let id = opened.follow_up_id.clone();
        // As for complaints: the id is in the dealer's namespace, and a caller that may
        // not open for that dealer is refused before the log says whether it is taken.
        check_dealer_namespace(
            "follow_up_id",
            id.dealer_namespace(),
            opened.dealer.as_str(),
            ("a follow-up id", "SO-2026-0042", ""),
        )?;
        caller
            .may_file(opened.dealer.as_str(), opened.region.as_str())
            .map_err(ApiError::PermissionDenied)?;
        let submission = Submission {
            event_id: Uuid::new_v5(&REQUEST_NAMESPACE, request_id.as_bytes()),
            event: opened.into(),
            occurred_at: None,
            correlation_id: None,
            causation_id: None,
        };
        let outcome = self
            .submit(&caller, &id, ExpectedVersion::NoStream, submission)
            .await?;
        Ok(proto::OpenFollowUpResponse {
            name: follow_up_name(&id),
            version: outcome.last_version(),
            position: outcome.last_position(),
            replayed: outcome.replayed,
        })
    }

    async fn record(
        &self,
        caller: Principal,
        req: proto::RecordFollowUpEventRequest,
    ) -> Result<proto::RecordFollowUpEventResponse, ApiError> {
        require_writer(&caller)?;
        let request_id = parse_uuid(&req.request_id, "request_id")?;
        let id = follow_up_id_from_name(&req.name, "name")?;
        let submission = Submission {
            event_id: Uuid::new_v5(&REQUEST_NAMESPACE, request_id.as_bytes()),
            event: follow_up_event_from_proto(req.event)?,
            occurred_at: optional_timestamp_from_proto(req.occur_time, "occur_time")?,
            correlation_id: None,
            causation_id: None,
        };
        let outcome = self
            .submit(&caller, &id, ExpectedVersion::Any, submission)
            .await?;
        Ok(proto::RecordFollowUpEventResponse {
            version: outcome.last_version(),
            position: outcome.last_position(),
            replayed: outcome.replayed,
        })
    }

    /// A caller lists what it wrote: the read models are given a moment to reach the
    /// log's head as of the request (a listing never waits longer than that).
    async fn caught_up(&self) {
        let head = self.state.engine.log().head();
        let _ = tokio::time::timeout(CATCH_UP_WAIT, self.state.projections.wait_for(head)).await;
    }

    async fn list(
        &self,
        caller: Principal,
        req: proto::ListFollowUpsRequest,
    ) -> Result<proto::ListFollowUpsResponse, ApiError> {
        let size = page_size(req.page_size, 50, 500)?;
        self.caught_up().await;
        let bound = binding("ListFollowUps", &caller, &req.open_only);
        let after = match self.state.page_tokens.open_token(&bound, &req.page_token)? {
            Some(bytes) => Some(
                String::from_utf8(bytes)
                    .ok()
                    .and_then(|id| FollowUpId::parse(id).ok())
                    .ok_or_else(|| FieldViolation::new("page_token", "not a page token"))?,
            ),
            None => None,
        };
        let visible = |region: &str, dealer: &str| caller.can_see(dealer, region);
        // One more than the page tells whether another page follows.
        let mut found = self.state.projections.list_follow_ups(
            &visible,
            req.open_only,
            after.as_ref(),
            size + 1,
        );
        let next = (found.len() > size).then(|| {
            found.truncate(size);
            found.last().map(|state| {
                self.state
                    .page_tokens
                    .seal(&bound, state.id().as_str().as_bytes())
            })
        });
        Ok(proto::ListFollowUpsResponse {
            follow_ups: found.iter().map(follow_up_to_proto).collect(),
            next_page_token: next.flatten().unwrap_or_default(),
        })
    }

    async fn statistics(
        &self,
        caller: Principal,
        req: proto::GetFollowUpStatisticsRequest,
    ) -> proto::GetFollowUpStatisticsResponse {
        self.caught_up().await;
        let non_empty = |s: String| (!s.is_empty()).then_some(s);
        let filter = StatsFilter {
            region: non_empty(req.region_code),
            dealer: non_empty(req.dealer_code),
            from_month: non_empty(req.from_month),
            to_month: non_empty(req.to_month),
        };
        let visible = |region: &str, dealer: &str| caller.can_see(dealer, region);
        let stats = self
            .state
            .projections
            .follow_up_statistics(&filter, &visible);
        proto::GetFollowUpStatisticsResponse {
            follow_ups: stats.follow_ups,
            by_occasion: stats
                .by_occasion
                .iter()
                .map(|(occasion, count)| ((*occasion).to_owned(), *count))
                .collect(),
            deadline_met: stats.deadline_met,
            deadline_missed: stats.deadline_missed,
            answered: stats.answered,
            unhappy: stats.unhappy,
            became_complaints: stats.became_complaints,
            closed_without_complaint: stats.closed_without_complaint,
            average_satisfaction: stats.average_satisfaction(),
        }
    }
}

#[tonic::async_trait]
impl FollowUpService for FollowUpApi {
    #[instrument(skip_all)]
    async fn open_follow_up(
        &self,
        request: Request<proto::OpenFollowUpRequest>,
    ) -> Result<Response<proto::OpenFollowUpResponse>, Status> {
        let caller = principal(&request)?;
        Ok(Response::new(
            self.open(caller, request.into_inner()).await?,
        ))
    }

    #[instrument(skip_all)]
    async fn record_follow_up_event(
        &self,
        request: Request<proto::RecordFollowUpEventRequest>,
    ) -> Result<Response<proto::RecordFollowUpEventResponse>, Status> {
        let caller = principal(&request)?;
        Ok(Response::new(
            self.record(caller, request.into_inner()).await?,
        ))
    }

    #[instrument(skip_all)]
    async fn get_follow_up(
        &self,
        request: Request<proto::GetFollowUpRequest>,
    ) -> Result<Response<proto::GetFollowUpResponse>, Status> {
        let caller = principal(&request)?;
        let id = follow_up_id_from_name(&request.get_ref().name, "name").map_err(ApiError::from)?;
        let state = self.visible(&caller, &id).await?;
        Ok(Response::new(proto::GetFollowUpResponse {
            follow_up: Some(follow_up_to_proto(&state)),
        }))
    }

    #[instrument(skip_all)]
    async fn list_follow_ups(
        &self,
        request: Request<proto::ListFollowUpsRequest>,
    ) -> Result<Response<proto::ListFollowUpsResponse>, Status> {
        let caller = principal(&request)?;
        Ok(Response::new(
            self.list(caller, request.into_inner()).await?,
        ))
    }

    #[instrument(skip_all)]
    async fn get_follow_up_statistics(
        &self,
        request: Request<proto::GetFollowUpStatisticsRequest>,
    ) -> Result<Response<proto::GetFollowUpStatisticsResponse>, Status> {
        let caller = principal(&request)?;
        Ok(Response::new(
            self.statistics(caller, request.into_inner()).await,
        ))
    }
}
