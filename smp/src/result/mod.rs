//! meshperf's result document: an SMP `PerformanceTestResult` plus meshperf's `details`.
//!
//! One JSON object per run. Its top level is the SMP `PerformanceTestResult` message
//! (reference: SMP `service_mesh_performance.proto`) in the snake_case JSON names that
//! protoc-gen-go gives it, so SMP tools read it as is; everything meshperf knows beyond that
//! sits under the single extra key `details`. The file is pinned by the JSON Schema
//! `smp/schema/result.schema.json`, which a test checks against real output.
//!
//! # Top level (SMP `PerformanceTestResult`)
//! | key | type | meaning |
//! |---|---|---|
//! | `smp_version` | string | the SMP spec version implemented, [`SMP_VERSION`] |
//! | `id` | string | this result's id: a UUID unless the caller chose one |
//! | `labels` | map of strings | `name` (test name), `url` (first target), `urls` (every target, space separated, when there are several), `generator` (`meshperf`), `requested_generator` (what a profile asked for, when it differs), plus the caller's labels |
//! | `start_time`, `end_time` | RFC 3339 string, UTC (`Z`) | when the measured window opened, when the run ended |
//! | `latencies_ms` | object | `min`, `average`, `p50`, `p90`, `p99`, `max` of the latency histogram, in **milliseconds** (Meshery writes seconds here; we do not) |
//! | `actual_qps` | number | successful responses (2xx or 3xx; gRPC: status `OK`) that finished inside the measured window, per second of it: the achieved rate (an all-errors run has 0) |
//! | `details_uri` | string | where the full result can be fetched, or `""` |
//! | `test_id` | string | the id of the SMP test config (profile) that ran, or `""` |
//! | `mesh_config_id`, `env_id` | string | ids of the SMP `ServiceMeshConfig` and `EnvironmentConfig`, or `""` |
//!
//! Latency is measured from each request's due time in open-loop runs (coordinated omission
//! corrected) and from the send in closed-loop runs; see [`details`](Details) for service time.
//! Open-loop requests that were due but never sent are in the latency at their age when the
//! window closed, so a stalled target cannot hide behind them: the latency is then a lower
//! bound (`details.latency_lower_bound`). With no response at all, every latency is 0 and
//! `details.latency_ms.count` is 0 (or the number of unsent requests): read `details.responses`
//! before the latency.
//!
//! # `details`
//! See [`Details`]: the counters (`requests`, `responses`, `successful`, `errors`,
//! `after_window`, `sent`, `unsent`, bytes), `status_codes` (`"200"` → count),
//! `grpc_status_codes` (gRPC runs: `"OK"` → count; a call is successful when its status is
//! `OK`) with `grpc_messages` (`"UNAVAILABLE"` → the first `grpc-message` of that status),
//! `error_kinds` (`"timeout"` → count) and `error_messages` (`"tls"` → the first message of
//! that kind, e.g. `invalid peer certificate: UnknownIssuer`), the target, achieved and request rates, three
//! percentile summaries (`latency_ms`, `service_time_ms`, `send_lag_ms`, see [`Percentiles`]:
//! min, mean, stdev, p50, p75, p90, p95, p99, p99.9, p99.99, max), the percentile `spectrum`,
//! the per-second `series`, the run's `config` ([`RunConfig`]), the `histograms` in
//! HdrHistogram V2 compressed base64 ([`Histograms`]), for distributed runs a per-worker
//! breakdown `workers` ([`WorkerSummary`]) and, for stepped runs (`meshperf search`,
//! `meshperf sweep`), `stepped` ([`Stepped`](crate::stepped::Stepped)): every step with its
//! SLO verdicts over the whole step and its second half, the answer (the highest rate that
//! passed and the lowest above it that failed) and the knee of the latency-throughput curve.
//! A stepped document's top level is one step's full result (`stepped.top_level_step`).
//!
//! # The window and the rates
//! Every request due (or sent) in the measured window is counted and in the histograms, also
//! when it finished after the window closed (`after_window` of them). The rates count what
//! finished inside the window, per second of the window (`duration_s`): `actual_qps` =
//! `achieved_rate` counts successful responses, `request_rate` every finished request. The
//! per-second `series` has one point per second of the window (its last point ends at the
//! window's end; a last piece shorter than half a second is part of the point before) and its
//! `rate` is the achieved rate of that second.
//!
//! # Compatibility
//! Readers ignore keys they do not know, so a newer meshperf's results still load;
//! `details.format_version` changes only when a key changes meaning.

mod config;
mod details;
mod merge;

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

pub use config::{LoadConfig, RunConfig, StageConfig, TargetConfig, TlsConfig};
pub use details::{
    Details, Histograms, Percentiles, SPECTRUM_TICKS, SeriesPoint, Spectrum, SpectrumPoint, WorkerSummary,
};
pub use merge::merge;

use crate::error::SmpError;

