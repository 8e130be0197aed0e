//! `AuditService`: hash-chain verification, digests and exports.

use std::pin::Pin;

use futures::{Stream, StreamExt};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};
use tracing::instrument;

use super::AppState;
use crate::api::auth::principal;
use crate::api::budget::{Lease, ResponseBudget};
use crate::api::convert::{FieldViolation, complaint_id_from_name, recorded_event_to_proto};
use crate::api::proto::audit_service_server::AuditService;
use crate::api::proto::{self, check_digest_response::Verdict};
use crate::api::status::ApiError;
use crate::auth::Principal;
use crate::engine::{AsOf, EngineError, complaint_stream};
use complaintflow_domain::values::ComplaintId;
use complaintflow_log::verify::{self, BrokenLink, DigestCheck, VerifyReport};
use complaintflow_log::{Digest, Direction, StoreError};

/// Events an export reads from the log at a time: what its task holds besides the
/// messages queued for the client, each of which holds its share of the response budget.
const EXPORT_PAGE: usize = 64;
/// Messages an export queues ahead of the client.
const EXPORT_QUEUE: usize = 64;
/// What an export is charged at once when it starts, and holds for its life: its task's
/// page of events. An export that cannot have it is refused, as any other response.
const EXPORT_OPENING_BYTES: usize = 64 * 1024;

pub struct AuditApi {
    state: AppState,
}

impl AuditApi {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

fn require_auditor(caller: &Principal) -> Result<(), ApiError> {
    if caller.can_audit_log() {
        Ok(())
    } else {
        Err(ApiError::PermissionDenied(format!(
            "{} may not audit the whole log (auditor or admin only)",
            caller.role
        )))
    }
}

fn broken_link_to_proto(link: &BrokenLink) -> proto::BrokenLink {
    proto::BrokenLink {
        position: link.position,
        complaint_id: link
            .stream
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        version: link.version.unwrap_or_default(),
        detail: link.to_string(),
        expected_hash: link
            .expected_hash
            .map(|h| h.to_string())
            .unwrap_or_default(),
        found_hash: link.found_hash.map(|h| h.to_string()).unwrap_or_default(),
    }
}

fn result_to_proto(report: &VerifyReport) -> proto::VerifyResult {
    proto::VerifyResult {
        intact: report.is_intact(),
        events_checked: report.events_checked,
        first_break: report.first_break.as_ref().map(broken_link_to_proto),
    }
}

impl AuditApi {
    async fn verify_one(
        &self,
        caller: Principal,
        req: proto::VerifyComplaintRequest,
    ) -> Result<proto::VerifyComplaintResponse, ApiError> {
        let id = complaint_id_from_name(&req.name, "name")?;
        let state = self.state.engine.load(&id, AsOf::Now).await?;
        if !caller.can_see(state.dealer.as_str(), state.region.as_str()) {
            return Err(ApiError::NotFound(format!("complaint {id} not found")));
        }
        let stream = complaint_stream(&id).map_err(StoreError::from)?;
        let report = verify::verify_stream(self.state.engine.log().as_ref(), &stream).await?;
        Ok(proto::VerifyComplaintResponse {
            result: Some(result_to_proto(&report)),
        })
    }

    async fn verify_all(&self, caller: Principal) -> Result<proto::VerifyLogResponse, ApiError> {
        require_auditor(&caller)?;
        let report = verify::verify_log(self.state.engine.log().as_ref()).await?;
        Ok(proto::VerifyLogResponse {
            result: Some(result_to_proto(&report)),
        })
    }

    async fn take(&self, caller: Principal) -> Result<proto::TakeDigestResponse, ApiError> {
        require_auditor(&caller)?;
        let digest = verify::take_digest(self.state.engine.log().as_ref())
            .await?
            .ok_or_else(|| {
                ApiError::FailedPrecondition("the log is empty: there is nothing to digest".into())
            })?;
        Ok(proto::TakeDigestResponse {
            digest: Some(proto::Digest {
                position: digest.position,
                head_hash: digest.head_hash.to_string(),
            }),
        })
    }

    async fn check(
        &self,
        caller: Principal,
        req: proto::CheckDigestRequest,
    ) -> Result<proto::CheckDigestResponse, ApiError> {
        require_auditor(&caller)?;
        let saved = req
            .digest
            .ok_or_else(|| FieldViolation::required("digest"))?;
        let digest = Digest {
            position: saved.position,
            head_hash: saved
                .head_hash
                .parse()
                .map_err(|_| FieldViolation::new("digest.head_hash", "expected 64 hex digits"))?,
        };
        let check = verify::check_digest(self.state.engine.log().as_ref(), &digest).await?;
        let (verdict, detail, first_break) = match &check {
            DigestCheck::Consistent => (
                Verdict::Consistent,
                format!("the log still extends {digest}"),
                None,
            ),
            DigestCheck::Truncated { head } => (
                Verdict::Truncated,
                format!(
                    "the log holds {head} events; the digest covers position {}",
                    digest.position
                ),
                None,
            ),
            DigestCheck::HashMismatch { found } => (
                Verdict::HashMismatch,
                format!("position {} now hashes to {found}", digest.position),
                None,
            ),
            DigestCheck::Broken(link) => (
                Verdict::Broken,
                link.to_string(),
                Some(broken_link_to_proto(link)),
            ),
        };
        Ok(proto::CheckDigestResponse {
            verdict: verdict.into(),
            detail,
            first_break,
        })
    }

