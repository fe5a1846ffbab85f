//! Rebuilding the engine's statistics from documents, and merging documents exactly.

use loadgen::grpc::Code;
use loadgen::{ErrorKind, LatencyHistogram, Stats};

use super::{Parts, ResultDocument, RunMeta, SeriesPoint, WorkerSummary};
use crate::error::SmpError;

impl ResultDocument {
    /// The engine statistics this document was made from: histograms decoded from
    /// `details.histograms`, counters from `details`. Merging these is exact.
    pub fn stats(&self) -> Result<Stats, SmpError> {
        let d = &self.details;
        let hist = |name: &str, text: &str| {
            LatencyHistogram::from_base64(text)
                .map_err(|e| SmpError::field(format!("details.histograms.{name}"), e.to_string()))
        };
        let mut s = Stats::new();
        s.latency = hist("latency", &d.histograms.latency)?;
        s.service = hist("service_time", &d.histograms.service_time)?;
        s.send_lag = hist("send_lag", &d.histograms.send_lag)?;
        s.sent = d.sent;
        s.responses = d.responses;
        s.unsent = d.unsent;
        s.after_window = d.after_window;
        s.after_window_successful = d.after_window_successful;
        s.bytes_sent = d.bytes_sent;
        s.bytes_received = d.bytes_received;
        for (code, n) in &d.status_codes {
            let status: u16 = code.parse().map_err(|_| {
                SmpError::field(format!("details.status_codes.{code}"), "is not a status code such as \"200\"")
            })?;
            s.add_status(status, *n);
        }
        for (name, n) in &d.grpc_status_codes {
            let code = Code::from_name(name).ok_or_else(|| {
                SmpError::field(format!("details.grpc_status_codes.{name}"), "is not a gRPC status such as \"OK\"")
            })?;
            s.add_grpc(code, *n);
        }
        for (name, message) in &d.grpc_messages {
            if let Some(code) = Code::from_name(name) {
                s.grpc_messages.keep(code, message);
            }
        }
        let kind_of = |name: &str| ErrorKind::ALL.into_iter().find(|k| k.as_str() == name).unwrap_or(ErrorKind::Other);
        for (kind, n) in &d.error_kinds {
            s.errors[kind_of(kind) as usize] += n;
        }
        for (kind, message) in &d.error_messages {
            s.messages.keep(kind_of(kind), message);
        }
        Ok(s)
    }

    fn worker_summary(&self) -> WorkerSummary {
        let d = &self.details;
        WorkerSummary {
            id: self.id.clone(),
            worker: self.labels.get("worker").cloned().unwrap_or_else(|| self.name().to_string()),
            start_time: self.start_time,
            end_time: self.end_time,
            requests: d.requests,
            errors: d.errors,
            achieved_rate: d.achieved_rate,
            latency_ms: d.latency_ms,
            partial: d.partial || d.cancelled,
        }
    }
}

/// Merges the results of several workers (or runs) into one document.
///
/// Exact where it can be: histograms merge bucket by bucket and counters add, so the merged
/// percentiles equal those of one histogram fed every value. The window spans the earliest
/// start to the latest end and its length is the longest worker's; target rates and planned
/// counts add when every part has one. The per-second series adds point by point (the *i*-th
/// point of each part); its `p50_ms` and `p99_ms` are the highest of the parts', an upper bound.
/// `details.workers` lists one [`WorkerSummary`] per part; `partial` and `cancelled` are set if
/// any part's is. The configuration is the first part's with connections and threads added.
pub fn merge(docs: &[ResultDocument], meta: &RunMeta) -> Result<ResultDocument, SmpError> {
    let Some(first) = docs.first() else {
        return Err(SmpError::field("results", "nothing to merge; give at least one result"));
    };
    let mut stats = Stats::new();
    for (i, doc) in docs.iter().enumerate() {
        let s = doc.stats().map_err(|e| match e {
            SmpError::Field { path, reason } => SmpError::field(format!("results[{i}].{path}"), reason),
            other => other,
        })?;
        stats.merge(&s);
    }
    let mut config = first.details.config.clone();
    config.connections = docs.iter().map(|d| d.details.config.connections).sum();
    config.threads = docs.iter().map(|d| d.details.config.threads).sum();
    config.shard = loadgen::Shard::default();
    let sum_all =
        |f: &dyn Fn(&ResultDocument) -> Option<f64>| -> Option<f64> { docs.iter().map(f).sum::<Option<f64>>() };
    let parts = Parts {
        stats: &stats,
        series: merge_series(docs),
        config,
        started_at: docs.iter().map(|d| d.start_time).min().unwrap_or(first.start_time),
        ended_at: docs.iter().map(|d| d.end_time).max().unwrap_or(first.end_time),
        elapsed_s: docs.iter().map(|d| d.details.duration_s).fold(0.0, f64::max),
        planned: docs.iter().map(|d| d.details.planned).sum(),
        target_rate: sum_all(&|d| d.details.target_rate),
        cancelled: docs.iter().any(|d| d.details.cancelled),
        partial: docs.iter().any(|d| d.details.partial),
        workers: Some(docs.iter().map(ResultDocument::worker_summary).collect()),
    };
    let mut meta = meta.clone();
    if meta.test_id.is_none() && !first.test_id.is_empty() {
        meta.test_id = Some(first.test_id.clone());
    }
    Ok(ResultDocument::from_parts(&parts, &meta))
}

fn merge_series(docs: &[ResultDocument]) -> Vec<SeriesPoint> {
    let len = docs.iter().map(|d| d.details.series.len()).max().unwrap_or(0);
    (0..len)
        .map(|i| {
            let points: Vec<&SeriesPoint> = docs.iter().filter_map(|d| d.details.series.get(i)).collect();
            let target: Option<f64> = if points.iter().all(|p| p.target_rate.is_some()) {
                points.iter().map(|p| p.target_rate).sum()
            } else {
                None
            };
            SeriesPoint {
                second: points.iter().map(|p| p.second).fold(0.0, f64::max),
                requests: points.iter().map(|p| p.requests).sum(),
                errors: points.iter().map(|p| p.errors).sum(),
                rate: points.iter().map(|p| p.rate).sum(),
                target_rate: target,
                p50_ms: points.iter().map(|p| p.p50_ms).fold(0.0, f64::max),
                p99_ms: points.iter().map(|p| p.p99_ms).fold(0.0, f64::max),
            }
        })
        .collect()
}
