"""The generated protobuf messages and gRPC stubs of `complaintflow.v1` (built from proto/)."""
