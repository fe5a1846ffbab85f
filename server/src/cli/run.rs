//! `meshperf run`: a load test from the command line, wrk2/oha style, with an SMP result.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use loadgen::{Report, ValidatedPlan};

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
    after_help = "Examples:\n  meshperf run -c 50 -d 10s http://127.0.0.1:8080/\n  meshperf run -r 5k -d 30s --warmup 2s http://127.0.0.1:8080/\n  meshperf run --http2 --h2-streams 10 -n 100k http://127.0.0.1:8080/\n  meshperf run --stages 10s@1000,20s@5000 --format json -o result.json http://127.0.0.1:8080/\n  meshperf run --call grpc.health.v1.Health/Check -n 10k grpc://127.0.0.1:50051\n  meshperf run --call demo.Greeter/Hello --proto greeter.proto --data '{\"name\": \"a\"}' grpc://127.0.0.1:50051"
)]
pub struct RunArgs {
    /// Target URLs (http, https, or grpc and grpcs for gRPC calls), used round robin.
    #[arg(value_name = "URL")]
    pub urls: Vec<String>,

    /// Run an SMP test config (YAML or JSON, a `{test, mesh}` envelope or a Meshery profile);
    /// flags given on the command line override the file.
    #[arg(short = 'p', long = "profile", value_name = "FILE")]
    pub profile: Option<PathBuf>,

    /// Connections in total, spread over the worker threads [default: 50].
    #[arg(short = 'c', long = "connections", allow_negative_numbers = true, value_parser = whole)]
    pub connections: Option<u32>,
    /// Worker threads (default: one per core).
    #[arg(short = 't', long = "threads", allow_negative_numbers = true, value_parser = whole)]
    pub threads: Option<u32>,
    /// Measured duration, e.g. 30s, 1m, 1m30s (default 30s unless -n or --stages is given).
    #[arg(short = 'd', long = "duration", allow_negative_numbers = true, value_parser = above_zero)]
    pub duration: Option<String>,
    /// Stop after this many requests, e.g. 10000 or 10k.
    #[arg(short = 'n', long = "requests", allow_negative_numbers = true, value_parser = above_zero)]
    pub requests: Option<String>,
    /// Open loop at a constant rate, requests per second (e.g. 5000 or 5k). Without a rate the
    /// run is closed loop: each connection sends as soon as its last response arrives.
    #[arg(short = 'r', long = "rate", conflicts_with_all = ["ramp", "stages"], allow_negative_numbers = true, value_parser = above_zero)]
    pub rate: Option<String>,
    /// Open loop with a linear ramp FROM:TO requests per second over the duration.
    #[arg(long = "ramp", value_name = "FROM:TO", conflicts_with = "stages")]
    pub ramp: Option<String>,
    /// Open loop in steps: DURATION@RATE,... e.g. 10s@1000,20s@5000.
    #[arg(long = "stages", value_name = "STAGES")]
    pub stages: Option<String>,
    /// Warm-up before measuring; its samples are dropped [default: 0s].
    #[arg(long = "warmup", allow_negative_numbers = true, value_parser = above_zero)]
    pub warmup: Option<String>,
    /// Per-request timeout [default: 10s].
    #[arg(long = "timeout", allow_negative_numbers = true, value_parser = above_zero)]
    pub timeout: Option<String>,

    /// Speak HTTP/2 (h2c with prior knowledge for http://, ALPN h2 for https://).
    #[arg(long = "http2")]
    pub http2: bool,
    /// Concurrent streams per HTTP/2 connection [default: 1].
    #[arg(long = "h2-streams", allow_negative_numbers = true, value_parser = whole)]
    pub h2_streams: Option<u32>,
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

    /// Request method [default: GET, or POST with a body from a profile].
    #[arg(short = 'm', long = "method")]
    pub method: Option<String>,
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

    /// gRPC: the method to call, package.Service/Method (with grpc:// or grpcs:// URLs).
    #[arg(long = "call", value_name = "METHOD")]
    pub call: Option<String>,
    /// gRPC: the request message in protobuf's JSON mapping, e.g. '{"name": "a"}' [default: {}].
    #[arg(long = "data", value_name = "JSON", conflicts_with_all = ["body", "body_file", "content_type"])]
    pub data: Option<String>,
    /// gRPC: metadata `name=value` sent with every call (repeatable; `-bin` names take base64).
    #[arg(long = "metadata", value_name = "NAME=VALUE")]
    pub metadata: Vec<String>,
    /// gRPC: a .proto file that defines the service (repeatable). Without it the descriptors
    /// come from the target's reflection service (grpc.health.v1.Health needs none).
    #[arg(long = "proto", value_name = "FILE")]
    pub proto: Vec<PathBuf>,
    /// gRPC: a directory where the --proto files' imports are found (repeatable).
    #[arg(short = 'I', long = "import-path", value_name = "DIR", requires = "proto")]
    pub import_paths: Vec<PathBuf>,

