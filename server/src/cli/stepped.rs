//! What `meshperf search` and `meshperf sweep` share: the flags of a stepped run, the one
//! driver (`perf::runs::stepped`) on this machine's engine or on `--workers`, a line per step
//! as it finishes, the result document, and the exit code.

use std::future::Future;
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use loadgen::Snapshot;
use smp::request::ValidRun;
use smp::stepped::{Step, StepField, StepRequest, StepSpec, Stepped, Stop};
use tokio::sync::watch;

use super::run::{Format, RunArgs, write_output};
use super::summary::{group, micros, num};
use super::{CliError, Exit, run_plan};
use crate::error::ServiceError;
use crate::perf::runs::stepped::{StepHost, SteppedRun, drive};
use crate::perf::runs::{Executor, LocalExecutor, WorkersExecutor};
use crate::policy::Admitted;

/// The flags every stepped run takes, and `meshperf run`'s request, connection and TLS flags.
#[derive(Debug, clap::Args)]
pub struct StepArgs {
    /// An SLO every step must meet, in the gate grammar: `p99<=20ms`, `errors<0.1%`,
    /// `non-2xx<1%` (repeatable). A step must also achieve its rate (--rate-tolerance).
    #[arg(long = "slo", value_name = "SLO")]
    pub slos: Vec<String>,
    /// Measured window of each step, at least 2s [default: 10s]; --warmup is each step's
    /// warm-up [default: 2s].
    #[arg(long = "step-duration", value_name = "DURATION")]
    pub step_duration: Option<String>,
    /// A step fails when it achieves less than its rate by more than this share [default: 5%].
    #[arg(long = "rate-tolerance", value_name = "PERCENT")]
    pub rate_tolerance: Option<String>,
    /// Most steps to run [default: 16 for a search, one per rate for a sweep].
    #[arg(long = "max-steps", value_name = "N")]
    pub max_steps: Option<String>,
    /// No step starts that would end later than this after the first [default: 10m, or what a
    /// sweep's rates need].
    #[arg(long = "max-time", value_name = "DURATION")]
    pub max_time: Option<String>,
    /// Exit 1 unless a rate of at least this passed: the capacity CI requires.
    #[arg(long = "min", value_name = "RATE")]
    pub min: Option<String>,
    /// The targets and how to load them (as for `meshperf run`).
    #[command(flatten)]
    pub run: RunArgs,
}

/// `meshperf run` flags that a stepped run sets itself, with what to use instead.
const NOT_FOR_STEPS: [(&str, &str); 4] = [
    ("--rate", "the search picks each step's rate: use --from and --to (search) or --rates (sweep)"),
    ("--duration", "each step lasts --step-duration"),
    ("--requests", "each step lasts --step-duration"),
    ("--gate", "every step is judged against --slo; require a capacity with --min"),
];

/// The flag behind a stepped run's value.
pub fn flag(field: StepField) -> &'static str {
    match field {
        StepField::From => "--from",
        StepField::To => "--to",
        StepField::Rates => "--rates",
        StepField::Slo => "--slo",
        StepField::StepDuration => "--step-duration",
        StepField::Warmup => "--warmup",
        StepField::Precision => "--precision",
        StepField::Factor => "--factor",
        StepField::RateTolerance => "--rate-tolerance",
        StepField::MaxSteps => "--max-steps",
        StepField::MaxTime => "--max-time",
    }
}

fn refuse_run_only_flags(r: &RunArgs) -> Result<(), CliError> {
    let given = [
        r.rate.is_some() || r.ramp.is_some() || r.stages.is_some(),
        r.duration.is_some(),
        r.requests.is_some(),
        !r.gates.is_empty() || r.summary.is_some() || r.junit.is_some(),
    ];
    match given.iter().position(|g| *g) {
        Some(i) => {
            Err(CliError::Usage(format!("{} is not for a stepped run: {}", NOT_FOR_STEPS[i].0, NOT_FOR_STEPS[i].1)))
        }
        None => Ok(()),
    }
}

