//! Exports of a result document to the formats other tools read.
//!
//! | [`Format`] | name | what it is |
//! |---|---|---|
//! | `SmpJson` | `smp-json` | the result document as JSON: an SMP `PerformanceTestResult` plus `details` |
//! | `SmpYaml` | `smp-yaml` | the same as YAML (Meshery serves results as SMP YAML) |
//! | `Fortio` | `fortio` | fortio's `HTTPRunnerResults` JSON, as Meshery stores it in `runner_results` ([`fortio`]) |
//! | `Csv` | `csv` | the per-second series, one row per interval ([`csv`]) |
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
        Format::Csv => csv(doc).into_bytes(),
        Format::HdrLog => hdr_log(doc)?,
    })
}

/// The per-second series as CSV with a header row:
/// `second,requests,errors,rate,target_rate,p50_ms,p99_ms` (`target_rate` empty in closed loop).
pub fn csv(doc: &ResultDocument) -> String {
    let mut out = String::from("second,requests,errors,rate,target_rate,p50_ms,p99_ms\n");
    for p in &doc.details.series {
        let target = p.target_rate.map(|t| t.to_string()).unwrap_or_default();
        out.push_str(&format!(
            "{},{},{},{},{},{},{}\n",
            p.second, p.requests, p.errors, p.rate, target, p.p50_ms, p.p99_ms
        ));
    }
    out
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
        let text = csv(&sample());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 11);
        assert_eq!(lines[0], "second,requests,errors,rate,target_rate,p50_ms,p99_ms");
        assert!(lines[1].starts_with("1,100,1,100,100,"), "{}", lines[1]);
        let mut closed = sample();
        closed.details.series[0].target_rate = None;
        assert!(csv(&closed).lines().nth(1).unwrap().starts_with("1,100,1,100,,"));
    }
}