    /// Streams every event of the chosen complaints through a bounded channel: a slow
    /// reader holds the export back, never the server's memory. Every queued message
    /// holds its encoded size on the response budget until the transport takes it.
    async fn export(
        &self,
        caller: Principal,
        req: proto::ExportTimelinesRequest,
    ) -> Result<ExportStream, ApiError> {
        require_auditor(&caller)?;
        let ids: Vec<ComplaintId> = if req.complaint_ids.is_empty() {
            self.state
                .projections
                .complaint_ids()
                .collect::<Result<_, _>>()?
        } else {
            req.complaint_ids
                .iter()
                .enumerate()
                .map(|(i, id)| {
                    ComplaintId::parse(id.as_str())
                        .map_err(|e| FieldViolation::invalid(format!("complaint_ids[{i}]"), e))
                })
                .collect::<Result<_, _>>()?
        };
        let budget = self.state.responses.clone();
        let opening = budget.charge(EXPORT_OPENING_BYTES)?;
        let (tx, rx) = mpsc::channel(EXPORT_QUEUE);
        let store = self.state.engine.log().clone();
        tokio::spawn(async move {
            let _opening = opening;
            let out = Outbox { tx, budget };
            for id in ids {
                if let Err(status) = export_one(store.as_ref(), &id, &out).await {
                    let _ = out.tx.send((Err(status), None)).await;
                    return;
                }
            }
        });
        // The share is given back as the transport takes the message.
        Ok(Box::pin(
            ReceiverStream::new(rx).map(|(message, _lease)| message),
        ))
    }
}

type ExportStream =
    Pin<Box<dyn Stream<Item = Result<proto::ExportTimelinesResponse, Status>> + Send>>;

type Queued = (
    Result<proto::ExportTimelinesResponse, Status>,
    Option<Lease>,
);

/// Where an export's task queues its messages, each with its share of the budget.
struct Outbox {
    tx: mpsc::Sender<Queued>,
    budget: ResponseBudget,
}

impl Outbox {
    /// Queues `message` once the budget has room for it; false when the client is gone.
    async fn send(&self, message: proto::ExportTimelinesResponse) -> bool {
        let lease = tokio::select! {
            lease = self.budget.reserve(prost::Message::encoded_len(&message)) => lease,
            () = self.tx.closed() => return false,
        };
        match lease {
            Ok(lease) => self.tx.send((Ok(message), Some(lease))).await.is_ok(),
            Err(err) => {
                let _ = self.tx.send((Err(err.into()), None)).await;
                false
            }
        }
    }
}

async fn export_one(
    store: &dyn complaintflow_log::LogReader,
    id: &ComplaintId,
    out: &Outbox,
) -> Result<(), Status> {
    let stream =
        complaint_stream(id).map_err(|e| Status::from(ApiError::from(StoreError::from(e))))?;
    let mut from = 0;
    loop {
        let page = store
            .read_stream(&stream, from, Direction::Forwards, EXPORT_PAGE)
            .await
            .map_err(|e| Status::from(ApiError::from(e)))?;
        let Some(last) = page.last() else {
            return Ok(());
        };
        from = last.version + 1;
        for event in &page {
            let event = recorded_event_to_proto(event).map_err(|err| {
                Status::from(ApiError::from(EngineError::unreadable(event.position, err)))
            })?;
            if !out
                .send(proto::ExportTimelinesResponse { event: Some(event) })
                .await
            {
                return Ok(()); // the client went away
            }
        }
    }
}

#[tonic::async_trait]
impl AuditService for AuditApi {
    #[instrument(skip_all, name = "VerifyComplaint")]
    async fn verify_complaint(
        &self,
        request: Request<proto::VerifyComplaintRequest>,
    ) -> Result<Response<proto::VerifyComplaintResponse>, Status> {
        let caller = principal(&request)?;
        Ok(self
            .state
            .responses
            .respond(self.verify_one(caller, request.into_inner()).await?)?)
    }

    #[instrument(skip_all, name = "VerifyLog")]
    async fn verify_log(
        &self,
        request: Request<proto::VerifyLogRequest>,
    ) -> Result<Response<proto::VerifyLogResponse>, Status> {
        let caller = principal(&request)?;
        Ok(self
            .state
            .responses
            .respond(self.verify_all(caller).await?)?)
    }

    #[instrument(skip_all, name = "TakeDigest")]
    async fn take_digest(
        &self,
        request: Request<proto::TakeDigestRequest>,
    ) -> Result<Response<proto::TakeDigestResponse>, Status> {
        let caller = principal(&request)?;
        Ok(self.state.responses.respond(self.take(caller).await?)?)
    }

    #[instrument(skip_all, name = "CheckDigest")]
    async fn check_digest(
        &self,
        request: Request<proto::CheckDigestRequest>,
    ) -> Result<Response<proto::CheckDigestResponse>, Status> {
        let caller = principal(&request)?;
        Ok(self
            .state
            .responses
            .respond(self.check(caller, request.into_inner()).await?)?)
    }

    type ExportTimelinesStream = ExportStream;

    #[instrument(skip_all, name = "ExportTimelines")]
    async fn export_timelines(
        &self,
        request: Request<proto::ExportTimelinesRequest>,
    ) -> Result<Response<Self::ExportTimelinesStream>, Status> {
        let caller = principal(&request)?;
        Ok(Response::new(
            self.export(caller, request.into_inner()).await?,
        ))
    }
}