/// Runs a stepped run (`step` filled in by `search` or `sweep`) and reports it.
pub fn execute(mut step: StepRequest, args: StepArgs) -> Result<Exit, CliError> {
    refuse_run_only_flags(&args.run)?;
    step.slos = args.slos.clone();
    step.step_duration = args.step_duration.clone();
    step.warmup = args.run.warmup.clone();
    step.rate_tolerance = args.rate_tolerance.clone();
    step.max_steps = args.max_steps.clone();
    step.max_time = args.max_time.clone();
    let spec = step
        .into_spec(smp::stepped::spec::DEFAULT_MAX_TIME)
        .map_err(|e| CliError::Usage(format!("invalid value for {}: {}", flag(e.field), e.reason)))?;
    let min = args
        .min
        .as_deref()
        .map(|m| loadgen::parse::rate(m).map_err(|e| CliError::Usage(format!("invalid value for --min: {e}"))))
        .transpose()?;
    let (mut request, probe) = run_plan::base(&args.run, |r| spec.step_request(r, spec.first_rate()))?;
    let mut meta = probe.meta.clone();
    if request.meta.name.is_none() {
        meta.name = format!("meshperf {} {}", spec.kind_name(), request.urls.join(" "));
        request.meta.name = Some(meta.name.clone());
    }
    let executor: Box<dyn Executor> = if args.run.workers.is_empty() {
        Box::new(LocalExecutor)
    } else {
        let token = args.run.token.clone().ok_or_else(|| {
            CliError::Usage("--workers needs the workers' token: pass --token or set MESHPERF_WORKER_TOKEN".into())
        })?;
        Box::new(WorkersExecutor::new(args.run.workers.clone(), token))
    };
    let json_on_stdout = args.run.format == Format::Json && args.run.output.is_none();
    let mut host = CliHost {
        live: if json_on_stdout { Live::Stderr } else { Live::Stdout },
        progress: !args.run.no_progress && std::io::stderr().is_terminal(),
        text: String::new(),
        current: (0, 0.0),
    };
    host.line(&header(&spec, &probe));
    host.line(&row_header());
    let run = SteppedRun { spec, request };
    // Bounded even if every step stalls: the time limit plus one step's longest wall time.
    let bound = run.spec.max_time + probe.plan.wall_time_bound().unwrap_or(Duration::from_secs(60));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Failure(format!("cannot start a runtime: {e}")))?;
    let (cancel_tx, mut cancel) = watch::channel(None);
    super::signals::on_interrupt(move || {
        let _ = cancel_tx.send(Some("interrupted (Ctrl-C or SIGTERM)".to_string()));
    });
    let outcome = runtime.block_on(async {
        let deadline = tokio::time::Instant::now() + bound;
        let why = || "it reached its time limit".to_string();
        drive(&run, executor.as_ref(), &meta, &mut host, &mut cancel, deadline, why).await
    });
    host.clear_progress();
    let Some(doc) = outcome.document else {
        if outcome.stop == Stop::Cancelled {
            return Ok(Exit::Cancelled);
        }
        return Err(CliError::Failure(outcome.error.unwrap_or_else(|| "no step ran".into())));
    };
    let stepped = doc.details.stepped.as_deref().cloned().ok_or_else(|| CliError::Failure("no steps".into()))?;
    let verdict = conclusion(&stepped, min, outcome.elapsed, &mut host);
    match args.run.format {
        Format::Json => write_output(args.run.output.as_deref(), &(doc.to_json_pretty() + "\n"))?,
        Format::Text if args.run.output.is_some() => write_output(args.run.output.as_deref(), &host.text)?,
        Format::Text => {}
    }
    if let Some(e) = &outcome.error {
        eprintln!("meshperf: {e}");
        return Ok(Exit::Failure);
    }
    Ok(if outcome.stop == Stop::Cancelled {
        Exit::Cancelled
    } else if verdict != Exit::Ok {
        verdict
    } else if stepped.steps.iter().any(|s| s.partial) {
        Exit::Partial
    } else {
        Exit::Ok
    })
}

