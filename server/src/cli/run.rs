//! `meshperf run`: a load test from the command line, wrk2/oha style, with an SMP result.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use loadgen::{Report, RunPlan};

use super::progress::Progress;
use super::run_plan;
use super::{CliError, Exit};

/// Output formats of `meshperf run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A human summary.
    Text,
    /// The result document: an SMP `PerformanceTestResult` plus `details`.
    Json,
}

/// Arguments of `meshperf run`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  meshperf run -c 50 -d 10s http://127.0.0.1:8080/\n  meshperf run -r 5k -d 30s --warmup 2s http://127.0.0.1:8080/\n  meshperf run --http2 --h2-streams 10 -n 100k http://127.0.0.1:8080/\n  meshperf run --stages 10s@1000,20s@5000 --format json -o result.json http://127.0.0.1:8080/"
)]
pub struct RunArgs {
    /// Target URLs (http or https), used round robin.
    #[arg(value_name = "URL")]
    pub urls: Vec<String>,

    /// Connections in total, spread over the worker threads.
    #[arg(short = 'c', long = "connections", default_value_t = 50)]
    pub connections: u32,
    /// Worker threads (default: one per core).
    #[arg(short = 't', long = "threads")]
    pub threads: Option<u32>,
    /// Measured duration, e.g. 30s, 1m, 1m30s (default 10s unless -n is given).
    #[arg(short = 'd', long = "duration")]
    pub duration: Option<String>,
    /// Stop after this many requests, e.g. 10000 or 10k.
    #[arg(short = 'n', long = "requests")]
    pub requests: Option<String>,
    /// Open loop at a constant rate, requests per second (e.g. 5000 or 5k). Without a rate the
    /// run is closed loop: each connection sends as soon as its last response arrives.
    #[arg(short = 'r', long = "rate", conflicts_with_all = ["ramp", "stages"])]
    pub rate: Option<String>,
    /// Open loop with a linear ramp FROM:TO requests per second over the duration.
    #[arg(long = "ramp", value_name = "FROM:TO", conflicts_with = "stages")]
    pub ramp: Option<String>,
    /// Open loop in steps: DURATION@RATE,... e.g. 10s@1000,20s@5000.
    #[arg(long = "stages", value_name = "STAGES")]
    pub stages: Option<String>,
    /// Warm-up before measuring; its samples are dropped.
    #[arg(long = "warmup", default_value = "0s")]
    pub warmup: String,
    /// Per-request timeout.
    #[arg(long = "timeout", default_value = "10s")]
    pub timeout: String,

    /// Speak HTTP/2 (h2c with prior knowledge for http://, ALPN h2 for https://).
    #[arg(long = "http2")]
    pub http2: bool,
    /// Concurrent streams per HTTP/2 connection.
    #[arg(long = "h2-streams", default_value_t = 1, requires = "http2")]
    pub h2_streams: u32,
    /// PEM file of CA certificates to trust for https targets.
    #[arg(long = "cacert", value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// PEM client certificate (mTLS); needs --key.
    #[arg(long = "cert", value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// PEM private key for --cert.
    #[arg(long = "key", value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// Accept any server certificate (never use against a service you do not control).
    #[arg(long = "insecure", conflicts_with = "cacert")]
    pub insecure: bool,

    /// Request method.
    #[arg(short = 'm', long = "method", default_value = "GET")]
    pub method: String,
    /// A header `Name: value` (repeatable).
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub headers: Vec<String>,
    /// A cookie `name=value` (repeatable); sent as one Cookie header.
    #[arg(long = "cookie", value_name = "COOKIE")]
    pub cookies: Vec<String>,
    /// Request body.
    #[arg(short = 'b', long = "body", conflicts_with = "body_file")]
    pub body: Option<String>,
    /// Read the request body from a file.
    #[arg(long = "body-file", value_name = "FILE")]
    pub body_file: Option<PathBuf>,
    /// Content-Type of the body.
    #[arg(long = "content-type")]
    pub content_type: Option<String>,

    /// Output format on stdout (or in --output).
    #[arg(long = "format", value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write the output to a file instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The test's name, recorded in the result.
    #[arg(long = "name")]
    pub name: Option<String>,
    /// A label `key=value` recorded in the result (repeatable).
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    /// Never show the live progress line.
    #[arg(long = "no-progress")]
    pub no_progress: bool,
}

/// Runs the load test and prints or writes its result.
pub fn execute(args: RunArgs) -> Result<Exit, CliError> {
    let plan = run_plan::build(&args)?;
    let meta = run_plan::meta(&args)?;
    let report = run_local(plan, !args.no_progress && std::io::stdout().is_terminal())?;
    let doc = smp::result::ResultDocument::from_report(&report, &meta);
    let text = match args.format {
        Format::Json => doc.to_json_pretty() + "\n",
        Format::Text => super::summary::render(&report),
    };
    write_output(args.output.as_deref(), &text)?;
    Ok(Exit::Ok)
}

/// Runs `plan` on this machine, with a live progress line when `progress` is set; Ctrl-C
/// cancels the run and still reports what was measured.
pub fn run_local(plan: RunPlan, progress: bool) -> Result<Report, CliError> {
    let mut handle = loadgen::start(plan.clone()).map_err(|e| match e {
        loadgen::RunError::Plan(p) => CliError::Usage(p.to_string()),
        other => CliError::Failure(other.to_string()),
    })?;
    let canceller = handle.canceller();
    super::signals::on_interrupt(move || canceller.cancel());
    let mut bar = progress.then(|| Progress::new(&plan));
    while let Some(snap) = handle.next_snapshot_blocking() {
        if let Some(bar) = bar.as_mut() {
            bar.update(&snap);
        }
    }
    if let Some(bar) = bar.as_mut() {
        bar.finish();
    }
    handle.wait_blocking().map_err(|e| CliError::Failure(format!("the run failed: {e}")))
}

/// Writes `text` to `path`, or to stdout.
pub fn write_output(path: Option<&std::path::Path>, text: &str) -> Result<(), CliError> {
    match path {
        Some(p) => std::fs::write(p, text)
            .map_err(|e| CliError::Failure(format!("cannot write {}: {e}; check the directory exists and is writable", p.display()))),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes()).and_then(|_| out.flush()).map_err(|e| CliError::Failure(format!("cannot write to stdout: {e}")))
        }
    }
}
