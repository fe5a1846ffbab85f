//! Compiles the gRPC protos (`proto/meshperf/perf.proto`, `proto/meshes/meshops.proto`) with
//! protox, a pure-Rust protobuf compiler, so building needs no `protoc`.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../proto");
    let files = [root.join("meshperf/perf.proto"), root.join("meshes/meshops.proto")];
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    let fds = protox::compile(&files, [&root])?;
    tonic_prost_build::configure().build_client(true).build_server(true).compile_fds(fds)?;
    Ok(())
}
