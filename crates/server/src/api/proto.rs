//! Code generated from `proto/complaintflow/v1/*.proto`.
#![allow(clippy::all, clippy::pedantic, missing_docs, unreachable_pub)]

tonic::include_proto!("complaintflow.v1");

/// The encoded descriptor set, for server reflection.
pub(crate) const FILE_DESCRIPTOR_SET: &[u8] =
    tonic::include_file_descriptor_set!("complaintflow_descriptor");

/// The local socket's service (`proto/complaintflow/local/v1/log.proto`).
pub mod local {
    #![allow(clippy::all, clippy::pedantic, missing_docs, unreachable_pub)]

    tonic::include_proto!("complaintflow.local.v1");
}
