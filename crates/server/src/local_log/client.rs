//! The tools' side: a running server's log, read through its local socket, as a
//! [`LogReader`] that `verify`, digests, exports and backups take like any store.

use std::path::{Path, PathBuf};

use complaintflow_log::{
    Direction, LogLoss, LogReader, RecordedEvent, StoreError, StreamId, codec,
};
use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;
use tokio::sync::watch;
use tonic::transport::{Channel, Endpoint, Uri};

use super::{MAX_MESSAGE_BYTES, loss};
use crate::api::proto::local::local_log_service_client::LocalLogServiceClient;
use crate::api::proto::local::{GetLogHeadRequest, ReadLogRequest, ReadLogStreamRequest};

/// Why the running server's log cannot be read through its socket.
#[derive(Debug, thiserror::Error)]
pub enum ServedLogError {
    #[error("cannot connect to the running server's local socket {path}: {source}")]
    Connect {
        path: PathBuf,
        #[source]
        source: tonic::transport::Error,
    },
    #[error("the running server did not say where its log ends: {0}")]
    Head(#[source] tonic::Status),
}

/// A running server's log, as it stood when [`ServedLog::connect`] asked where it ends:
/// what is appended afterwards is not read, so a verification, a digest or a backup
/// covers one consistent prefix.
#[derive(Debug)]
pub struct ServedLog {
    client: LocalLogServiceClient<Channel>,
    head: watch::Sender<u64>,
    loss: Option<LogLoss>,
    socket: PathBuf,
}

impl ServedLog {
    pub async fn connect(socket: &Path) -> Result<Self, ServedLogError> {
        let path = socket.to_path_buf();
        // The URI is a placeholder: the connector dials the socket whatever it says.
        let channel = Endpoint::from_static("http://local.sock")
            .connect_with_connector(tower::service_fn(move |_: Uri| {
                let path = path.clone();
                async move { UnixStream::connect(path).await.map(TokioIo::new) }
            }))
            .await
            .map_err(|source| ServedLogError::Connect {
                path: socket.to_path_buf(),
                source,
            })?;
        let mut client =
            LocalLogServiceClient::new(channel).max_decoding_message_size(MAX_MESSAGE_BYTES);
        let head = client
            .get_log_head(GetLogHeadRequest {})
            .await
            .map_err(ServedLogError::Head)?
            .into_inner();
        Ok(Self {
            client,
            head: watch::Sender::new(head.next_position),
            loss: head.known_loss.and_then(loss::from_wire),
            socket: socket.to_path_buf(),
        })
    }

    /// The socket, for messages.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    fn unavailable(&self, status: &tonic::Status) -> StoreError {
        StoreError::Unavailable(format!(
            "reading through the running server's socket {}: {}",
            self.socket.display(),
            status.message()
        ))
    }
}

/// The records of an answer, decoded; a record that does not decode is named by its
/// place in the answer and the request.
fn decode(records: &[Vec<u8>], asked: &str) -> Result<Vec<RecordedEvent>, StoreError> {
    records
        .iter()
        .enumerate()
        .map(|(index, record)| {
            codec::decode(record).map_err(|err| StoreError::Corrupt {
                location: format!("record {index} of the server's answer to {asked}"),
                reason: err.to_string(),
            })
        })
        .collect()
}

fn wire_count(limit: usize) -> u32 {
    u32::try_from(limit).unwrap_or(u32::MAX)
}

#[tonic::async_trait]
impl LogReader for ServedLog {
    async fn read_stream(
        &self,
        stream: &StreamId,
        from: u64,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let request = ReadLogStreamRequest {
            stream: stream.as_str().to_owned(),
            from_version: from,
            backwards: matches!(direction, Direction::Backwards),
            max_events: wire_count(limit),
        };
        let answer = self
            .client
            .clone()
            .read_log_stream(request)
            .await
            .map_err(|status| self.unavailable(&status))?;
        let head = self.head();
        let mut events = decode(&answer.into_inner().records, &format!("stream {stream}"))?;
        // Only the prefix this reader stands for.
        events.retain(|event| event.position < head);
        Ok(events)
    }

    async fn read_all(&self, from: u64, limit: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        let head = self.head();
        let limit = limit.min(usize::try_from(head.saturating_sub(from)).unwrap_or(usize::MAX));
        if limit == 0 {
            return Ok(Vec::new());
        }
        let request = ReadLogRequest {
            from_position: from,
            max_events: wire_count(limit),
        };
        let answer = self
            .client
            .clone()
            .read_log(request)
            .await
            .map_err(|status| self.unavailable(&status))?;
        decode(&answer.into_inner().records, &format!("position {from}"))
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<Option<u64>, StoreError> {
        let last = self
            .read_stream(stream, u64::MAX, Direction::Backwards, 1)
            .await?;
        Ok(last.first().map(|event| event.version))
    }

    fn known_loss(&self) -> Option<LogLoss> {
        self.loss.clone()
    }

    fn watch_head(&self) -> watch::Receiver<u64> {
        self.head.subscribe()
    }
}
