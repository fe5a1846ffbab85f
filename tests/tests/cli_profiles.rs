//! Every example profile in `profiles/` runs as it is (its URL pointed at a test server), and
//! CI gates decide the exit code and write their Markdown and JUnit reports.

use std::path::PathBuf;
use std::time::Duration;

use meshperf_e2e::bin;
use meshperf_e2e::server::TestServer;

const LIMIT: Duration = Duration::from_secs(90);

fn profiles() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../profiles");
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json")))
        .collect();
    out.sort();
    out
}

#[test]
fn every_example_profile_runs_against_a_test_server() {
    let server = TestServer::plain();
    let all = profiles();
    assert!(all.len() >= 5, "{all:?}");
    for p in all {
        let out = bin::run(
            &["run", "--profile", p.to_str().unwrap(), "--format", "json", "-d", "1s", &server.url("/")],
            LIMIT,
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{}: {stderr}", p.display());
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let d = &doc["details"];
        assert!(d["responses"].as_u64().unwrap() > 0, "{}: {d}", p.display());
        assert_eq!(d["errors"], 0, "{}: {}", p.display(), d["error_kinds"]);
        assert!(!doc["labels"]["name"].as_str().unwrap_or_default().is_empty());
    }
}

#[test]
fn gates_set_the_exit_code_and_write_reports() {
    let server = TestServer::plain();
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.md");
    let junit = dir.path().join("junit.xml");
    let step = dir.path().join("step.md");
    let pass = std::process::Command::new(bin::meshperf())
        .args(["run", "-n", "300", "-c", "2", "--gate", "p99<=5s", "--gate", "errors<1%", "--gate", "rps>=1"])
        .args(["--summary", summary.to_str().unwrap(), "--junit", junit.to_str().unwrap(), &server.url("/")])
        .env("GITHUB_STEP_SUMMARY", &step)
        .output()
        .unwrap();
    assert_eq!(pass.status.code(), Some(0), "{}", String::from_utf8_lossy(&pass.stderr));
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.contains("| Gate |") && md.contains("p99<=5s"), "{md}");
    assert_eq!(std::fs::read_to_string(&step).unwrap().trim(), md.trim());
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("tests=\"3\"") && xml.contains("failures=\"0\""), "{xml}");

    let fail =
        bin::run(&["run", "-n", "100", "-c", "1", "--format", "json", "--gate", "p50<=1us", &server.url("/")], LIMIT);
    assert_eq!(fail.status.code(), Some(1), "{}", String::from_utf8_lossy(&fail.stderr));
    // The JSON document stays parseable on stdout; the gate table went to stderr.
    serde_json::from_slice::<serde_json::Value>(&fail.stdout).unwrap();
    assert!(String::from_utf8_lossy(&fail.stderr).contains("fail"));

    let bad = bin::run(&["run", "-n", "1", "--gate", "p99<=soon", &server.url("/")], LIMIT);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn flags_override_the_profile() {
    let server = TestServer::plain();
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../profiles/constant-rate-http1.yaml");
    let out = bin::run(
        &[
            "run",
            "--profile",
            p.to_str().unwrap(),
            "-r",
            "300",
            "-d",
            "1s",
            "-H",
            "X-Override: 1",
            "--name",
            "mine",
            "--format",
            "json",
            &server.url("/over"),
        ],
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let n = doc["details"]["responses"].as_u64().unwrap();
    assert!((295..=305).contains(&n), "the rate flag wins over the profile: {n}");
    assert_eq!(doc["labels"]["name"], "mine");
    let seen = server.control.last_request().unwrap();
    assert!(seen.starts_with("GET /over") && seen.contains("x-override: 1"), "{seen}");
}
