//! Tests of the result document: contents, round trips, schema, merge.

use super::*;
use crate::testutil;

pub(crate) fn sample() -> ResultDocument {
    let mut meta = RunMeta::new("checkout");
    meta.id = Some("5f0c1a52-0000-4000-8000-000000000001".into());
    meta.requested_generator = Some("fortio".into());
    meta.labels.insert("team".into(), "payments".into());
    meta.labels.insert("generator".into(), "spoofed".into());
    ResultDocument::from_report(&testutil::report(), &meta)
}

#[test]
fn top_level_is_a_real_smp_result() {
    let doc = sample();
    assert_eq!(doc.smp_version, SMP_VERSION);
    assert_eq!(doc.id, "5f0c1a52-0000-4000-8000-000000000001");
    assert_eq!(doc.labels["name"], "checkout");
    assert_eq!(doc.labels["url"], "http://127.0.0.1:8080/a");
    assert_eq!(doc.labels["urls"], "http://127.0.0.1:8080/a http://127.0.0.1:8080/b");
    assert_eq!(doc.labels["generator"], "meshperf");
    assert_eq!(doc.labels["requested_generator"], "fortio");
    assert_eq!(doc.labels["team"], "payments");
    // latencies in ms: values 1..=1000 ms
    assert_eq!(doc.latencies_ms.min, 1.0);
    assert!((doc.latencies_ms.p50 - 500.0).abs() <= 0.5, "{}", doc.latencies_ms.p50);
    assert!((doc.latencies_ms.p99 - 990.0).abs() <= 1.0, "{}", doc.latencies_ms.p99);
    assert!((doc.latencies_ms.max - 1000.0).abs() <= 1.0);
    assert!((doc.latencies_ms.average - 500.5).abs() < 0.5);
    // Achieved: successful responses (980 × 200) per second of the 10 s window.
    assert!((doc.actual_qps - 98.0).abs() < 1e-9);
    assert!((doc.details.request_rate - 100.0).abs() < 1e-9);
    for empty in [&doc.details_uri, &doc.test_id, &doc.mesh_config_id, &doc.env_id] {
        assert!(empty.is_empty());
    }
}

#[test]
fn details_counts_and_config() {
    let d = sample().details;
    assert_eq!(d.requests, 1000);
    assert_eq!(d.responses, 990);
    assert_eq!(d.errors, 10);
    assert_eq!((d.successful, d.after_window, d.latency_lower_bound), (980, 0, false));
    assert!(d.latency_ms.p90 <= d.latency_ms.p95 && d.latency_ms.p95 <= d.latency_ms.p99);
    assert!((d.latency_ms.p95 - 950.0).abs() <= 1.0, "{}", d.latency_ms.p95);
    assert_eq!(d.status_codes["200"], 980);
    assert_eq!(d.status_codes["503"], 10);
    assert_eq!(d.error_kinds["timeout"], 10);
    assert_eq!(d.target_rate, Some(100.0));
    assert_eq!(d.series.len(), 10);
    assert_eq!(d.series[0].requests, 100);
    assert!(d.spectrum.latency_ms.len() > 10);
    assert_eq!(d.spectrum.latency_ms.last().unwrap().percentile, 100.0);
    assert_eq!(d.config.targets[0].headers[0], ("authorization".into(), "<redacted>".into()));
    assert_eq!(d.config.targets[0].headers[1], ("x-test".into(), "yes".into()));
    assert_eq!(d.config.load, LoadConfig::Constant { rate: 100.0 });
    assert_eq!(d.config.duration_s, Some(10.0));
    assert!((d.service_time_ms.p50 - 250.0).abs() <= 0.5);
}

#[test]
fn json_round_trip_and_times_in_utc() {
    let doc = sample();
    let json = doc.to_json_pretty();
    assert!(json.contains("\"start_time\": \"2026-03-17T14:53:05.000000Z\""), "{json}");
    let back = ResultDocument::from_json(&json).unwrap();
    assert_eq!(back, doc);
    let yaml = doc.to_yaml();
    assert_eq!(ResultDocument::from_text(&yaml).unwrap(), doc);
    // An offset time is read and converted to UTC.
    let shifted = json.replace("2026-03-17T14:53:05.000000Z", "2026-03-17T16:53:05+02:00");
    assert_eq!(ResultDocument::from_json(&shifted).unwrap().start_time, doc.start_time);
}

