//! Writes `src/videos.v1.rs` (messages, server and client) from
//! `proto/videos.proto`, with protox as the protobuf compiler (no protoc).

use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let descriptors = protox::compile([example.join("proto/videos.proto")], [example.join("proto")])?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .out_dir(example.join("src"))
        .compile_fds(descriptors)?;
    Ok(())
}
