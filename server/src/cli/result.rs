//! `meshperf result list|view|export`: results stored on a server.

use std::path::PathBuf;

use http::Method;
use serde_json::Value;

use super::api::{Api, Output, ServerArgs, cell, output_file, print_table, print_value, runtime};
use super::{CliError, Exit};

/// Arguments of `meshperf result`.
#[derive(Debug, clap::Args)]
pub struct ResultArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: Action,
    /// Server and token.
    #[command(flatten)]
    pub server: ServerArgs,
    /// Output format: table, json or yaml for `list` and `view`; smp-json, smp-yaml, fortio,
    /// csv or hdr-log for `export` [default: table; smp-yaml for export].
    #[arg(short = 'f', long = "format", global = true, value_name = "FORMAT")]
    pub format: Option<String>,
}

/// Result subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// List results, all or of one profile (by id).
    List {
        /// A profile id: only its results.
        profile: Option<String>,
        /// Page, from 1.
        #[arg(short, long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
        page: u32,
        /// Only names containing this text.
        #[arg(long)]
        search: Option<String>,
        /// Only results started on or after this day (YYYY-MM-DD).
        #[arg(long)]
        from: Option<String>,
        /// Only results started on or before this day (YYYY-MM-DD).
        #[arg(long)]
        to: Option<String>,
    },
    /// Show one result.
    View {
        /// The result id.
        id: String,
    },
    /// Download one result in an export format.
    Export {
        /// The result id.
        id: String,
        /// Write here instead of stdout.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

/// Runs the subcommand.
pub fn execute(args: ResultArgs) -> Result<Exit, CliError> {
    let api = Api::new(&args.server)?;
    let view = match (&args.action, args.format.as_deref()) {
        (Action::Export { .. }, _) | (_, None) => Output::Table,
        (_, Some(f)) => Output::parse(f)?,
    };
    runtime()?.block_on(async move {
        match args.action {
            Action::List { profile, page, search, from, to } => {
                let mut q = url::form_urlencoded::Serializer::new(String::new());
                q.append_pair("page", &(page - 1).to_string()).append_pair("pagesize", "25");
                for (k, v) in [("search", search), ("from", from), ("to", to)] {
                    if let Some(v) = v {
                        q.append_pair(k, &v);
                    }
                }
                let path = match profile {
                    Some(p) => format!("/api/user/performance/profiles/{p}/results?{}", q.finish()),
                    None => format!("/api/user/performance/profiles/results?{}", q.finish()),
                };
                let v = api.json(Method::GET, &path, None).await?;
                if view == Output::Table {
                    table(&v, page);
                } else {
                    print_value(&v, view);
                }
            }
            Action::View { id } => {
                let v = api.json(Method::GET, &format!("/api/user/performance/results/{id}"), None).await?;
                if view == Output::Table {
                    summary(&v);
                } else {
                    print_value(&v, view);
                }
            }
            Action::Export { id, output } => {
                let output = output_file(output)?;
                let format = args.format.unwrap_or_else(|| "smp-yaml".into());
                let q = url::form_urlencoded::Serializer::new(String::new()).append_pair("format", &format).finish();
                let bytes = api.bytes(&format!("/api/user/performance/results/{id}/export?{q}")).await?;
                super::api::write_out(output.as_deref(), &bytes)?;
            }
        }
        Ok(Exit::Ok)
    })
}

fn ms(v: &Value) -> String {
    v.as_f64().map(|x| format!("{x:.2}")).unwrap_or_default()
}

/// Latency columns of a result (`smp`): empty when no response arrived, since a latency of 0
/// would read as a fast service.
fn latency(s: &Value, keys: &[&str]) -> Vec<String> {
    let d = &s["details"];
    let responded = d["responses"].as_u64().is_none_or(|n| n > 0);
    let l = &d["latency_ms"];
    keys.iter().map(|k| if responded { ms(&l[*k]) } else { "-".to_string() }).collect()
}

/// `errors (share%)` of a result (`smp`).
fn errors(s: &Value) -> String {
    let d = &s["details"];
    match (d["errors"].as_u64(), d["requests"].as_u64()) {
        (Some(e), Some(r)) if r > 0 => format!("{e} ({:.2}%)", 100.0 * e as f64 / r as f64),
        (Some(e), _) => e.to_string(),
        _ => String::new(),
    }
}

fn table(v: &Value, page: u32) {
    let rows: Vec<Vec<String>> = v["results"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .map(|r| {
                    let s = &r["smp"];
                    let mut row = vec![
                        cell(&r["name"]),
                        cell(&r["mesheryId"]),
                        cell(&r["mesh"]),
                        s["actual_qps"].as_f64().map(|q| format!("{q:.1}")).unwrap_or_default(),
                        errors(s),
                    ];
                    row.extend(latency(s, &["p50", "p95", "p99"]));
                    row.push(cell(&r["testStartTime"]));
                    row
                })
                .collect()
        })
        .unwrap_or_default();
    print_table(&["NAME", "ID", "MESH", "ACHIEVED/S", "ERRORS", "P50(ms)", "P95(ms)", "P99(ms)", "START-TIME"], &rows);
    eprintln!("page {page}, {} result(s) in all; ACHIEVED/S: successful responses per second", cell(&v["totalCount"]));
}