#[test]
fn bad_documents_name_the_field() {
    let mut v: serde_json::Value = serde_json::from_str(&sample().to_json_pretty()).unwrap();
    v["details"]["requests"] = serde_json::json!("many");
    let err = ResultDocument::from_json(&v.to_string()).unwrap_err().to_string();
    assert!(err.starts_with("details.requests:"), "{err}");
    let err = ResultDocument::from_json("{\"smp_version\": 1}").unwrap_err().to_string();
    assert!(err.contains("not a meshperf result document"), "{err}");
    assert!(ResultDocument::from_json("{").is_err());
    assert!(ResultDocument::from_text("- a\n- b").is_err());
}

#[test]
fn stats_rebuild_is_exact() {
    let report = testutil::report();
    let doc = ResultDocument::from_report(&report, &RunMeta::new("x"));
    assert_eq!(doc.stats().unwrap(), report.stats);
}

#[test]
fn merged_documents_equal_one_run_fed_every_value() {
    let a = testutil::report_with(1..=500, 1000);
    let b = testutil::report_with(501..=1000, 1200);
    let whole = testutil::report_with(1..=1000, 1200);
    let meta = RunMeta::new("merged");
    let docs =
        [ResultDocument::from_report(&a, &RunMeta::new("w1")), ResultDocument::from_report(&b, &RunMeta::new("w2"))];
    let merged = merge(&docs, &meta).unwrap();
    let stats = merged.stats().unwrap();
    assert_eq!(stats.latency, whole.stats.latency);
    assert_eq!(stats.service, whole.stats.service);
    assert_eq!(merged.details.latency_ms, Percentiles::from_histogram(&whole.stats.latency));
    assert_eq!(merged.details.requests, 1000);
    assert_eq!(merged.details.status_codes["200"], 980);
    assert_eq!(merged.details.duration_s, 1.2);
    // Each part planned 500 requests: 500/s over 1 s plus 500/1.2 s.
    assert_eq!(merged.details.target_rate, Some(500.0 + 500.0 / 1.2));
    assert_eq!(merged.details.config.connections, 8);
    let workers = merged.details.workers.as_ref().unwrap();
    assert_eq!(workers.len(), 2);
    assert_eq!(workers[1].worker, "w2");
    assert_eq!(merged.details.series[0].requests, 200);
    assert!(merge(&[], &meta).is_err());
    // The merged document is itself valid and round-trips.
    assert_eq!(ResultDocument::from_json(&merged.to_json_pretty()).unwrap(), merged);
}

#[test]
fn late_and_unsent_requests_count_in_the_latency_not_in_the_rates() {
    let mut report = testutil::report();
    let mut late = loadgen::Stats::new();
    for _ in 0..50 {
        late.count_status(200);
        late.latency.record_us(3_000_000);
    }
    late.mark_after_window();
    report.stats.merge(&late);
    report.stats.unsent = 7;
    for _ in 0..7 {
        report.stats.latency.record_us(2_000_000);
    }
    let doc = ResultDocument::from_report(&report, &RunMeta::new("late"));
    let d = &doc.details;
    assert_eq!((d.requests, d.after_window, d.after_window_successful, d.successful), (1050, 50, 50, 1030));
    assert!((doc.actual_qps - 98.0).abs() < 1e-9, "{}", doc.actual_qps);
    assert!((d.request_rate - 100.0).abs() < 1e-9);
    assert_eq!(d.latency_ms.count, 1000 + 50 + 7);
    assert!(d.latency_lower_bound);
    // Merging keeps the window's rates exact.
    let merged = merge(&[doc.clone(), doc.clone()], &RunMeta::new("m")).unwrap();
    assert!((merged.actual_qps - 196.0).abs() < 1e-9);
    assert_eq!(merged.details.after_window, 100);
}

