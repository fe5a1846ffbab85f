//! `details`: what meshperf measured beyond SMP's summary.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use loadgen::{LatencyHistogram, SecondStats, Stats};
use serde::{Deserialize, Serialize};

use super::{FORMAT_VERSION, Parts, RunConfig};
use crate::stepped::Stepped;

/// Steps per halving of the tail in the stored percentile spectrum (HdrHistogram's default 5).
pub const SPECTRUM_TICKS: u32 = 5;

/// The `details` object of a [`ResultDocument`](super::ResultDocument).
///
/// Counting rules: every request that was sent ends as exactly one *response* (any status
/// code, counted in `status_codes`, or a gRPC call's answer, counted by its gRPC status in
/// `grpc_status_codes`) or one *error* (no usable response, counted in `error_kinds`);
/// `requests = responses + errors`. A response is *successful* when its HTTP status is 2xx or
/// 3xx, or its gRPC status is `OK`.
///
/// The window: requests due (or sent, in closed loop) inside the measured window are all
/// counted and in the histograms, including those that finished after the window closed
/// (`after_window`); the rates count only what finished inside it, per second of the window
/// (`duration_s`), so a slow target does not stretch or inflate them.
///
/// Open-loop requests that were due but never sent before the window closed are `unsent`:
/// they are neither responses nor errors, and each is in `latency_ms` (and the latency
/// histogram) at its age when the window closed. That age is less than the latency it would
/// have had, so with `unsent > 0` the latency figures are lower bounds (`latency_lower_bound`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Details {
    /// Version of this layout, [`FORMAT_VERSION`](super::FORMAT_VERSION).
    pub format_version: u32,
    /// The meshperf version that produced the result.
    pub generator_version: String,
    /// Length of the measured window as it ran, seconds.
    pub duration_s: f64,
    /// The run was cancelled before its planned end.
    pub cancelled: bool,
    /// Some of the load is missing (a distributed run lost a worker).
    #[serde(default)]
    pub partial: bool,
    /// Requests finished: responses plus errors (including those that finished after the window).
    pub requests: u64,
    /// Responses received, whatever their status code.
    pub responses: u64,
    /// Responses with a 2xx or 3xx status, or gRPC calls answered `OK`.
    #[serde(default)]
    pub successful: u64,
    /// Requests that failed without a response.
    pub errors: u64,
    /// Of `requests`, those that finished after the window closed: in the counts and the
    /// histograms, not in the rates.
    #[serde(default)]
    pub after_window: u64,
    /// Of `after_window`, the successful responses.
    #[serde(default)]
    pub after_window_successful: u64,
    /// Requests sent.
    pub sent: u64,
    /// Open loop: requests due in the window that were never sent; each is in `latency_ms` at
    /// its age when the window closed.
    pub unsent: u64,
    /// Requests the schedule planned for the window (open loop with a duration).
    pub planned: Option<u64>,
    /// Responses by status code, e.g. `"200": 1000`; `"0"` collects codes outside 100..600.
    pub status_codes: BTreeMap<String, u64>,
    /// gRPC runs: calls by gRPC status name, e.g. `"OK": 990, "UNAVAILABLE": 10` (absent for
    /// HTTP runs). A call whose response had no `grpc-status` is counted under the code gRPC
    /// derives from its HTTP status (a 503 is `UNAVAILABLE`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub grpc_status_codes: BTreeMap<String, u64>,
    /// gRPC runs: the first `grpc-message` of each non-OK status, e.g. `"UNAVAILABLE"` →
    /// `"shedding load"` (one per status, not one per call; absent when none).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub grpc_messages: BTreeMap<String, String>,
    /// Errors by kind: `connect_refused`, `connect`, `timeout`, `reset`, `tls`, `protocol`, `other`.
    pub error_kinds: BTreeMap<String, u64>,
    /// The first message seen for each error kind, e.g. `"tls"` → `"invalid peer certificate:
    /// UnknownIssuer"`: why requests failed (one message per kind, not one per request).
    #[serde(default)]
    pub error_messages: BTreeMap<String, String>,
    /// The average target rate over the window, requests per second (open loop), else `null`.
    pub target_rate: Option<f64>,
    /// Successful responses that finished inside the window, per second of the window: the
    /// achieved rate (equals `actual_qps`).
    pub achieved_rate: f64,
    /// Requests (responses and errors) that finished inside the window, per second of it.
    #[serde(default)]
    pub request_rate: f64,
    /// Request bytes written.
    pub bytes_sent: u64,
    /// Response bytes read.
    pub bytes_received: u64,
    /// Latency: from the due time (open loop) or the send (closed loop), ms; unsent requests
    /// are in it at their age when the window closed.
    pub latency_ms: Percentiles,
    /// The latency figures are lower bounds: some requests were never sent (`unsent > 0`) and
    /// are counted at their age when the window closed.
    #[serde(default)]
    pub latency_lower_bound: bool,
    /// Service time: from the actual send to the end of the response, ms.
    pub service_time_ms: Percentiles,
    /// How late the generator sent each request against its due time (open loop), ms.
    pub send_lag_ms: Percentiles,
    /// The percentile spectrum of latency and service time.
    pub spectrum: Spectrum,
    /// One point per second of the window (the last one ends at the window's end; a run of
    /// 5 s has 5 points); nothing that finished after the window is in it.
    pub series: Vec<SeriesPoint>,
    /// The run's configuration.
    pub config: RunConfig,
    /// The three histograms, so results can be merged and re-analysed.
    pub histograms: Histograms,
    /// Distributed runs: one summary per worker; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers: Option<Vec<WorkerSummary>>,
    /// Stepped runs (`meshperf search`, `meshperf sweep`): every step, the answer and the
    /// knee; the rest of the document is one step's result ([`Stepped`]). Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stepped: Option<Box<Stepped>>,
}