/// The headline figures of a result (as the server returns it), one `(label, value)` per line.
pub fn headline(r: &Value) -> Vec<(&'static str, String)> {
    let s = &r["smp"];
    let d = &s["details"];
    let lat = latency(s, &["min", "mean", "stdev", "p50", "p90", "p95", "p99", "max"]);
    let latency = if lat.iter().all(|v| v == "-") {
        "none: no response arrived".to_string()
    } else {
        let bound = if d["latency_lower_bound"].as_bool() == Some(true) {
            " (lower bounds: some requests were never sent)"
        } else {
            ""
        };
        format!(
            "min {}  mean {}  stdev {}  p50 {}  p90 {}  p95 {}  p99 {}  max {}{bound}",
            lat[0], lat[1], lat[2], lat[3], lat[4], lat[5], lat[6], lat[7]
        )
    };
    vec![
        ("Name", cell(&r["name"])),
        ("Result ID", cell(&r["mesheryId"])),
        ("Profile", cell(&r["performanceProfile"])),
        ("Generator", format!("{} (asked: {})", cell(&r["generator"]), cell(&r["requestedGenerator"]))),
        ("Start", cell(&r["testStartTime"])),
        ("URL", cell(&s["labels"]["url"])),
        ("Requests", cell(&d["requests"])),
        (
            "Achieved/s",
            s["actual_qps"].as_f64().map(|q| format!("{q:.1} successful responses per second")).unwrap_or_default(),
        ),
        ("Errors", errors(s)),
        ("Why", reasons(d)),
        ("Latency ms", latency),
    ]
}

/// Each error kind with its count and first message: `tls 600: invalid peer certificate ...`.
fn reasons(d: &Value) -> String {
    let Some(kinds) = d["error_kinds"].as_object() else { return String::new() };
    kinds
        .iter()
        .map(|(kind, n)| match d["error_messages"][kind].as_str() {
            Some(m) => format!("{kind} {n}: {m}"),
            None => format!("{kind} {n}"),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Prints the headline figures of a result (as the server returns it).
pub fn summary(r: &Value) {
    for (label, value) in headline(r) {
        println!("{label:<12} {value}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_all_errors_result_shows_its_error_share_and_no_latency() {
        let r = serde_json::json!({
            "name": "dead", "smp": {"actual_qps": 0.0, "labels": {"url": "http://127.0.0.1:1/"},
            "details": {"requests": 600, "responses": 0, "errors": 600,
                "error_kinds": {"connect_refused": 600},
                "error_messages": {"connect_refused": "Connection refused (os error 111)"},
                "latency_ms": {"p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0}}}
        });
        let lines = headline(&r);
        let get = |k: &str| lines.iter().find(|(l, _)| *l == k).map(|(_, v)| v.clone()).unwrap();
        assert_eq!(get("Errors"), "600 (100.00%)");
        assert_eq!(get("Why"), "connect_refused 600: Connection refused (os error 111)");
        assert_eq!(get("Latency ms"), "none: no response arrived");
        assert!(get("Achieved/s").starts_with("0.0 "));
        assert_eq!(latency(&r["smp"], &["p50"]), vec!["-"]);
    }
}
