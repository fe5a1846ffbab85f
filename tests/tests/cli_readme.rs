//! The README's shell examples, run by the real binary wherever they need no machine but this
//! one: the `meshperf run` examples against a loopback test server, the export, report, gate
//! and compare examples on the result they write, and the server examples against a real
//! `meshperf serve`. Commands are run by `bash` as written, with three kinds of edits, all
//! listed in [`adapt`]: placeholders become the test's addresses, long durations and counts
//! become short ones (every load test here is bounded), a run with neither gets `-d 2s`, and a
//! search or sweep gets the shortest steps (2 s) and at most 3 of them.
//! The others (another machine, a build, the whole test suite) are in [`SKIPPED`] with their
//! reason; a README command that is neither run nor skipped fails the test, so the README
//! cannot grow an example nobody ran.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use meshperf_e2e::bin::meshperf;
use meshperf_e2e::serve::{Backend, ServerHome};
use meshperf_e2e::server::TestServer;

/// README commands not run here: a substring of the command, and why.
const SKIPPED: &[(&str, &str)] = &[
    ("cargo run --release", "the release build is timed by hand on a fresh clone (see the issue notes)"),
    ("cargo nextest run", "this test is part of it"),
    ("cargo install", "writes to ~/.cargo; the test puts the built binary on PATH instead"),
    ("export PATH", "the test puts the built binary on PATH itself"),
    ("bash .ci/run", "CI itself"),
    ("cargo bench", "benchmarks take minutes"),
    ("benches/compare/compare.py", "installs anchors and runs for minutes"),
    ("svc.local", "needs a TLS service with those certificates on another host"),
    (
        "grpc://127.0.0.1:50051",
        "needs the reader's gRPC service and its .proto; tests/tests/grpc_load.rs runs these forms",
    ),
    ("meshperf worker --listen 0.0.0.0", "a worker on every interface of a load machine"),
    ("--workers w1:10013", "needs the load machines w1 and w2"),
    (
        "curl -N",
        "a stored profile's search over SSE with the caller's token and id; tests/tests/serve_stepped.rs runs it",
    ),
];

/// The README's shell commands: every ```sh block, continuation lines joined, comments cut.
fn readme_commands(readme: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut in_sh = false;
    let mut pending = String::new();
    for line in readme.lines() {
        if line.trim_start().starts_with("```") {
            in_sh = !in_sh && line.trim() == "```sh";
            continue;
        }
        if !in_sh {
            continue;
        }
        let code = strip_comment(line);
        let (code, continues) = match code.trim_end().strip_suffix('\\') {
            Some(head) => (head.to_string(), true),
            None => (code.trim_end().to_string(), false),
        };
        pending.push_str(code.trim());
        pending.push(' ');
        if !continues {
            let command = pending.trim().to_string();
            if !command.is_empty() {
                commands.push(command);
            }
            pending.clear();
        }
    }
    commands
}

/// `line` without a trailing `# comment` (a `#` outside quotes, after whitespace).
fn strip_comment(line: &str) -> &str {
    let (mut single, mut double, mut prev) = (false, false, ' ');
    for (i, c) in line.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '#' if !single && !double && prev.is_whitespace() => return &line[..i],
            _ => {}
        }
        prev = c;
    }
    line
}

/// The command as the test runs it: placeholders become `target` (the README's `URL` and
/// `http://127.0.0.1:8080/`) and `server` (`127.0.0.1:9081`); durations become 2 s (warm-ups
/// 200 ms, each stage a twentieth), request counts 2k; a run with no length gets `-d 2s`.
fn adapt(command: &str, target: &str, server: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut prev = "";
    for tok in command.split_whitespace() {
        let new = match prev {
            "-d" | "--duration" => "2s".to_string(),
            "--warmup" => "200ms".to_string(),
            "--step-duration" => "2s".to_string(),
            "--rates" => tok.split_once('/').map_or(tok.to_string(), |(range, _)| format!("{range}/3")),
            "-n" | "--requests" => "2k".to_string(),
            "--stages" => tok.split(',').map(shorten_stage).collect::<Vec<_>>().join(","),
            _ if tok == "URL" => target.to_string(),
            _ => tok.replace("http://127.0.0.1:8080/", target).replace("127.0.0.1:9081", server),
        };
        out.push(new);
        prev = tok;
    }
    let has = |out: &[String], flags: &[&str]| out.iter().any(|t| flags.contains(&t.as_str()));
    if out.get(1).map(String::as_str) == Some("run")
        && !has(&out, &["-d", "--duration", "-n", "--requests", "--stages"])
    {
        out.extend(["-d".to_string(), "2s".to_string()]);
    }
    if matches!(out.get(1).map(String::as_str), Some("search" | "sweep")) {
        for (flag, value) in [("--step-duration", "2s"), ("--warmup", "100ms"), ("--max-steps", "3")] {
            if !has(&out, &[flag]) {
                out.extend([flag.to_string(), value.to_string()]);
            }
        }
    }
    out.join(" ")
}

