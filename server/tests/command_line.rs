//! The `meshperf` binary's command line, run as a user runs it.
//!
//! This is also why the server package has an integration test at all: `cargo test` then
//! builds `target/<profile>/meshperf` in the same build as every other test, with the same
//! features, so the end-to-end tests (`tests/`, `meshperf-e2e`) start that binary instead of
//! building a second one (`tests/src/bin.rs`).

use std::process::{Command, Output};

fn meshperf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_meshperf"))
        .args(args)
        .env_remove("MESHPERF_LOG")
        .output()
        .expect("meshperf starts")
}

#[test]
fn version_and_help_answer_with_exit_0() {
    let out = meshperf(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("meshperf {}", env!("CARGO_PKG_VERSION")));

    let out = meshperf(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    for command in ["run", "serve", "worker", "export", "report", "compare", "login", "profile", "result"] {
        assert!(help.lines().any(|l| l.trim_start().starts_with(command)), "`{command}` missing from --help:\n{help}");
    }
}

#[test]
fn a_bad_flag_exits_2_with_the_flag_named() {
    let out = meshperf(&["run", "--no-such-flag", "http://127.0.0.1:9/"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--no-such-flag"));
    assert!(out.stdout.is_empty(), "nothing on stdout for a usage error");
}
