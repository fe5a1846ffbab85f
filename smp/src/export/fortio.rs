//! fortio's `HTTPRunnerResults` JSON, the shape Meshery stores in `runner_results` and its UI
//! charts. Durations in the histogram are in **seconds**, as fortio writes them.
//!
//! Keys written: `RunType` ("HTTP", or "GRPC" for gRPC runs), `Labels` ("name -_- url", Meshery's convention),
//! `StartTime` (RFC 3339), `RequestedQPS` ("max" for closed loop, else the target rate as
//! text), `RequestedDuration` ("10s", or "exactly N calls"), `ActualQPS` (successful responses per second, as
//! `actual_qps`), `ActualDuration`
//! (nanoseconds), `NumThreads` and `SocketCount` (connections), `URL`, `Version`,
//! `DurationHistogram` {`Count`, `Min`, `Max`, `Sum`, `Avg`, `StdDev`, `Data`
//! [{`Start`, `End`, `Percent`, `Count`}], `Percentiles` [{`Percentile`, `Value`}] for 50, 75,
//! 90, 95, 99, 99.9}, `RetCodes` ({"200": n}, for gRPC runs {"OK": n, "UNAVAILABLE": m}, and
//! "-1" for requests that failed without a response, as fortio counts them), `Exactly`, `Jitter`, `Uniform`, `RunID`, `AbortOn`,
//! `AccessLoggerInfo`, `ID`, `load-generator` ("meshperf"), `kubernetes` and `detected-meshes`
//! (null). Response `Sizes` are not written: meshperf counts bytes, not a size histogram.

use serde_json::{Map, Value, json};

use crate::result::{LoadConfig, ResultDocument};

/// The percentiles Meshery asks fortio for (mesheryctl reads 50, 90, 99 and the last one), and p95.
const PERCENTILES: [f64; 6] = [50.0, 75.0, 90.0, 95.0, 99.0, 99.9];

/// The document as fortio `HTTPRunnerResults` JSON.
pub fn fortio(doc: &ResultDocument) -> Value {
    let d = &doc.details;
    let lat = &d.latency_ms;
    let secs = |ms: f64| ms / 1000.0;
    let mut codes = Map::new();
    for (code, n) in d.status_codes.iter().chain(&d.grpc_status_codes) {
        codes.insert(code.clone(), json!(n));
    }
    if d.errors > 0 {
        codes.insert("-1".into(), json!(d.errors));
    }
    let requested_qps = match &d.config.load {
        LoadConfig::Closed => "max".to_string(),
        LoadConfig::Constant { rate } => trim_float(*rate),
        _ => d.target_rate.map_or_else(|| "max".to_string(), trim_float),
    };
    let requested_duration = match (d.config.duration_s, d.config.max_requests) {
        (_, Some(n)) => format!("exactly {n} calls"),
        (Some(s), None) => format!("{}s", trim_float(s)),
        (None, None) => format!("{}s", trim_float(d.duration_s)),
    };
    let url = doc.url();
    let percentiles: Vec<Value> = match doc.stats() {
        Ok(stats) => PERCENTILES
            .iter()
            .map(|p| json!({"Percentile": p, "Value": stats.latency.percentile_us(*p) as f64 / 1e6}))
            .collect(),
        Err(_) => Vec::new(),
    };
    json!({
        "RunType": if doc.is_grpc() { "GRPC" } else { "HTTP" },
        "Labels": format!("{} -_- {url}", doc.name()),
        "StartTime": doc.start_time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "RequestedQPS": requested_qps,
        "RequestedDuration": requested_duration,
        "ActualQPS": doc.actual_qps,
        "ActualDuration": (d.duration_s * 1e9).round() as u64,
        "NumThreads": d.config.connections,
        "Version": format!("meshperf {}", d.generator_version),
        "DurationHistogram": {
            "Count": lat.count,
            "Min": secs(lat.min),
            "Max": secs(lat.max),
            "Sum": secs(lat.mean) * lat.count as f64,
            "Avg": secs(lat.mean),
            "StdDev": secs(lat.stdev),
            "Data": data(doc),
            "Percentiles": percentiles,
        },
        "Exactly": d.config.max_requests.unwrap_or(0),
        "Jitter": false,
        "Uniform": false,
        "RunID": 0,
        "AbortOn": 0,
        "AccessLoggerInfo": "",
        "ID": doc.id,
        "RetCodes": codes,
        "URL": url,
        "SocketCount": d.config.connections,
        "load-generator": doc.labels.get("generator").map_or("meshperf", String::as_str),
        "kubernetes": Value::Null,
        "detected-meshes": Value::Null,
    })
}

