//! Compiles the SMP protos in `proto/smp` with protox (pure Rust, no `protoc`) and prost-build,
//! adding serde derives so the messages read and write JSON and YAML.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../proto");
    let files = ["smp/service_mesh_performance.proto", "smp/service_mesh.proto", "smp/metadata.proto"];
    for f in &files {
        println!("cargo:rerun-if-changed={}", root.join(f).display());
    }
    let fds = protox::compile(files, [&root])?;
    let mut config = prost_build::Config::new();
    config
        .btree_map(["."])
        .message_attribute(".smp", "#[derive(serde::Serialize, serde::Deserialize)]")
        .message_attribute(".smp", "#[serde(default)]")
        .field_attribute(".smp.PerformanceTestResult.start_time", "#[serde(with = \"crate::model::timestamp\")]")
        .field_attribute(".smp.PerformanceTestResult.end_time", "#[serde(with = \"crate::model::timestamp\")]")
        .compile_fds(fds)?;
    Ok(())
}
