//! The data directory's local socket: how the operator's read-only tools (`verify`,
//! `digest`, `export`, `backup`) read an embedded log that a running server holds.
//!
//! sled lets one process open a data directory, so while `serve` runs no other process
//! can. The server therefore answers reads of its log on `<data-dir>/local.sock`, a Unix
//! socket only the directory's owner may open: whoever may read the log's files may read
//! the log this way, and nobody else. The records go out as stored, and the tools check
//! every hash themselves, so the socket is trusted no more than the files would be.

mod client;
mod loss;
mod service;

pub use client::{ServedLog, ServedLogError};
pub use service::{LocalSocket, serve};

/// A page holds at most this many bytes of records (and always one record at least), so
/// that an answer stays far below what a gRPC message may carry.
const PAGE_BYTES: usize = 4 * 1024 * 1024;

/// What the client accepts in one answer: one record of the largest size a store takes,
/// with room to spare.
const MAX_MESSAGE_BYTES: usize = 80 * 1024 * 1024;