/// The latency histogram as fortio buckets: boundaries 1..9 × 10^k µs, non-empty buckets only,
/// first `Start` = min and last `End` = max, `Percent` cumulative.
fn data(doc: &ResultDocument) -> Vec<Value> {
    let Ok(stats) = doc.stats() else { return Vec::new() };
    let h = &stats.latency;
    let total = h.len();
    if total == 0 {
        return Vec::new();
    }
    let (min, max) = (h.min_us(), h.max_us());
    let mut out = Vec::new();
    let mut cumulative = 0u64;
    let mut current: Option<(u64, u64, u64)> = None; // (start, end, count)
    for (value, count) in h.buckets() {
        let end = boundary_above(value);
        match &mut current {
            Some((_, e, c)) if *e == end => *c += count,
            _ => {
                if let Some(b) = current.take() {
                    cumulative += b.2;
                    out.push(bucket(b, cumulative, total, min, max));
                }
                current = Some((boundary_below(end), end, count));
            }
        }
    }
    if let Some(b) = current {
        cumulative += b.2;
        out.push(bucket(b, cumulative, total, min, max));
    }
    out
}

fn bucket((start, end, count): (u64, u64, u64), cumulative: u64, total: u64, min: u64, max: u64) -> Value {
    json!({
        "Start": start.max(min) as f64 / 1e6,
        "End": end.min(max) as f64 / 1e6,
        "Percent": 100.0 * cumulative as f64 / total as f64,
        "Count": count,
    })
}

/// The smallest boundary d × 10^k (d in 1..=9) at or above `v` µs.
fn boundary_above(v: u64) -> u64 {
    let mut scale = 1u64;
    while v > 9 * scale {
        scale *= 10;
    }
    v.div_ceil(scale).max(1) * scale
}

/// The boundary just below `b` (itself a boundary).
fn boundary_below(b: u64) -> u64 {
    let mut scale = 1u64;
    while b > 9 * scale {
        scale *= 10;
    }
    let d = b / scale;
    if d > 1 { (d - 1) * scale } else { 9 * scale / 10 }
}

/// A rate or length without a needless `.0`.
fn trim_float(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 { format!("{}", x as i64) } else { format!("{x}") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::tests::sample;

    #[test]
    fn boundaries() {
        assert_eq!(boundary_above(0), 1);
        assert_eq!(boundary_above(7), 7);
        assert_eq!(boundary_above(10), 10);
        assert_eq!(boundary_above(11), 20);
        assert_eq!(boundary_above(999), 1000);
        assert_eq!(boundary_above(1001), 2000);
        assert_eq!(boundary_below(2000), 1000);
        assert_eq!(boundary_below(1000), 900);
        assert_eq!(boundary_below(1), 0);
    }

    #[test]
    fn runner_results_shape_meshery_reads() {
        let v = fortio(&sample());
        assert_eq!(v["RunType"], "HTTP");
        assert_eq!(v["Labels"], "checkout -_- http://127.0.0.1:8080/a");
        assert_eq!(v["RequestedQPS"], "100");
        assert_eq!(v["RequestedDuration"], "10s");
        assert_eq!(v["ActualDuration"], 10_000_000_000u64);
        assert_eq!(v["NumThreads"], 4);
        assert_eq!(v["RetCodes"]["200"], 980);
        assert_eq!(v["RetCodes"]["-1"], 10);
        assert_eq!(v["load-generator"], "meshperf");
        assert!(v["StartTime"].as_str().unwrap().starts_with("2026-03-17T14:53:05"));
        let h = &v["DurationHistogram"];
        assert_eq!(h["Count"], 1000);
        assert_eq!(h["Min"], 0.001);
        assert!((h["Avg"].as_f64().unwrap() - 0.5005).abs() < 0.001);
        let pcts = h["Percentiles"].as_array().unwrap();
        assert_eq!(pcts.len(), 6);
        assert_eq!(pcts[3]["Percentile"], 95.0);
        assert_eq!(pcts[5]["Percentile"], 99.9);
        assert!((pcts[0]["Value"].as_f64().unwrap() - 0.5).abs() < 0.001);
        let data = h["Data"].as_array().unwrap();
        let counted: u64 = data.iter().map(|b| b["Count"].as_u64().unwrap()).sum();
        assert_eq!(counted, 1000);
        assert_eq!(data.last().unwrap()["Percent"], 100.0);
        assert_eq!(data[0]["Start"], 0.001);
        assert_eq!(data.last().unwrap()["End"], h["Max"]);
        assert!(data.windows(2).all(|w| w[0]["End"].as_f64() <= w[1]["Start"].as_f64()));
        assert!(data.len() < 40, "{} buckets", data.len());
    }

    #[test]
    fn grpc_runs_count_by_grpc_status() {
        let doc = crate::ResultDocument::from_report(&crate::testutil::grpc_report(), &crate::RunMeta::new("g"));
        let v = fortio(&doc);
        assert_eq!(v["RunType"], "GRPC");
        assert_eq!(
            (&v["RetCodes"]["OK"], &v["RetCodes"]["UNAVAILABLE"], &v["RetCodes"]["-1"]),
            (&json!(980), &json!(10), &json!(10))
        );
    }

    #[test]
    fn closed_loop_and_count_bounded_runs() {
        let mut doc = sample();
        doc.details.config.load = LoadConfig::Closed;
        doc.details.config.max_requests = Some(500);
        let v = fortio(&doc);
        assert_eq!(v["RequestedQPS"], "max");
        assert_eq!(v["RequestedDuration"], "exactly 500 calls");
        assert_eq!(v["Exactly"], 500);
    }
}
