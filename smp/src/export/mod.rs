//! Exports of a result document to the formats other tools read.
//!
//! | [`Format`] | name | what it is |
//! |---|---|---|
//! | `SmpJson` | `smp-json` | the result document as JSON: an SMP `PerformanceTestResult` plus `details` |
//! | `SmpYaml` | `smp-yaml` | the same as YAML (Meshery serves results as SMP YAML) |
//! | `Fortio` | `fortio` | fortio's `HTTPRunnerResults` JSON, as Meshery stores it in `runner_results` ([`fortio`]) |
//! | `Csv` | `csv` | the per-second series, one row per interval ([`csv()`]) |
//! | `HdrLog` | `hdr-log` | an HdrHistogram interval log of the three histograms ([`hdr_log`]) |

mod fortio;
mod hdrlog;

use std::fmt;
use std::str::FromStr;

pub use fortio::fortio;
pub use hdrlog::hdr_log;

use crate::error::SmpError;
use crate::result::ResultDocument;

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The result document as JSON.
    SmpJson,
    /// The result document as YAML.
    SmpYaml,
    /// fortio's `HTTPRunnerResults` JSON.
    Fortio,
    /// The per-second series as CSV.
    Csv,
    /// An HdrHistogram interval log.
    HdrLog,
}

impl Format {
    /// Every format, in the order shown to users.
    pub const ALL: [Format; 5] = [Format::SmpJson, Format::SmpYaml, Format::Fortio, Format::Csv, Format::HdrLog];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::SmpJson => "smp-json",
            Format::SmpYaml => "smp-yaml",
            Format::Fortio => "fortio",
            Format::Csv => "csv",
            Format::HdrLog => "hdr-log",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = SmpError;

    fn from_str(s: &str) -> Result<Self, SmpError> {
        Format::ALL.into_iter().find(|f| f.name().eq_ignore_ascii_case(s.trim())).ok_or_else(|| {
            let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
            SmpError::field("--format", format!("{s:?} is not a format; use one of {}", names.join(", ")))
        })
    }
}

/// The document in `format`, ready to write to a file or stdout.
pub fn export(doc: &ResultDocument, format: Format) -> Result<Vec<u8>, SmpError> {
    Ok(match format {
        Format::SmpJson => (doc.to_json_pretty() + "\n").into_bytes(),
        Format::SmpYaml => doc.to_yaml().into_bytes(),
        Format::Fortio => {
            let mut text = serde_json::to_string_pretty(&fortio(doc)).unwrap_or_default();
            text.push('\n');
            text.into_bytes()
        }
        Format::Csv => csv(doc)?.into_bytes(),
        Format::HdrLog => hdr_log(doc)?,
    })
}

/// The per-second series as CSV with a header row:
/// `second,requests,errors,rate,target_rate,p50_ms,p99_ms` (`target_rate` empty in closed
/// loop). `rate` (successful responses per second) and `target_rate` are rounded to 0.01,
/// `second` to the millisecond, latencies to the microsecond they were measured in.
pub fn csv(doc: &ResultDocument) -> Result<String, SmpError> {
    let mut out = ::csv::Writer::from_writer(Vec::new());
    let fail = |e: ::csv::Error| SmpError::Export(format!("cannot write the CSV: {e}"));
    out.write_record(["second", "requests", "errors", "rate", "target_rate", "p50_ms", "p99_ms"]).map_err(fail)?;
    for p in &doc.details.series {
        out.write_record([
            fixed(p.second, 3),
            p.requests.to_string(),
            p.errors.to_string(),
            fixed(p.rate, 2),
            p.target_rate.map(|t| fixed(t, 2)).unwrap_or_default(),
            fixed(p.p50_ms, 3),
            fixed(p.p99_ms, 3),
        ])
        .map_err(fail)?;
    }
    let bytes = out.into_inner().map_err(|e| SmpError::Export(format!("cannot write the CSV: {e}")))?;
    String::from_utf8(bytes).map_err(|e| SmpError::Export(format!("cannot write the CSV: {e}")))
}

/// `x` with at most `decimals` decimals and no trailing zeros (`2.5`, `1000`, `0.123`).
fn fixed(x: f64, decimals: usize) -> String {
    let text = format!("{x:.decimals$}");
    if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.').to_string() } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::tests::sample;

    #[test]
    fn formats_by_name() {
        for f in Format::ALL {
            assert_eq!(f.name().parse::<Format>().unwrap(), f);
        }
        assert_eq!("SMP-JSON".parse::<Format>().unwrap(), Format::SmpJson);
        let err = "xml".parse::<Format>().unwrap_err().to_string();
        assert!(err.contains("use one of smp-json, smp-yaml, fortio, csv, hdr-log"), "{err}");
    }

    #[test]
    fn smp_exports_read_back() {
        let doc = sample();
        for f in [Format::SmpJson, Format::SmpYaml] {
            let text = String::from_utf8(export(&doc, f).unwrap()).unwrap();
            assert_eq!(ResultDocument::from_text(&text).unwrap(), doc, "{f}");
        }
    }

    #[test]
    fn csv_has_one_row_per_second() {
        let text = csv(&sample()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 11);
        assert_eq!(lines[0], "second,requests,errors,rate,target_rate,p50_ms,p99_ms");
        assert!(lines[1].starts_with("1,100,1,98,100,"), "{}", lines[1]);
        let mut closed = sample();
        closed.details.series[0].target_rate = None;
        assert!(csv(&closed).unwrap().lines().nth(1).unwrap().starts_with("1,100,1,98,,"));
        // Numbers are rounded, never 13 digits of binary noise.
        closed.details.series[0].rate = 24_958.123_456_789;
        closed.details.series[0].second = 5.001_799_9;
        let row = csv(&closed).unwrap().lines().nth(1).unwrap().to_string();
        assert!(row.starts_with("5.002,100,1,24958.12,,"), "{row}");
        assert_eq!(fixed(1000.0, 2), "1000");
        assert_eq!(fixed(0.1 + 0.2, 3), "0.3");
    }
}
