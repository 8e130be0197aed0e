//! Compiles the protobuf API with protox (pure Rust: no system `protoc` needed) and
//! generates the tonic server and client code, plus the descriptor set that server
//! reflection serves and the JSON interface reads its `google.api.http` rules from.
//!
//! The protos live at the workspace root, where `buf lint` reads them too.

use std::path::PathBuf;

const PROTOS: &[&str] = &[
    "../../proto/complaintflow/v1/vocabulary.proto",
    "../../proto/complaintflow/v1/events.proto",
    "../../proto/complaintflow/v1/complaints.proto",
    "../../proto/complaintflow/v1/audit.proto",
    "../../proto/complaintflow/v1/subscriptions.proto",
    "../../proto/complaintflow/v1/follow_ups.proto",
];

/// Served on the data directory's local socket only: compiled apart, so that the network
/// port's reflection does not list it.
const LOCAL_PROTOS: &[&str] = &["../../proto/complaintflow/local/v1/log.proto"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=../../proto");
    let mut compiler = protox::Compiler::new(["../../proto"])?;
    compiler
        .include_source_info(true)
        .include_imports(true)
        .open_files(PROTOS)?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    // Encoded by the compiler itself: the prost types would drop the method options'
    // extensions, and with them the HTTP rules.
    std::fs::write(
        out_dir.join("complaintflow_descriptor.bin"),
        compiler.encode_file_descriptor_set(),
    )?;
    let descriptors = compiler.file_descriptor_set();
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        // tonic's codec, but a request body that is not valid protobuf is INVALID_ARGUMENT.
        .codec_path("crate::api::codec::Codec")
        .compile_fds(descriptors)?;
    let mut local = protox::Compiler::new(["../../proto"])?;
    local.open_files(LOCAL_PROTOS)?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .codec_path("crate::api::codec::Codec")
        .compile_fds(local.file_descriptor_set())?;
    Ok(())
}