impl Details {
    pub(super) fn from_parts(p: &Parts<'_>) -> Self {
        let s = p.stats;
        let per_second = |n: u64| if p.elapsed_s > 0.0 { n as f64 / p.elapsed_s } else { 0.0 };
        Details {
            format_version: FORMAT_VERSION,
            generator_version: env!("CARGO_PKG_VERSION").to_string(),
            duration_s: p.elapsed_s,
            cancelled: p.cancelled,
            partial: p.partial,
            requests: s.finished(),
            responses: s.responses,
            successful: s.successful(),
            errors: s.error_total(),
            after_window: s.after_window,
            after_window_successful: s.after_window_successful,
            sent: s.sent,
            unsent: s.unsent,
            planned: p.planned,
            status_codes: s.status_codes().into_iter().map(|(c, n)| (c.to_string(), n)).collect(),
            grpc_status_codes: s.grpc_codes().into_iter().map(|(c, n)| (c.as_str().to_string(), n)).collect(),
            grpc_messages: s.grpc_messages.iter().map(|(c, m)| (c.as_str().to_string(), m.to_string())).collect(),
            error_kinds: s.error_kinds().into_iter().map(|(k, n)| (k.as_str().to_string(), n)).collect(),
            error_messages: s.messages.iter().map(|(k, m)| (k.as_str().to_string(), m.to_string())).collect(),
            target_rate: p.target_rate,
            achieved_rate: per_second(s.successful_in_window()),
            request_rate: per_second(s.finished_in_window()),
            bytes_sent: s.bytes_sent,
            bytes_received: s.bytes_received,
            latency_ms: Percentiles::from_histogram(&s.latency),
            latency_lower_bound: s.unsent > 0,
            service_time_ms: Percentiles::from_histogram(&s.service),
            send_lag_ms: Percentiles::from_histogram(&s.send_lag),
            spectrum: Spectrum {
                latency_ms: SpectrumPoint::from_histogram(&s.latency),
                service_time_ms: SpectrumPoint::from_histogram(&s.service),
            },
            series: p.series.clone(),
            config: p.config.clone(),
            histograms: Histograms::from_stats(s),
            workers: p.workers.clone(),
            stepped: None,
        }
    }
}

impl Details {
    /// Fills what a document of an older `format_version` lacks (successful responses, the
    /// request rate, p95) from what it has, and recomputes its achieved rate as successful
    /// responses per second.
    /// Returns whether anything changed.
    pub(super) fn upgrade(&mut self) -> bool {
        if self.format_version >= FORMAT_VERSION {
            return false;
        }
        self.successful = self
            .status_codes
            .iter()
            .filter(|(c, _)| c.parse::<u16>().is_ok_and(|c| (200..400).contains(&c)))
            .map(|(_, n)| n)
            .sum();
        self.request_rate = self.achieved_rate;
        self.achieved_rate = if self.duration_s > 0.0 { self.successful as f64 / self.duration_s } else { 0.0 };
        for (p, h) in [
            (&mut self.latency_ms, &self.histograms.latency),
            (&mut self.service_time_ms, &self.histograms.service_time),
            (&mut self.send_lag_ms, &self.histograms.send_lag),
        ] {
            if let Ok(h) = LatencyHistogram::from_base64(h) {
                *p = Percentiles::from_histogram(&h);
            }
        }
        self.latency_lower_bound = self.unsent > 0;
        self.format_version = FORMAT_VERSION;
        true
    }
}

/// A percentile summary of one histogram, in milliseconds (recorded in whole microseconds).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Values recorded.
    pub count: u64,
    /// Lowest value.
    pub min: f64,
    /// Mean.
    pub mean: f64,
    /// Standard deviation.
    pub stdev: f64,
    /// Median.
    pub p50: f64,
    /// 75th percentile.
    pub p75: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 95th percentile.
    #[serde(default)]
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p99_9: f64,
    /// 99.99th percentile.
    pub p99_99: f64,
    /// Highest value.
    pub max: f64,
}

