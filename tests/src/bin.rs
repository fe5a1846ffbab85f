//! The real `meshperf` binary for end-to-end tests: built once per test process (a no-op when
//! it is fresh), then run with bounded waits.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

/// The cargo command that builds the binary the tests start. It asks for the server package's
/// own integration test (`server/tests/command_line.rs`) in a test build of the whole
/// workspace, so cargo resolves the same features as `cargo nextest run --workspace` and
/// produces the very `meshperf` that build already made: fresh, nothing compiles twice. (A
/// plain `cargo build -p meshperf-server` unifies fewer features and rebuilds tokio and
/// everything above it: minutes on two cores.) `.ci/run` runs the same command.
pub const BUILD_ARGS: [&str; 6] =
    ["test", "--workspace", "--no-run", "--test", "command_line", "--message-format=json"];

/// Path to the `meshperf` executable, building it first if needed.
pub fn meshperf() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = Command::new(cargo)
            .current_dir(&root)
            .args(BUILD_ARGS)
            .env_clear()
            .envs(std::env::vars().filter(|(k, _)| !set_by_cargo_for_this_test(k)))
            .stderr(Stdio::inherit())
            .output()
            .expect("cargo runs");
        assert!(out.status.success(), "building meshperf failed");
        executable(&out.stdout).expect("cargo reported the meshperf executable it built")
    })
    .clone()
}

/// Whether `name` is one of the variables cargo or nextest set for the running test
/// (`CARGO_MANIFEST_DIR`, `CARGO_PKG_NAME`, ...). They must not reach the inner cargo: build
/// scripts that watch them (ring's watches `CARGO_MANIFEST_DIR`) would see them changed and
/// rebuild half the dependency tree, on every test run.
fn set_by_cargo_for_this_test(name: &str) -> bool {
    const EXACT: [&str; 5] =
        ["CARGO_MANIFEST_DIR", "CARGO_MANIFEST_PATH", "CARGO_CRATE_NAME", "CARGO_PRIMARY_PACKAGE", "OUT_DIR"];
    const PREFIXES: [&str; 5] = ["CARGO_PKG_", "CARGO_BIN_", "CARGO_TARGET_TMPDIR", "NEXTEST", "__NEXTEST"];
    EXACT.contains(&name) || PREFIXES.iter().any(|p| name.starts_with(p))
}

/// The `meshperf` binary's path in cargo's JSON messages.
fn executable(messages: &[u8]) -> Option<PathBuf> {
    String::from_utf8_lossy(messages).lines().find_map(|line| {
        let msg: serde_json::Value = serde_json::from_str(line).ok()?;
        let is_bin = msg["reason"] == "compiler-artifact"
            && msg["target"]["name"] == "meshperf"
            && msg["target"]["kind"].as_array().is_some_and(|k| k.iter().any(|k| k == "bin"));
        if is_bin { msg["executable"].as_str().map(PathBuf::from) } else { None }
    })
}

/// Runs `meshperf ARGS` to completion (killed after `limit`) and returns its output.
pub fn run(args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(meshperf())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("meshperf starts");
    let deadline = std::time::Instant::now() + limit;
    loop {
        if child.try_wait().expect("wait works").is_some() {
            return child.wait_with_output().expect("output");
        }
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "meshperf {args:?} did not finish within {limit:?}\nstdout: {}\nstderr: {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
