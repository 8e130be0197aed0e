//! Compiles the protobuf API with protox (pure Rust: no system `protoc` needed) and
//! generates the tonic server and client code, plus the descriptor set that server
//! reflection serves.
//!
//! The protos live at the workspace root, where `buf lint` reads them too.

use std::path::PathBuf;

use prost::Message;

const PROTOS: &[&str] = &[
    "../../proto/complaintflow/v1/vocabulary.proto",
    "../../proto/complaintflow/v1/events.proto",
    "../../proto/complaintflow/v1/complaints.proto",
    "../../proto/complaintflow/v1/audit.proto",
    "../../proto/complaintflow/v1/subscriptions.proto",
    "../../proto/complaintflow/v1/follow_ups.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=../../proto");
    let descriptors = protox::compile(PROTOS, ["../../proto"])?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("complaintflow_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        // tonic's codec, but a request body that is not valid protobuf is INVALID_ARGUMENT.
        .codec_path("crate::api::codec::Codec")
        .compile_fds(descriptors)?;
    Ok(())
}