/// The SMP specification version this crate implements.
pub const SMP_VERSION: &str = "v0.6.1";
/// The generator name meshperf writes in `labels.generator`.
pub const GENERATOR: &str = "meshperf";
/// Version of the `details` layout; bumped only when a key changes meaning. Version 2:
/// `achieved_rate` (and `actual_qps`) count successful responses that finished inside the
/// window, `latency_ms` includes the unsent requests; `successful`, `after_window`,
/// `request_rate`, `latency_lower_bound` and `p95` are new. Version 1 documents are upgraded
/// when read.
pub const FORMAT_VERSION: u32 = 2;

/// Who ran a test and how to label it: what [`ResultDocument::from_report`] cannot learn
/// from the engine's report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunMeta {
    /// The test's name (`labels.name`); a profile's name or one the user gave.
    pub name: String,
    /// What ran the load: `meshperf` (see [`GENERATOR`]).
    pub generator: String,
    /// The generator a profile asked for (`fortio`, `wrk2`, `nighthawk`), recorded when it
    /// differs from the one that ran so the substitution is visible.
    pub requested_generator: Option<String>,
    /// Extra labels (a profile's labels, `--label k=v`); reserved keys win over them.
    pub labels: BTreeMap<String, String>,
    /// The result id to use; a new UUID v4 when `None`.
    pub id: Option<String>,
    /// The id of the SMP test config (profile) that ran.
    pub test_id: Option<String>,
    /// Where the full result can be fetched (a server URL), if anywhere.
    pub details_uri: Option<String>,
    /// The id of the SMP `ServiceMeshConfig` the test ran under.
    pub mesh_config_id: Option<String>,
    /// The id of the SMP `EnvironmentConfig` the test ran in.
    pub env_id: Option<String>,
}

impl RunMeta {
    /// Metadata for a test called `name`, run by meshperf.
    pub fn new(name: impl Into<String>) -> Self {
        RunMeta { name: name.into(), generator: GENERATOR.to_string(), ..RunMeta::default() }
    }
}

/// SMP `PerformanceTestResult.Latency`: the latency summary, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyMs {
    /// Lowest latency.
    pub min: f64,
    /// Mean latency.
    pub average: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Highest latency.
    pub max: f64,
}

/// A run's result: the SMP `PerformanceTestResult` fields plus meshperf's [`Details`].
/// The format is described in the [module documentation](self).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultDocument {
    /// SMP spec version, [`SMP_VERSION`].
    pub smp_version: String,
    /// This result's id.
    pub id: String,
    /// Labels: name, url(s), generator and the caller's labels.
    pub labels: BTreeMap<String, String>,
    /// When the measured window opened (UTC).
    #[serde(with = "rfc3339")]
    pub start_time: DateTime<Utc>,
    /// When the run ended (UTC).
    #[serde(with = "rfc3339")]
    pub end_time: DateTime<Utc>,
    /// Latency summary in milliseconds.
    pub latencies_ms: LatencyMs,
    /// Successful responses that finished inside the measured window, per second of it.
    pub actual_qps: f64,
    /// Where the full result lives, or empty.
    #[serde(default)]
    pub details_uri: String,
    /// The SMP test config (profile) id, or empty.
    #[serde(default)]
    pub test_id: String,
    /// The SMP service-mesh config id, or empty.
    #[serde(default)]
    pub mesh_config_id: String,
    /// The SMP environment config id, or empty.
    #[serde(default)]
    pub env_id: String,
    /// Everything else meshperf measured.
    pub details: Details,
}

/// The engine-independent inputs of a document: what a report or a merge provides.
pub(crate) struct Parts<'a> {
    pub(crate) stats: &'a loadgen::Stats,
    pub(crate) series: Vec<SeriesPoint>,
    pub(crate) config: RunConfig,
    pub(crate) started_at: DateTime<Utc>,
    pub(crate) ended_at: DateTime<Utc>,
    pub(crate) elapsed_s: f64,
    pub(crate) planned: Option<u64>,
    pub(crate) target_rate: Option<f64>,
    pub(crate) cancelled: bool,
    pub(crate) partial: bool,
    pub(crate) workers: Option<Vec<WorkerSummary>>,
}

impl ResultDocument {
    /// The document for an engine report.
    pub fn from_report(report: &loadgen::Report, meta: &RunMeta) -> Self {
        Self::from_parts(
            &Parts {
                stats: &report.stats,
                series: report.series.iter().map(SeriesPoint::from).collect(),
                config: RunConfig::from_plan(&report.plan),
                started_at: report.started_at,
                ended_at: report.ended_at,
                elapsed_s: report.elapsed.as_secs_f64(),
                planned: report.planned,
                target_rate: report.target_rate(),
                cancelled: report.cancelled,
                partial: false,
                workers: None,
            },
            meta,
        )
    }

