//! Results read through `meshperf serve`: a run where every request failed shows its error
//! share, an achieved rate of 0 and no latency, in `profile run`, `result list` and
//! `result view`.

use meshperf_e2e::serve::{Backend, ServerHome};
use serde_json::Value;

fn text(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn an_all_errors_run_through_the_server_shows_its_error_share_and_no_latency() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/");
    let home = ServerHome::new(Backend::Sqlite);
    let server = home.start();
    let out = home.cli(&server, &["login"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = home.cli(
        &server,
        &["profile", "apply", "--name", "dead", "--url", &url, "--duration", "1s", "-c", "2", "--qps", "200"],
    );
    assert!(out.status.success(), "{}", text(&out));

    let out = home.cli(&server, &["profile", "run", "dead"]);
    let run = text(&out);
    for needle in ["Achieved/s   0.0 successful", "(100.00%)", "connect_refused ", "none: no response"] {
        assert!(run.contains(needle), "missing {needle:?} in:\n{run}");
    }

    let out = home.cli(&server, &["result", "list", "-f", "json"]);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = list["results"][0]["mesheryId"].as_str().unwrap().to_string();
    assert_eq!(list["results"][0]["smp"]["actual_qps"], 0.0);
    let out = home.cli(&server, &["result", "list"]);
    let table = text(&out);
    let header = table.lines().next().unwrap();
    assert!(header.contains("ERRORS") && header.contains("P95(ms)"), "{table}");
    let row = table.lines().find(|l| l.starts_with("dead")).unwrap_or_else(|| panic!("{table}"));
    assert!(row.contains(" 0.0 ") && row.contains("(100.00%)"), "{row}");
    assert!(!row.contains("0.00  "), "no latency of 0 for a run without responses: {row}");

    let out = home.cli(&server, &["result", "view", &id]);
    let view = text(&out);
    assert!(view.contains("(100.00%)") && view.contains("none: no response arrived"), "{view}");
    assert!(view.contains("Connection refused"), "the reason is shown: {view}");
    let _ = server.terminate();
}
