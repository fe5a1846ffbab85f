//! The real `meshperf` binary for end-to-end tests: built once per test process (a no-op when
//! it is fresh), then run with bounded waits.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

/// Path to `target/<profile>/meshperf`, building it first if needed.
pub fn meshperf() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .current_dir(&root)
            .args(["build", "--quiet", "-p", "meshperf-server", "--bin", "meshperf"])
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building meshperf failed");
        // Test executables live in target/<profile>/deps; the binary one level up.
        let exe = std::env::current_exe().expect("test executable path");
        let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
        let bin = dir.join("meshperf");
        if bin.exists() { bin } else { root.join("target/debug/meshperf") }
    })
    .clone()
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
