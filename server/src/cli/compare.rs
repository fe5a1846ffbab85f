//! `meshperf compare`: a result against a baseline, with regression limits as CI gates.
//!
//! Prints a Markdown table (also appended to `$GITHUB_STEP_SUMMARY` when it is set), can
//! write it to `--summary FILE` and JUnit XML to `--junit FILE`, and exits 1 when a limit is
//! exceeded. [`publish`] does the same for `meshperf run --gate`.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use smp::gate::{self, Regression, Verdict};

use super::export::{load, write_out};
use super::{CliError, Exit};

/// Limits used when none are given.
pub const DEFAULT_LIMITS: [&str; 4] = ["p50=10%", "p99=10%", "rps=5%", "errors=0.5%"];

/// Arguments of `meshperf compare`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Limits: METRIC=LIMIT. Durations and rps: a % is relative to the baseline (p99=10% allows 10% slower, rps=5% allows 5% less), a duration is absolute (p99=2ms). errors and non-2xx: percentage points of the request share (errors=0.5%) or a count. Default: p50=10% p99=10% rps=5% errors=0.5%.\n\nExit codes: 0 every limit holds, 1 a limit is exceeded, 2 bad usage or input, 3 failure.\n\nExample:\n  meshperf compare baseline.json current.json --max-regression p99=10% --max-regression rps=5% --junit gates.xml"
)]
pub struct CompareArgs {
    /// The baseline result (JSON or YAML).
    #[arg(value_name = "BASELINE")]
    pub baseline: PathBuf,
    /// The result to check against it.
    #[arg(value_name = "CURRENT")]
    pub current: PathBuf,
    /// A regression limit, e.g. p99=10%, rps=5%, p99=2ms, errors=0.5% (repeatable).
    #[arg(long = "max-regression", value_name = "METRIC=LIMIT", value_parser = parse_limit)]
    pub max_regression: Vec<Regression>,
    /// Also write the Markdown summary to this file.
    #[arg(long = "summary", value_name = "FILE")]
    pub summary: Option<PathBuf>,
    /// Write JUnit XML (one test case per limit) to this file.
    #[arg(long = "junit", value_name = "FILE")]
    pub junit: Option<PathBuf>,
}

fn parse_limit(s: &str) -> Result<Regression, String> {
    Regression::parse(s).map_err(|e| e.to_string())
}

/// Compares the two results and reports the verdicts.
pub fn execute(args: CompareArgs) -> Result<Exit, CliError> {
    let baseline = load(&args.baseline)?;
    let current = load(&args.current)?;
    let limits = if args.max_regression.is_empty() {
        DEFAULT_LIMITS
            .iter()
            .map(|t| Regression::parse(t))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| CliError::Failure(e.to_string()))?
    } else {
        args.max_regression
    };
    let verdicts = gate::compare(&baseline, &current, &limits);
    let title = format!("{} against baseline {}", name(&current, &args.current), name(&baseline, &args.baseline));
    publish(&title, &verdicts, args.summary.as_deref(), args.junit.as_deref(), current.details.duration_s)
}

fn name(doc: &smp::ResultDocument, path: &Path) -> String {
    if doc.name().is_empty() { path.display().to_string() } else { doc.name().to_string() }
}

/// Prints the Markdown summary of `verdicts` to stdout, appends it to `$GITHUB_STEP_SUMMARY`
/// when set, writes it to `summary` and JUnit XML to `junit` when given, and returns
/// [`Exit::GateFailed`] if any verdict failed (else [`Exit::Ok`]).
pub fn publish(
    title: &str,
    verdicts: &[Verdict],
    summary: Option<&Path>,
    junit: Option<&Path>,
    time_s: f64,
) -> Result<Exit, CliError> {
    publish_with(title, verdicts, summary, junit, time_s, false)
}

/// [`publish`], printing the Markdown table on stderr instead of stdout when `to_stderr` (for
/// `run --format json`, whose document owns stdout).
pub fn publish_with(
    title: &str,
    verdicts: &[Verdict],
    summary: Option<&Path>,
    junit: Option<&Path>,
    time_s: f64,
    to_stderr: bool,
) -> Result<Exit, CliError> {
    let markdown = gate::markdown_summary(title, verdicts);
    if to_stderr {
        eprintln!("{markdown}");
    } else {
        write_out(None, markdown.as_bytes())?;
    }
    if let Some(path) = summary {
        write_out(Some(path), markdown.as_bytes())?;
    }
    if let Some(path) = junit {
        write_out(Some(path), gate::junit_xml(title, verdicts, time_s).as_bytes())?;
    }
    if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| writeln!(f, "{markdown}"))
            .map_err(|e| CliError::Failure(format!("cannot append to $GITHUB_STEP_SUMMARY ({}): {e}", path.display())))?;
    }
    Ok(if gate::all_passed(verdicts) { Exit::Ok } else { Exit::GateFailed })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(gate: &str, passed: bool) -> Verdict {
        Verdict {
            gate: gate.into(),
            metric: "p99".into(),
            expected: "<= 20 ms".into(),
            actual: "25 ms".into(),
            value: 25.0,
            passed,
        }
    }

    #[test]
    fn publish_writes_summary_and_junit_and_sets_the_exit_code() {
        let dir = tempfile::tempdir().unwrap();
        let (md, xml) = (dir.path().join("s.md"), dir.path().join("j.xml"));
        let verdicts = [verdict("p99<=20ms", false), verdict("rps>=1", true)];
        let exit = publish("t", &verdicts, Some(&md), Some(&xml), 1.0).unwrap();
        assert_eq!(exit, Exit::GateFailed);
        assert!(std::fs::read_to_string(&md).unwrap().contains("| `p99<=20ms` | p99 | <= 20 ms | 25 ms | ❌ fail |"));
        assert!(std::fs::read_to_string(&xml).unwrap().contains("failures=\"1\""));
        assert_eq!(publish("t", &verdicts[1..], None, None, 1.0).unwrap(), Exit::Ok);
        let err = publish("t", &verdicts, Some(&dir.path().join("no/such/dir.md")), None, 1.0).unwrap_err();
        assert_eq!(err.exit(), Exit::Failure);
    }

    #[test]
    fn default_limits_parse() {
        for text in DEFAULT_LIMITS {
            Regression::parse(text).unwrap();
        }
    }
}
