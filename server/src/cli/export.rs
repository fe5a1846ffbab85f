//! `meshperf export`: a result in another format (SMP JSON/YAML, fortio, CSV, HDR log).

use std::io::Write;
use std::path::{Path, PathBuf};

use smp::ResultDocument;
use smp::export::Format;

use super::{CliError, Exit};

/// Arguments of `meshperf export`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Formats:\n  smp-json  the result document (SMP PerformanceTestResult + details), JSON\n  smp-yaml  the same, YAML\n  fortio    fortio HTTPRunnerResults JSON, as Meshery stores runner_results\n  csv       the per-second series\n  hdr-log   an HdrHistogram interval log (values in microseconds)\n\nExample:\n  meshperf export result.json --format fortio --output runner_results.json"
)]
pub struct ExportArgs {
    /// The result file, as `meshperf run --format json --output FILE` writes it (JSON or YAML).
    #[arg(value_name = "RESULT")]
    pub result: PathBuf,
    /// The output format: smp-json, smp-yaml, fortio, csv or hdr-log.
    #[arg(short = 'f', long = "format", value_parser = parse_format)]
    pub format: Format,
    /// Write to this file instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse().map_err(|e: smp::SmpError| e.to_string())
}

/// Reads the result and writes it in the chosen format.
pub fn execute(args: ExportArgs) -> Result<Exit, CliError> {
    let ExportArgs { result, format, output } = args;
    let output = super::api::output_file(output)?;
    let doc = load(&result)?;
    let bytes = smp::export::export(&doc, format).map_err(smp_error)?;
    write_out(output.as_deref(), &bytes)?;
    Ok(Exit::Ok)
}

/// Reads a result document, as a CLI error when it cannot.
pub(crate) fn load(path: &Path) -> Result<ResultDocument, CliError> {
    ResultDocument::load(path).map_err(smp_error)
}

/// An `smp` error as a CLI error: bad input is a usage error (exit 2), the rest a failure (3).
#[allow(clippy::needless_pass_by_value)] // by value so that `.map_err(smp_error)` reads well
pub(crate) fn smp_error(e: smp::SmpError) -> CliError {
    if e.is_input() { CliError::Usage(e.to_string()) } else { CliError::Failure(e.to_string()) }
}

/// Writes `bytes` to `path`, or to stdout when there is none.
pub(crate) fn write_out(path: Option<&Path>, bytes: &[u8]) -> Result<(), CliError> {
    match path {
        Some(p) => std::fs::write(p, bytes).map_err(|e| {
            CliError::Failure(format!("cannot write {}: {e}; check the directory exists and is writable", p.display()))
        }),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes)
                .and_then(|()| out.flush())
                .map_err(|e| CliError::Failure(format!("cannot write to stdout: {e}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_to_exit_codes_and_output_goes_to_files() {
        let usage = smp_error(smp::SmpError::field("x", "bad"));
        assert_eq!(usage.exit(), Exit::Usage);
        let failure = smp_error(smp::SmpError::Chart("no font".into()));
        assert_eq!(failure.exit(), Exit::Failure);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        write_out(Some(&path), b"a,b\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a,b\n");
        assert_eq!(load(&dir.path().join("missing.json")).unwrap_err().exit(), Exit::Usage);
        assert!(parse_format("hdr-log").is_ok());
        assert!(parse_format("xml").unwrap_err().contains("use one of"));
    }
}
