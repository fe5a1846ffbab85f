//! Prometheus metrics at `/metrics`, in the text exposition format.
//!
//! - `meshperf_http_requests_total{method,route,status}`: requests by route template.
//! - `meshperf_http_request_duration_seconds_{sum,count}{route}`: time spent answering.
//! - `meshperf_runs{state}`: runs in the store by state.
//! - `meshperf_runs_active`, `meshperf_runs_queued`: runs executing and waiting now.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;

/// Request counters, keyed by labels.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    durations: Mutex<BTreeMap<String, (f64, u64)>>,
}

impl Metrics {
    /// Counts one answered request.
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((method.to_string(), route.to_string(), status)).or_default() += 1;
        }
        if let Ok(mut m) = self.durations.lock() {
            let e = m.entry(route.to_string()).or_default();
            e.0 += seconds;
            e.1 += 1;
        }
    }

    /// The HTTP part of the exposition.
    pub fn render_http(&self, out: &mut String) {
        out.push_str("# HELP meshperf_http_requests_total HTTP requests answered.\n");
        out.push_str("# TYPE meshperf_http_requests_total counter\n");
        if let Ok(m) = self.requests.lock() {
            for ((method, route, status), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "meshperf_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}",
                    escape(route)
                );
            }
        }
        out.push_str("# HELP meshperf_http_request_duration_seconds Time spent answering HTTP requests.\n");
        out.push_str("# TYPE meshperf_http_request_duration_seconds summary\n");
        if let Ok(m) = self.durations.lock() {
            for (route, (sum, count)) in m.iter() {
                let route = escape(route);
                let _ = writeln!(out, "meshperf_http_request_duration_seconds_sum{{route=\"{route}\"}} {sum}");
                let _ = writeln!(out, "meshperf_http_request_duration_seconds_count{{route=\"{route}\"}} {count}");
            }
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Middleware: counts every request by its route template (never the raw path, which would
/// let clients create unbounded label sets).
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map_or("(unmatched)", |m| m.as_str()).to_string();
    let method = req.method().to_string();
    let start = Instant::now();
    let resp = next.run(req).await;
    state.metrics.observe(&method, &route, resp.status().as_u16(), start.elapsed().as_secs_f64());
    resp
}

/// Prometheus metrics, in the text exposition format.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",tag = "system",
    responses((status = 200, description = "Request counters by route template, and runs by state",
        content_type = "text/plain", body = String))
)]
pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut out = String::new();
    state.metrics.render_http(&mut out);
    out.push_str("# HELP meshperf_runs Runs in the store by state.\n# TYPE meshperf_runs gauge\n");
    match state.store.count_runs_by_state().await {
        Ok(counts) => {
            for (s, n) in counts {
                let _ = writeln!(out, "meshperf_runs{{state=\"{}\"}} {n}", escape(&s));
            }
        }
        Err(e) => tracing::warn!(error = %e, "counting runs for /metrics failed"),
    }
    let (active, queued) = state.pipeline.registry.load();
    let _ = writeln!(
        out,
        "# HELP meshperf_runs_active Runs executing now.\n# TYPE meshperf_runs_active gauge\nmeshperf_runs_active {active}"
    );
    let _ = writeln!(
        out,
        "# HELP meshperf_runs_queued Runs waiting for a slot.\n# TYPE meshperf_runs_queued gauge\nmeshperf_runs_queued {queued}"
    );
    ([(http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], out).into_response()
}