/// Prints the answer (and a sweep's knee) and decides the exit code: 1 when no rate passed, or
/// when the highest that passed is below `min`.
fn conclusion(s: &Stepped, min: Option<f64>, elapsed: Duration, host: &mut CliHost) -> Exit {
    host.line("");
    let took = humantime::format_duration(Duration::from_secs(elapsed.as_secs()));
    let steps = s.steps.len();
    let how = if s.answer.complete {
        format!("{} steps in {took}", group(steps as u64))
    } else {
        format!("{}; {} steps in {took}", s.stop.describe(), group(steps as u64))
    };
    host.line(&format!("{} ({how})", s.answer.sentence()));
    if s.kind == "sweep" {
        host.line(&match &s.knee {
            Some(k) => format!(
                "knee: {} req/s (achieved {}, p99 {}), step {}, found by {}",
                num(k.rate),
                num(k.achieved_rate),
                micros(k.p99_ms * 1000.0),
                k.step,
                k.method
            ),
            None => {
                "knee: none; the curve did not turn (latency stayed within 2x of its lowest and every step kept up)"
                    .into()
            }
        });
    }
    let max = s.answer.max_rate;
    match (min, max) {
        (Some(min), Some(max)) if max >= min => {
            host.line(&format!("capacity: {} req/s passed, at least the {} required", num(max), num(min)));
            Exit::Ok
        }
        (Some(min), _) => {
            host.line(&format!(
                "capacity: FAILED: {} required, {}",
                num(min),
                max.map_or("no rate passed".to_string(), |m| format!("{} req/s passed", num(m)))
            ));
            Exit::GateFailed
        }
        (None, Some(_)) => Exit::Ok,
        (None, None) => Exit::GateFailed,
    }
}

/// The first lines: what runs, how each step is judged.
fn header(spec: &StepSpec, probe: &ValidRun) -> String {
    let plan = &probe.plan;
    let targets: Vec<&str> = plan.targets.iter().map(|t| t.url.as_str()).collect();
    let steps = match &spec.kind {
        smp::stepped::Kind::Search { from, to, .. } => format!("rates from {} to {} req/s", num(*from), num(*to)),
        smp::stepped::Kind::Sweep { rates } => {
            format!("{} rates: {}", rates.len(), rates.iter().map(|r| num(*r)).collect::<Vec<_>>().join(", "))
        }
    };
    let slos = if spec.slos.is_empty() {
        "no SLO: a step passes when it keeps up".to_string()
    } else {
        format!("SLOs {}", spec.slos.iter().map(|g| g.text.as_str()).collect::<Vec<_>>().join(", "))
    };
    format!(
        "meshperf {}: {} ({} connections), {steps}\n  steps of {} after {} of warm-up; {slos}; every step must achieve {}% of its rate, over the whole step and its second half\n",
        spec.kind_name(),
        targets.join(" "),
        plan.connections,
        humantime::format_duration(spec.step_duration),
        humantime::format_duration(spec.warmup),
        ((1.0 - spec.rate_tolerance) * 1000.0).round() / 10.0,
    )
}

/// The table of every step of a stepped result, by rate, with its answer and knee (what
/// `meshperf report` prints for a stepped result).
pub fn steps_table(s: &Stepped) -> String {
    let mut steps: Vec<&Step> = s.steps.iter().collect();
    steps.sort_by(|a, b| a.rate.total_cmp(&b.rate));
    let mut out = row_header() + "\n";
    for step in steps {
        out.push_str(&row(step));
        out.push('\n');
    }
    out.push_str(&format!("  {}\n", s.answer.sentence()));
    if let Some(k) = &s.knee {
        out.push_str(&format!(
            "  knee: {} req/s (step {}, p99 {}, {})\n",
            num(k.rate),
            k.step,
            micros(k.p99_ms * 1000.0),
            k.method
        ));
    }
    out
}