#[test]
fn version_1_documents_are_read_in_todays_form() {
    let mut v: serde_json::Value = serde_json::from_str(&sample().to_json_pretty()).unwrap();
    let d = v["details"].as_object_mut().unwrap();
    for k in ["successful", "after_window", "after_window_successful", "request_rate", "latency_lower_bound"] {
        d.remove(k);
    }
    d.insert("format_version".into(), 1.into());
    d.insert("achieved_rate".into(), 100.0.into());
    d["latency_ms"].as_object_mut().unwrap().remove("p95");
    v["actual_qps"] = 100.0.into();
    let doc = ResultDocument::from_json(&v.to_string()).unwrap();
    assert_eq!(doc, sample());
}

#[test]
fn empty_run_has_zeros_not_nans() {
    let report = testutil::report_with(std::iter::empty(), 1000);
    let doc = ResultDocument::from_report(&report, &RunMeta::new("empty"));
    let json = doc.to_json_pretty();
    assert!(!json.contains("null,\n  \"latencies"), "{json}");
    assert_eq!(doc.latencies_ms, LatencyMs::default());
    assert_eq!(ResultDocument::from_json(&json).unwrap(), doc);
}

#[test]
fn output_matches_the_json_schema() {
    let schema: serde_json::Value = serde_json::from_str(include_str!("../../schema/result.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let merged = merge(&[sample(), sample()], &RunMeta::new("m")).unwrap();
    let closed = {
        let mut r = testutil::report();
        r.plan.load = loadgen::Load::Closed;
        r.planned = None;
        ResultDocument::from_report(&r, &RunMeta::new("closed"))
    };
    let grpc = ResultDocument::from_report(&testutil::grpc_report(), &RunMeta::new("grpc"));
    for doc in [sample(), merged, closed, grpc] {
        let value: serde_json::Value = serde_json::from_str(&doc.to_json_pretty()).unwrap();
        let errors: Vec<String> = validator.iter_errors(&value).map(|e| format!("{}: {e}", e.instance_path)).collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }
    // The schema is strict: an unknown key or a wrong type fails.
    let mut bad: serde_json::Value = serde_json::from_str(&sample().to_json_pretty()).unwrap();
    bad["details"]["surprise"] = serde_json::json!(1);
    assert!(!validator.is_valid(&bad));
    let mut bad: serde_json::Value = serde_json::from_str(&sample().to_json_pretty()).unwrap();
    bad["latencies_ms"]["p99"] = serde_json::json!("1ms");
    assert!(!validator.is_valid(&bad));
}

#[test]
fn grpc_runs_count_calls_by_status() {
    let doc = ResultDocument::from_report(&testutil::grpc_report(), &RunMeta::new("grpc"));
    let d = &doc.details;
    assert!(d.status_codes.is_empty());
    assert_eq!(d.grpc_status_codes, [("OK".to_string(), 980), ("UNAVAILABLE".to_string(), 10)].into());
    assert_eq!(d.grpc_messages["UNAVAILABLE"], "shedding load");
    assert_eq!((d.responses, d.successful, d.errors), (990, 980, 10));
    assert!((doc.actual_qps - 98.0).abs() < 1e-9);
    assert_eq!(doc.labels["url"], "grpc://127.0.0.1:50051/demo.Greeter/Hello");
    // Read back and merged exactly, like every other count.
    let back = ResultDocument::from_json(&doc.to_json_pretty()).unwrap();
    assert_eq!(back, doc);
    assert_eq!(back.stats().unwrap(), testutil::grpc_report().stats);
    let merged = merge(&[doc.clone(), doc], &RunMeta::new("m")).unwrap();
    assert_eq!(merged.details.grpc_status_codes["UNAVAILABLE"], 20);
    assert_eq!(merged.details.successful, 1960);
    // HTTP results carry no gRPC keys.
    assert!(!sample().to_json_pretty().contains("grpc_status_codes"));
}

proptest::proptest! {
    /// Random or truncated text is a document or an error, never a panic.
    #[test]
    fn reading_never_panics(text in "\\PC{0,64}", cut in 0usize..4000) {
        let _ = ResultDocument::from_text(&text);
        let json = sample().to_json_pretty();
        let end = json.char_indices().map(|(i, _)| i).take_while(|i| *i <= cut).last().unwrap_or(0);
        let _ = ResultDocument::from_text(&json[..end]);
    }
}
