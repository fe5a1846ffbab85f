//! `meshperf result list|view|export`: results stored on a server.

use std::path::PathBuf;

use http::Method;
use serde_json::Value;

use super::api::{Api, Output, ServerArgs, cell, print_table, print_value, runtime};
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
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value = "table", global = true)]
    pub output: Output,
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
        /// smp-json, smp-yaml, fortio, csv or hdr-log.
        #[arg(short, long, default_value = "smp-yaml")]
        format: String,
        /// Write here instead of stdout.
        #[arg(long = "output-file", value_name = "FILE")]
        output_file: Option<PathBuf>,
    },
}

/// Runs the subcommand.
pub fn execute(args: ResultArgs) -> Result<Exit, CliError> {
    let api = Api::new(&args.server)?;
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
                if args.output == Output::Table {
                    table(&v, page);
                } else {
                    print_value(&v, args.output);
                }
            }
            Action::View { id } => {
                let v = api.json(Method::GET, &format!("/api/user/performance/results/{id}"), None).await?;
                if args.output == Output::Table {
                    summary(&v);
                } else {
                    print_value(&v, args.output);
                }
            }
            Action::Export { id, format, output_file } => {
                let q = url::form_urlencoded::Serializer::new(String::new()).append_pair("format", &format).finish();
                let bytes = api.bytes(&format!("/api/user/performance/results/{id}/export?{q}")).await?;
                super::api::write_out(output_file.as_deref(), &bytes)?;
            }
        }
        Ok(Exit::Ok)
    })
}

fn ms(v: &Value) -> String {
    v.as_f64().map(|x| format!("{x:.2}")).unwrap_or_default()
}

fn table(v: &Value, page: u32) {
    let rows: Vec<Vec<String>> = v["results"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .map(|r| {
                    let s = &r["smp"];
                    vec![
                        cell(&r["name"]),
                        cell(&r["mesheryId"]),
                        cell(&r["mesh"]),
                        s["actual_qps"].as_f64().map(|q| format!("{q:.1}")).unwrap_or_default(),
                        ms(&s["latencies_ms"]["p50"]),
                        ms(&s["latencies_ms"]["p99"]),
                        cell(&r["testStartTime"]),
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    print_table(&["NAME", "ID", "MESH", "QPS", "P50(ms)", "P99(ms)", "START-TIME"], &rows);
    eprintln!("page {page}, {} result(s) in all", cell(&v["totalCount"]));
}

/// Prints the headline figures of a result (as the server returns it).
pub fn summary(r: &Value) {
    let s = &r["smp"];
    let l = &s["latencies_ms"];
    for (label, value) in [
        ("Name", cell(&r["name"])),
        ("Result ID", cell(&r["mesheryId"])),
        ("Profile", cell(&r["performanceProfile"])),
        ("Generator", format!("{} (asked: {})", cell(&r["generator"]), cell(&r["requestedGenerator"]))),
        ("Start", cell(&r["testStartTime"])),
        ("URL", cell(&s["labels"]["url"])),
        ("Requests/s", s["actual_qps"].as_f64().map(|q| format!("{q:.1}")).unwrap_or_default()),
        (
            "Latency ms",
            format!("p50 {}  p90 {}  p99 {}  max {}", ms(&l["p50"]), ms(&l["p90"]), ms(&l["p99"]), ms(&l["max"])),
        ),
    ] {
        println!("{label:<12} {value}");
    }
}