    /// Output format on stdout (or in --output).
    #[arg(short = 'f', long = "format", value_enum, default_value_t = Format::Text)]
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

    /// A CI gate on the result, e.g. `p99<=20ms`, `errors<0.1%`, `rps>=1000` (repeatable);
    /// a failed gate exits with 1.
    #[arg(long = "gate", value_name = "GATE")]
    pub gates: Vec<String>,
    /// Write the gates' Markdown summary table to this file (also appended to
    /// `$GITHUB_STEP_SUMMARY` when set).
    #[arg(long = "summary", value_name = "FILE", requires = "gates")]
    pub summary: Option<PathBuf>,
    /// Write the gates as JUnit XML (one test case per gate) to this file.
    #[arg(long = "junit", value_name = "FILE", requires = "gates")]
    pub junit: Option<PathBuf>,

    /// Spread the run over `meshperf worker`s: HOST:PORT,HOST:PORT (port 10013 by default).
    #[arg(long = "workers", value_name = "ADDRS", value_delimiter = ',')]
    pub workers: Vec<String>,
    /// The workers' shared token.
    #[arg(long = "token", env = "MESHPERF_WORKER_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

/// A numeric option's text, refusing a negative number with the fix (without this, clap takes
/// `-5` for a flag and suggests `-- -5`); the rest is parsed with the plan.
fn above_zero(text: &str) -> Result<String, String> {
    if text.trim_start().starts_with('-') {
        return Err("must be above 0".into());
    }
    Ok(text.to_string())
}

/// A whole number for a count of connections, threads or streams (0 is left to the plan's
/// check, which names the fix).
fn whole(text: &str) -> Result<u32, String> {
    above_zero(text)?;
    text.trim().parse().map_err(|_| format!("{text:?} is not a whole number such as 10"))
}

/// Runs the load test and prints or writes its result; gates decide the exit code.
pub fn execute(mut args: RunArgs) -> Result<Exit, CliError> {
    args.output = super::api::output_file(args.output.take())?;
    let runs = run_plan::build(&args)?;
    let meta = runs[0].meta.clone();
    let plans: Vec<ValidatedPlan> = runs.into_iter().map(|r| r.plan).collect();
    let gates = args
        .gates
        .iter()
        .map(|g| smp::gate::Gate::parse(g))
        .collect::<Result<Vec<_>, _>>()
        .map_err(super::export::smp_error)?;
    let progress = !args.no_progress && std::io::stdout().is_terminal();
    let (doc, text) = if args.workers.is_empty() {
        run_plans(plans, &meta, progress)?
    } else {
        let [plan] = <[ValidatedPlan; 1]>::try_from(plans).map_err(|p| {
            CliError::Usage(format!("--workers runs one client at a time; the profile has {} clients", p.len()))
        })?;
        let token = args.token.clone().ok_or_else(|| {
            CliError::Usage("--workers needs the workers' token: pass --token or set MESHPERF_WORKER_TOKEN".into())
        })?;
        run_on_workers(plan, &args.workers, &token, meta, progress)?
    };
    let out = match args.format {
        Format::Json => doc.to_json_pretty() + "\n",
        Format::Text => text,
    };
    write_output(args.output.as_deref(), &out)?;
    let verdict = if gates.is_empty() {
        nothing_succeeded(&doc)
    } else {
        let verdicts = smp::gate::evaluate(&gates, &doc);
        let json_on_stdout = args.format == Format::Json && args.output.is_none();
        super::compare::publish_with(
            doc.name(),
            &verdicts,
            args.summary.as_deref(),
            args.junit.as_deref(),
            doc.details.duration_s,
            json_on_stdout,
        )?
    };
    Ok(exit_code(&doc, verdict))
}

/// Without gates, a run in which no request got a successful response measured nothing of
/// the service: say so and fail ([`Exit::GateFailed`]).
fn nothing_succeeded(doc: &smp::ResultDocument) -> Exit {
    let d = &doc.details;
    if d.successful > 0 || d.requests + d.unsent == 0 || d.cancelled {
        return Exit::Ok;
    }
    let mut why: Vec<String> = d.error_kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
    why.extend(d.status_codes.iter().map(|(c, n)| format!("status {c} {n}")));
    why.extend(d.grpc_status_codes.iter().map(|(c, n)| format!("{c} {n}")));
    if d.unsent > 0 {
        why.push(format!("unsent {}", d.unsent));
    }
    let (what, fix) = if doc.is_grpc() {
        ("call got an OK status", "check the URL, the method, its message and that the target is up")
    } else {
        ("request got a successful (2xx or 3xx) response", "check the URL and that the target is up")
    };
    eprintln!("meshperf: no {what} ({}); {fix}", why.join(", "));
    Exit::GateFailed
}

/// The exit code of a run: cancelled first (130, as for SIGINT), then a failed gate or check
/// (1), then a partial result (4).
fn exit_code(doc: &smp::ResultDocument, verdict: Exit) -> Exit {
    if doc.details.cancelled {
        Exit::Cancelled
    } else if verdict != Exit::Ok {
        verdict
    } else if doc.details.partial {
        Exit::Partial
    } else {
        Exit::Ok
    }
}

/// Runs one plan (or several clients of a profile at once) here; returns the result document
/// and the human summary.
fn run_plans(
    plans: Vec<ValidatedPlan>,
    meta: &smp::RunMeta,
    progress: bool,
) -> Result<(smp::ResultDocument, String), CliError> {
    if plans.len() == 1 {
        let plan = plans.into_iter().next().expect("one plan");
        let report = run_local(plan, progress)?;
        return Ok((smp::ResultDocument::from_report(&report, meta), super::summary::render(&report)));
    }
    // Clients of one profile run at the same time, each on its own engine; the document is
    // their exact merge and the summary shows each client.
    let n = plans.len();
    let handles = plans
        .into_iter()
        .map(|p| loadgen::start(p).map_err(|e| CliError::Usage(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let cancels: Vec<_> = handles.iter().map(loadgen::RunHandle::canceller).collect();
    super::signals::on_interrupt(move || cancels.iter().for_each(loadgen::CancelHandle::cancel));
    let threads: Vec<_> = handles
        .into_iter()
        .map(|mut h| {
            std::thread::spawn(move || {
                while h.next_snapshot_blocking().is_some() {}
                h.wait_blocking()
            })
        })
        .collect();
    let mut docs = Vec::with_capacity(n);
    let mut text = String::new();
    for (i, t) in threads.into_iter().enumerate() {
        let report = t
            .join()
            .map_err(|_| CliError::Failure("a client's run stopped unexpectedly".into()))?
            .map_err(|e| CliError::Failure(format!("the run failed: {e}")))?;
        text.push_str(&format!("── client {} of {n} ──\n{}\n", i + 1, super::summary::render(&report)));
        docs.push(smp::ResultDocument::from_report(&report, meta));
    }
    let doc = smp::result::merge(&docs, meta).map_err(super::export::smp_error)?;
    Ok((doc, text))
}

/// Runs `plan` spread over `workers` and merges their results exactly.
fn run_on_workers(
    plan: ValidatedPlan,
    workers: &[String],
    token: &str,
    meta: smp::RunMeta,
    progress: bool,
) -> Result<(smp::ResultDocument, String), CliError> {
    use crate::perf::distributed::{DistributedCancel, DistributedOptions, run_distributed_blocking};
    let cancel = DistributedCancel::new();
    let c = cancel.clone();
    super::signals::on_interrupt(move || c.cancel());
    let mut bar = progress.then(|| Progress::new(&plan));
    let options = DistributedOptions::new(workers.to_vec(), token, meta);
    let result = run_distributed_blocking(plan, options, cancel, |s| {
        if let Some(b) = bar.as_mut() {
            b.update(s);
        }
    });
    if let Some(b) = bar.as_mut() {
        b.finish();
    }
    let r = result
        .map_err(|e| if e.is_usage() { CliError::Usage(e.to_string()) } else { CliError::Failure(e.to_string()) })?;
    let mut text = super::summary::render(&r.report);
    text.push_str("\n  Workers\n");
    for w in &r.workers {
        text.push_str(&format!("    {:<24} {:>9} requests  {}\n", w.address, w.requests, w.status));
    }
    if r.partial {
        text.push_str(
            "  PARTIAL: a worker was lost; the numbers hold what the others measured and what it reported \
             up to its last second\n",
        );
    }
    Ok((r.document, text))
}

/// Runs `plan` on this machine, with a live progress line when `progress` is set; Ctrl-C
/// cancels the run and still reports what was measured.
pub fn run_local(plan: ValidatedPlan, progress: bool) -> Result<Report, CliError> {
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
        Some(p) => std::fs::write(p, text).map_err(|e| {
            CliError::Failure(format!("cannot write {}: {e}; check the directory exists and is writable", p.display()))
        }),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .and_then(|_| out.flush())
                .map_err(|e| CliError::Failure(format!("cannot write to stdout: {e}")))
        }
    }
}