/// Rounds to six decimals (nanoseconds for milliseconds), for readable and stable output.
pub(crate) fn round6(x: f64) -> f64 {
    if x.is_finite() { (x * 1e6).round() / 1e6 } else { 0.0 }
}

/// Microseconds to milliseconds.
pub(crate) fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

impl Percentiles {
    /// The summary of a microsecond histogram.
    pub fn from_histogram(h: &LatencyHistogram) -> Self {
        Percentiles {
            count: h.len(),
            min: ms(h.min_us()),
            mean: round6(h.mean_us() / 1000.0),
            stdev: round6(h.stdev_us() / 1000.0),
            p50: ms(h.percentile_us(50.0)),
            p75: ms(h.percentile_us(75.0)),
            p90: ms(h.percentile_us(90.0)),
            p95: ms(h.percentile_us(95.0)),
            p99: ms(h.percentile_us(99.0)),
            p99_9: ms(h.percentile_us(99.9)),
            p99_99: ms(h.percentile_us(99.99)),
            max: ms(h.max_us()),
        }
    }
}

/// The percentile spectrum (HdrHistogram's percentile distribution) of two histograms.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Spectrum {
    /// Latency spectrum.
    pub latency_ms: Vec<SpectrumPoint>,
    /// Service-time spectrum.
    pub service_time_ms: Vec<SpectrumPoint>,
}

/// One point of a percentile spectrum.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SpectrumPoint {
    /// Percentile, 0 to 100.
    pub percentile: f64,
    /// Value at that percentile, ms.
    pub value: f64,
}

impl SpectrumPoint {
    /// The spectrum of a histogram, [`SPECTRUM_TICKS`] steps per halving of the tail.
    pub fn from_histogram(h: &LatencyHistogram) -> Vec<Self> {
        h.spectrum(SPECTRUM_TICKS)
            .into_iter()
            .map(|(percentile, us)| SpectrumPoint { percentile: round6(percentile), value: ms(us) })
            .collect()
    }
}

/// One point of the per-second series.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SeriesPoint {
    /// Seconds since the window opened, at the end of the interval.
    pub second: f64,
    /// Requests finished in the interval.
    pub requests: u64,
    /// Errors in the interval.
    pub errors: u64,
    /// Successful responses per second over the interval (the achieved rate).
    pub rate: f64,
    /// Mean target rate over the interval (open loop), else `null`.
    pub target_rate: Option<f64>,
    /// Median latency in the interval, ms.
    pub p50_ms: f64,
    /// 99th-percentile latency in the interval, ms.
    pub p99_ms: f64,
}

impl From<&SecondStats> for SeriesPoint {
    fn from(s: &SecondStats) -> Self {
        SeriesPoint {
            second: s.second,
            requests: s.requests,
            errors: s.errors,
            rate: s.rate,
            target_rate: s.target_rate,
            p50_ms: ms(s.p50_us),
            p99_ms: ms(s.p99_us),
        }
    }
}

/// The histograms, each in HdrHistogram's V2 compressed encoding as standard base64
/// (`HISTFAAA...`), microsecond unit, 3 significant digits, 1 µs to 1 h. Decode with
/// `loadgen::LatencyHistogram::from_base64` or any HdrHistogram library.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Histograms {
    /// Unit of the recorded values: `us`.
    pub unit: String,
    /// Encoding of the values: `hdr-v2-deflate-base64`.
    pub encoding: String,
    /// Latency histogram.
    pub latency: String,
    /// Service-time histogram.
    pub service_time: String,
    /// Send-lag histogram.
    pub send_lag: String,
}

impl Histograms {
    /// The encoded histograms of `stats`.
    pub fn from_stats(s: &Stats) -> Self {
        Histograms {
            unit: "us".into(),
            encoding: "hdr-v2-deflate-base64".into(),
            latency: s.latency.to_base64(),
            service_time: s.service.to_base64(),
            send_lag: s.send_lag.to_base64(),
        }
    }
}

/// One worker's share of a distributed run (`details.workers`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerSummary {
    /// The worker's result id.
    pub id: String,
    /// The worker's name or address (`labels.worker`, else its test name).
    pub worker: String,
    /// When its window opened.
    #[serde(with = "super::rfc3339")]
    pub start_time: DateTime<Utc>,
    /// When it ended.
    #[serde(with = "super::rfc3339")]
    pub end_time: DateTime<Utc>,
    /// Requests it finished.
    pub requests: u64,
    /// Its errors.
    pub errors: u64,
    /// Its achieved rate: successful responses per second.
    pub achieved_rate: f64,
    /// Its latency summary, ms.
    pub latency_ms: Percentiles,
    /// Its result is incomplete (cancelled, partial, or the worker was lost).
    pub partial: bool,
}
