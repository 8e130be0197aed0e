//! The server's side: the log's records on the local socket.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use complaintflow_log::{Direction, LogReader, MAX_PAGE, StoreError, StreamId, codec};
use tokio::net::UnixListener;
use tokio::sync::watch;
use tokio_stream::wrappers::UnixListenerStream;
use tonic::{Request, Response, Status};
use tracing::{info, warn};

use super::{PAGE_BYTES, loss};
use crate::api::proto::local::local_log_service_server::{LocalLogService, LocalLogServiceServer};
use crate::api::proto::local::{
    GetLogHeadRequest, GetLogHeadResponse, ReadLogRequest, ReadLogResponse, ReadLogStreamRequest,
    ReadLogStreamResponse,
};
use crate::api::status::ApiError;
use crate::node::DataDir;

struct LocalLogApi {
    log: Arc<dyn LogReader>,
}

#[tonic::async_trait]
impl LocalLogService for LocalLogApi {
    async fn get_log_head(
        &self,
        _: Request<GetLogHeadRequest>,
    ) -> Result<Response<GetLogHeadResponse>, Status> {
        Ok(Response::new(GetLogHeadResponse {
            next_position: self.log.head(),
            known_loss: self.log.known_loss().map(loss::to_wire),
        }))
    }

    async fn read_log(
        &self,
        request: Request<ReadLogRequest>,
    ) -> Result<Response<ReadLogResponse>, Status> {
        let request = request.into_inner();
        // The records as the store keeps them: nothing decoded only to be encoded again.
        let page = self
            .log
            .read_all_encoded(request.from_position, page_size(request.max_events))
            .await
            .map_err(ApiError::from)?;
        let records = page.records().map(|(position, record)| {
            record.map(<[u8]>::to_vec).map_err(|err| {
                ApiError::from(StoreError::Corrupt {
                    location: format!("position {position}"),
                    reason: err.to_string(),
                })
                .into()
            })
        });
        Ok(Response::new(ReadLogResponse {
            records: within_budget(records)?,
        }))
    }

    async fn read_log_stream(
        &self,
        request: Request<ReadLogStreamRequest>,
    ) -> Result<Response<ReadLogStreamResponse>, Status> {
        let request = request.into_inner();
        let stream = StreamId::new(request.stream)
            .map_err(|invalid| ApiError::from(StoreError::from(invalid)))?;
        let direction = if request.backwards {
            Direction::Backwards
        } else {
            Direction::Forwards
        };
        let events = self
            .log
            .read_stream(
                &stream,
                request.from_version,
                direction,
                page_size(request.max_events),
            )
            .await
            .map_err(ApiError::from)?;
        let records = events.iter().map(|event| Ok(codec::encode(event.into())));
        Ok(Response::new(ReadLogStreamResponse {
            records: within_budget(records)?,
        }))
    }
}

fn page_size(asked: u32) -> usize {
    usize::try_from(asked).map_or(MAX_PAGE, |asked| asked.clamp(1, MAX_PAGE))
}

/// The records, up to [`PAGE_BYTES`] (the first always, whatever its size): the client
/// asks again from where the page ends.
fn within_budget(
    records: impl Iterator<Item = Result<Vec<u8>, Status>>,
) -> Result<Vec<Vec<u8>>, Status> {
    let mut bytes = 0;
    let mut out = Vec::new();
    for record in records {
        let record = record?;
        bytes += record.len();
        if bytes > PAGE_BYTES && !out.is_empty() {
            break;
        }
        out.push(record);
    }
    Ok(out)
}

/// The local socket of a running server; [`LocalSocket::close`] stops it and removes the
/// socket file.
pub struct LocalSocket {
    path: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl LocalSocket {
    pub async fn close(self) {
        self.task.abort();
        let _ = self.task.await;
        remove(&self.path);
    }
}

/// Serves `log`'s records on `<data_dir>/local.sock` until `stop` turns true. Call it
/// only while this process holds the data directory: a socket file found there is then
/// one a server that died left behind, and is replaced.
pub fn serve(
    data_dir: &DataDir,
    log: Arc<dyn LogReader>,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<LocalSocket> {
    let path = data_dir.local_socket();
    remove(&path);
    let listener = UnixListener::bind(&path)?;
    // The directory's owner alone, as for the log's own files.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    info!(socket = %path.display(), "local tools read the log here");
    let service = LocalLogServiceServer::new(LocalLogApi { log })
        .max_decoding_message_size(64 * 1024)
        .max_encoding_message_size(super::MAX_MESSAGE_BYTES);
    let task = tokio::spawn(async move {
        let stopped = async move {
            let _ = stop.wait_for(|stop| *stop).await;
        };
        if let Err(err) = tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming_shutdown(UnixListenerStream::new(listener), stopped)
            .await
        {
            warn!(error = %err, "the local socket stopped");
        }
    });
    Ok(LocalSocket { path, task })
}

fn remove(path: &Path) {
    if let Err(err) = std::fs::remove_file(path)
        && err.kind() != std::io::ErrorKind::NotFound
    {
        warn!(socket = %path.display(), error = %err, "cannot remove the local socket");
    }
}
