//! What a backend's group-commit writer takes from the store's callers: one append,
//! queued with the others, answered once it is durable (or refused).

use tokio::sync::{mpsc, oneshot};

use crate::{AppendOutcome, ExpectedVersion, PreparedEvent, StoreError, StreamId};

/// One append waiting for the writer.
pub struct AppendRequest {
    pub stream: StreamId,
    pub expected: ExpectedVersion,
    pub events: Vec<PreparedEvent>,
    pub reply: oneshot::Sender<Result<AppendOutcome, StoreError>>,
}

impl AppendRequest {
    /// Queues an append for the writer behind `queue` and waits for its answer.
    pub async fn submit(
        queue: mpsc::Sender<AppendRequest>,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<PreparedEvent>,
    ) -> Result<AppendOutcome, StoreError> {
        let (reply, answer) = oneshot::channel();
        let request = AppendRequest {
            stream: stream.clone(),
            expected,
            events,
            reply,
        };
        queue
            .send(request)
            .await
            .map_err(|_| StoreError::Unavailable("the writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the writer stopped before answering".into()))?
    }
}