/// The column names of [`row`].
pub fn row_header() -> String {
    format!(
        "  {:>4} {:>9} {:>10} {:>9} {:>9} {:>9} {:>7} {:>8}  verdict",
        "step", "rate/s", "achieved/s", "p50", "p99", "p99.9", "errors", "non-2xx"
    )
}

/// One step's line: its rate, what it achieved, corrected latency, error shares and verdict.
pub fn row(s: &Step) -> String {
    let share = |n: u64| {
        if s.requests == 0 { "-".to_string() } else { format!("{:.2}%", 100.0 * n as f64 / s.requests as f64) }
    };
    let non_2xx: u64 = s
        .status_codes
        .iter()
        .filter(|(c, _)| !c.parse::<u16>().is_ok_and(|c| (200..300).contains(&c)))
        .map(|(_, n)| n)
        .sum();
    let lat = |ms: f64| {
        if s.latency_ms.count == 0 {
            "-".to_string()
        } else {
            format!("{}{}", if s.latency_lower_bound { "≥" } else { "" }, micros(ms * 1000.0))
        }
    };
    let verdict = if s.passed {
        "pass".to_string()
    } else {
        let detail: Vec<String> = s
            .verdicts
            .iter()
            .filter(|v| !v.passed)
            .map(|v| {
                let part = if v.part == smp::stepped::step::Part::SecondHalf { " (second half)" } else { "" };
                format!("{}{part} {} (want {})", v.metric, v.actual, v.expected)
            })
            .collect();
        let other: Vec<&str> = s
            .failed
            .iter()
            .map(String::as_str)
            .filter(|f| matches!(*f, "cancelled") || f.starts_with("partial") || f.starts_with("no second"))
            .collect();
        format!("FAIL {}", other.into_iter().map(String::from).chain(detail).collect::<Vec<_>>().join("; "))
    };
    format!(
        "  {:>4} {:>9} {:>10} {:>9} {:>9} {:>9} {:>7} {:>8}  {verdict}",
        s.index,
        num(s.rate),
        num(s.achieved_rate),
        lat(s.latency_ms.p50),
        lat(s.latency_ms.p99),
        lat(s.latency_ms.p99_9),
        share(s.errors),
        share(non_2xx),
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Live {
    Stdout,
    Stderr,
}

/// The command line as a stepped run's host: no admission rules (the machine's own user), a
/// progress line on a terminal, and a line per step as it finishes.
struct CliHost {
    live: Live,
    progress: bool,
    text: String,
    current: (u32, f64),
}

impl CliHost {
    /// Prints a line now (stdout, or stderr when stdout holds the JSON document) and keeps it
    /// for `--output`.
    fn line(&mut self, line: &str) {
        self.clear_progress();
        self.text.push_str(line);
        self.text.push('\n');
        match self.live {
            Live::Stdout => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{line}");
                let _ = out.flush();
            }
            Live::Stderr => eprintln!("{line}"),
        }
    }

    fn clear_progress(&mut self) {
        if self.progress {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }
}

impl StepHost for CliHost {
    fn admit(&self, run: ValidRun) -> impl Future<Output = Result<Admitted, ServiceError>> + Send {
        let wall_limit = run.plan.wall_time_bound().unwrap_or(Duration::from_secs(3600));
        std::future::ready(Ok(Admitted { run, wall_limit }))
    }

    fn started(&mut self, index: u32, rate: f64, _start_at: SystemTime, _threads: u32) {
        self.current = (index, rate);
    }

    fn progress(&mut self, snapshot: Arc<Snapshot>) {
        if self.progress {
            let (index, rate) = self.current;
            let line = super::progress::line(&snapshot, None);
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K  step {index} at {} req/s {line}", num(rate));
            let _ = err.flush();
        }
    }

    fn cancelling(&mut self, reason: &str) {
        self.clear_progress();
        eprintln!("meshperf: stopping: {reason}; what was measured is kept");
    }

    fn finished(&mut self, step: &Step) {
        self.line(&row(step));
    }
}