    pub(crate) fn from_parts(parts: &Parts<'_>, meta: &RunMeta) -> Self {
        let details = Details::from_parts(parts);
        let latency = &details.latency_ms;
        let latencies_ms = LatencyMs {
            min: latency.min,
            average: latency.mean,
            p50: latency.p50,
            p90: latency.p90,
            p99: latency.p99,
            max: latency.max,
        };
        ResultDocument {
            smp_version: SMP_VERSION.to_string(),
            id: meta.id.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            labels: labels(meta, &parts.config),
            start_time: parts.started_at,
            end_time: parts.ended_at,
            latencies_ms,
            actual_qps: details.achieved_rate,
            details_uri: meta.details_uri.clone().unwrap_or_default(),
            test_id: meta.test_id.clone().unwrap_or_default(),
            mesh_config_id: meta.mesh_config_id.clone().unwrap_or_default(),
            env_id: meta.env_id.clone().unwrap_or_default(),
            details,
        }
    }

    /// The document as indented JSON (what `meshperf run --format json` writes).
    pub fn to_json_pretty(&self) -> String {
        // Every field is a string, number, map with string keys or sequence: cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The document as YAML.
    pub fn to_yaml(&self) -> String {
        serde_yaml::to_string(self).unwrap_or_default()
    }

    /// Reads a document written by [`to_json_pretty`](Self::to_json_pretty) (or its YAML form).
    pub fn from_json(text: &str) -> Result<Self, SmpError> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| SmpError::Syntax {
            what: "the result document".into(),
            format: "JSON",
            reason: e.to_string(),
        })?;
        Self::from_value(value)
    }

    /// Reads a document in JSON or YAML (YAML is a superset of JSON).
    pub fn from_text(text: &str) -> Result<Self, SmpError> {
        if text.trim_start().starts_with('{') {
            return Self::from_json(text);
        }
        let value: serde_json::Value = serde_yaml::from_str(text).map_err(|e| SmpError::Syntax {
            what: "the result document".into(),
            format: "YAML",
            reason: e.to_string(),
        })?;
        Self::from_value(value)
    }

    /// Reads a result file (JSON or YAML).
    pub fn load(path: &std::path::Path) -> Result<Self, SmpError> {
        let text = std::fs::read_to_string(path).map_err(|e| SmpError::read(path, e))?;
        Self::from_text(&text).map_err(|e| match e {
            SmpError::Syntax { format, reason, .. } => {
                SmpError::Syntax { what: path.display().to_string(), format, reason }
            }
            SmpError::Field { path: p, reason } => SmpError::Field { path: format!("{}: {p}", path.display()), reason },
            other => other,
        })
    }

    fn from_value(value: serde_json::Value) -> Result<Self, SmpError> {
        if !value.is_object() || value.get("details").is_none() {
            return Err(SmpError::field(
                "(top level)",
                "not a meshperf result document (no `details` object); \
                 give a file written by `meshperf run --format json`",
            ));
        }
        let mut doc: ResultDocument = serde_path_error(value)?;
        if doc.details.upgrade() {
            doc.actual_qps = doc.details.achieved_rate;
        }
        Ok(doc)
    }

    /// The test name from `labels.name` (empty when missing).
    pub fn name(&self) -> &str {
        self.labels.get("name").map_or("", String::as_str)
    }

    /// The first target URL from `labels.url` (empty when missing).
    pub fn url(&self) -> &str {
        self.labels.get("url").map_or("", String::as_str)
    }

    /// Whether the run made gRPC calls: it counted gRPC statuses, or its URL is `grpc://` or
    /// `grpcs://`.
    pub fn is_grpc(&self) -> bool {
        !self.details.grpc_status_codes.is_empty() || self.url().starts_with("grpc")
    }
}

/// Deserialises with the failing key's path in the message.
pub(crate) fn serde_path_error<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, SmpError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        SmpError::field(if path == "." { "(top level)".into() } else { path }, e.into_inner().to_string())
    })
}

fn labels(meta: &RunMeta, config: &RunConfig) -> BTreeMap<String, String> {
    let mut labels = meta.labels.clone();
    labels.insert("name".into(), meta.name.clone());
    let urls: Vec<&str> = config.targets.iter().map(|t| t.url.as_str()).collect();
    labels.insert("url".into(), urls.first().copied().unwrap_or_default().to_string());
    if urls.len() > 1 {
        labels.insert("urls".into(), urls.join(" "));
    }
    let generator = if meta.generator.is_empty() { GENERATOR } else { meta.generator.as_str() };
    labels.insert("generator".into(), generator.to_string());
    match &meta.requested_generator {
        Some(r) if r != generator => {
            labels.insert("requested_generator".into(), r.clone());
        }
        _ => {}
    }
    labels
}

/// RFC 3339 timestamps in UTC with a `Z`, microsecond precision; any offset is accepted on read.
pub(crate) mod rfc3339 {
    use super::*;

    pub(crate) fn serialize<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Micros, true))
    }

    pub(crate) fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| serde::de::Error::custom(format!("{text:?} is not an RFC 3339 time ({e})")))
    }
}

#[cfg(test)]
pub(crate) mod tests;