/// The exit codes a README command may end with: a search or sweep answers 1 when the loopback
/// test server (on a machine shared with the test run) misses the example's SLO, which is an
/// answer, not a broken command.
fn accepted_exits(command: &str) -> &'static [i32] {
    if command.starts_with("meshperf search") || command.starts_with("meshperf sweep") { &[0, 1] } else { &[0] }
}

/// `10s@1000` → `500ms@1000`.
fn shorten_stage(stage: &str) -> String {
    let (duration, rate) = stage.split_once('@').expect("a stage is DURATION@RATE");
    let seconds: u64 = duration.strip_suffix('s').and_then(|s| s.parse().ok()).expect("README stages are in seconds");
    format!("{}ms@{rate}", seconds * 50)
}

#[test]
fn the_readmes_commands_run_as_written() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let commands = readme_commands(&readme);
    assert!(commands.len() > 15, "the README's sh blocks were not found: {commands:?}");

    let target = TestServer::plain();
    let home = ServerHome::new(Backend::Sqlite);
    let server = home.start();
    let server_addr = server.url.trim_start_matches("http://").to_string();
    let work = tempfile::tempdir().expect("tempdir");
    std::os::unix::fs::symlink(root.join("profiles"), work.path().join("profiles")).expect("profiles link");
    let bin_dir = meshperf().parent().expect("the binary's directory").to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());

    let mut ran = Vec::new();
    let mut skips_used = vec![false; SKIPPED.len()];
    for command in &commands {
        if let Some(i) = SKIPPED.iter().position(|(needle, _)| command.contains(needle)) {
            skips_used[i] = true;
            continue;
        }
        assert!(command.starts_with("meshperf "), "README command neither run nor skipped: {command}");
        // `report` and `compare` read two results: the README's `base.json` and `new.json`.
        if command.contains("base.json") && !work.path().join("base.json").exists() {
            for name in ["base.json", "new.json"] {
                std::fs::copy(work.path().join("result.json"), work.path().join(name))
                    .expect("an earlier README command wrote result.json");
            }
        }
        let line = adapt(command, &target.url("/"), &server_addr);
        let started = Instant::now();
        let mut child = Command::new("bash")
            .args(["-c", &line])
            .current_dir(work.path())
            .env("PATH", &path)
            .env("MESHPERF_HOME", home.path())
            .env("MESHPERF_SERVER", &server.url)
            .env_remove("MESHPERF_TOKEN")
            .env_remove("MESHPERF_WORKER_TOKEN")
            .env_remove("GITHUB_STEP_SUMMARY")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("bash starts");
        while child.try_wait().expect("wait").is_none() {
            if started.elapsed() > Duration::from_secs(60) {
                let _ = child.kill();
                panic!("README command did not finish in 60 s: {line}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = child.wait_with_output().expect("output");
        assert!(
            out.status.code().is_some_and(|c| accepted_exits(command).contains(&c)),
            "README command failed: {line}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        ran.push(line);
    }

    for ((needle, why), used) in SKIPPED.iter().zip(skips_used) {
        assert!(used, "the skip for `{needle}` ({why}) matches no README command any more: remove it");
    }
    for file in
        ["result.json", "runner_results.json", "compare.png", "gates.md", "gates.xml", "sweep.json", "sweep.svg"]
    {
        assert!(work.path().join(file).exists(), "no {file} after the README's commands: {ran:#?}");
    }
    let listed = home.cli(&server, &["profile", "list", "-f", "json"]);
    assert!(String::from_utf8_lossy(&listed.stdout).contains("constant-rate-http1"), "profile apply stored nothing");
    assert!(
        target.control.served.load(std::sync::atomic::Ordering::Relaxed) > 1000,
        "the run examples reached the target"
    );
    assert!(ran.len() >= 12, "only {} README commands ran: {ran:#?}", ran.len());
}

#[test]
fn commands_are_joined_and_adapted() {
    let readme = "text\n```sh\nmeshperf run -d 30s URL   # a comment\nmeshperf run --gate 'a#b' \\\n  \
                  --stages 10s@1,20s@2 URL\n```\n```yaml\nnot: sh\n```\n";
    let commands = readme_commands(readme);
    assert_eq!(commands, ["meshperf run -d 30s URL", "meshperf run --gate 'a#b' --stages 10s@1,20s@2 URL"]);
    assert_eq!(adapt(&commands[0], "http://t/", "s:1"), "meshperf run -d 2s http://t/");
    assert_eq!(
        adapt(&commands[1], "http://t/", "s:1"),
        "meshperf run --gate 'a#b' --stages 500ms@1,1000ms@2 http://t/"
    );
    assert_eq!(adapt("meshperf run -r 5 http://127.0.0.1:9081/h", "t", "s:1"), "meshperf run -r 5 http://s:1/h -d 2s");
    assert_eq!(
        adapt("meshperf search --step-duration 5s --slo 'p99<=5ms' URL", "t", "s:1"),
        "meshperf search --step-duration 2s --slo 'p99<=5ms' t --warmup 100ms --max-steps 3"
    );
}
