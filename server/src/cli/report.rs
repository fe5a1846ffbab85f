//! `meshperf report`: a summary table of one or more results, and a chart of them.

use std::fmt::Write as _;
use std::path::PathBuf;

use smp::ResultDocument;
use smp::chart::Size;

use super::export::{load, smp_error, write_out};
use super::{CliError, Exit};

/// Arguments of `meshperf report`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  meshperf report result.json --chart result.png\n  meshperf report baseline.json candidate.json --chart compare.svg"
)]
pub struct ReportArgs {
    /// Result files (JSON or YAML); several are overlaid for comparison.
    #[arg(value_name = "RESULT", required = true)]
    pub results: Vec<PathBuf>,
    /// Draw the percentile spectrum, latency and throughput over time to this .svg or .png file
    /// (for search and sweep results: the latency-throughput curve with its knee).
    #[arg(long = "chart", value_name = "FILE")]
    pub chart: Option<PathBuf>,
    /// Chart width in pixels.
    #[arg(long = "width", default_value_t = 1400, value_parser = clap::value_parser!(u32).range(400..=10_000))]
    pub width: u32,
    /// Chart height in pixels.
    #[arg(long = "height", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(300..=10_000))]
    pub height: u32,
}

/// Prints the summary table and draws the chart when asked.
pub fn execute(args: ReportArgs) -> Result<Exit, CliError> {
    let ReportArgs { results, chart, width, height } = args;
    let docs = results.iter().map(|p| load(p)).collect::<Result<Vec<_>, _>>()?;
    let mut text = table(&docs);
    for d in &docs {
        if let Some(s) = &d.details.stepped {
            let _ = write!(
                text,
                "\n{} ({}, {} steps):\n{}",
                d.name(),
                s.kind,
                s.steps.len(),
                super::stepped::steps_table(s)
            );
        }
    }
    if let Some(path) = &chart {
        smp::chart::render(&docs, path, Size { width, height }).map_err(smp_error)?;
        let _ = writeln!(text, "\nchart written to {}", path.display());
    }
    write_out(None, text.as_bytes())?;
    Ok(Exit::Ok)
}

/// One row per result: name, start, requests, the achieved rate (successful responses per
/// second) and the target, errors with their share, and latency percentiles in ms.
pub fn table(docs: &[ResultDocument]) -> String {
    let mut rows = vec![
        [
            "name",
            "start (UTC)",
            "requests",
            "achieved/s",
            "target",
            "errors",
            "p50 ms",
            "p90 ms",
            "p95 ms",
            "p99 ms",
            "p99.9 ms",
            "max ms",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for d in docs {
        let l = &d.details.latency_ms;
        let errors = if d.details.requests == 0 {
            "0".to_string()
        } else {
            format!("{} ({:.2}%)", d.details.errors, 100.0 * d.details.errors as f64 / d.details.requests as f64)
        };
        // No response, no latency: zeros would read as a fast service.
        let lat = |v: f64| if d.details.responses == 0 { "-".to_string() } else { format!("{v:.3}") };
        rows.push(vec![
            d.name().to_string(),
            d.start_time.format("%Y-%m-%d %H:%M:%S").to_string(),
            d.details.requests.to_string(),
            format!("{:.1}", d.actual_qps),
            d.details.target_rate.map_or_else(|| "max".into(), |t| format!("{t:.1}")),
            errors,
            lat(l.p50),
            lat(l.p90),
            lat(l.p95),
            lat(l.p99),
            lat(l.p99_9),
            lat(l.max),
        ]);
    }
    let widths: Vec<usize> =
        (0..rows[0].len()).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, s)| if c < 2 { format!("{s:<w$}", w = widths[c]) } else { format!("{s:>w$}", w = widths[c]) })
            .collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn table_has_one_row_per_result() {
        let plan = loadgen::RunPlan::new(vec![loadgen::Target::get("http://127.0.0.1:8080/").unwrap()]);
        let mut stats = loadgen::Stats::new();
        for ms in 1..=100 {
            stats.latency.record_us(ms * 1000);
            stats.count_status(200);
        }
        stats.count_error(loadgen::ErrorKind::Timeout);
        let now = chrono::Utc::now();
        let report = loadgen::Report {
            plan,
            started_at: now,
            ended_at: now,
            elapsed: Duration::from_secs(1),
            stats,
            series: Vec::new(),
            planned: None,
            cancelled: false,
        };
        let doc = ResultDocument::from_report(&report, &smp::RunMeta::new("smoke"));
        let text = table(&[doc.clone(), doc]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("name "), "{text}");
        assert!(lines[1].starts_with("smoke "), "{text}");
        assert!(lines[1].contains(" 101 "), "{text}");
        assert!(lines[1].contains("1 (0.99%)"), "{text}");
        assert!(lines[1].contains("max"), "{text}");
    }
}
