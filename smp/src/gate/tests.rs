//! Gates and comparisons on results with known numbers.

use super::*;
use crate::result::tests::sample;
use crate::result::{ResultDocument, RunMeta};
use crate::testutil;

fn gates(texts: &[&str]) -> Vec<Gate> {
    texts.iter().map(|t| Gate::parse(t).unwrap()).collect()
}

#[test]
fn parses_gates() {
    let g = Gate::parse("p99<=20ms").unwrap();
    assert_eq!(
        (g.metric, g.op, g.value, g.unit),
        (Metric::Time(Histogram::Latency, Stat::P99), Op::Le, 20.0, Unit::Ms)
    );
    let g = Gate::parse(" errors < 0.1% ").unwrap();
    assert_eq!((g.metric, g.op, g.value, g.unit), (Metric::Errors, Op::Lt, 0.1, Unit::Percent));
    let g = Gate::parse("rps>=1.5k").unwrap();
    assert_eq!((g.metric, g.value, g.unit), (Metric::Rps, 1500.0, Unit::Number));
    let g = Gate::parse("service.p99.9<1.5s").unwrap();
    assert_eq!((g.metric, g.value), (Metric::Time(Histogram::Service, Stat::P999), 1500.0));
    assert_eq!(Gate::parse("send_lag.max<250us").unwrap().value, 0.25);
    assert_eq!(Gate::parse("non-2xx<=5").unwrap().unit, Unit::Number);
    assert_eq!(Gate::parse("latency.mean>0ms").unwrap().op, Op::Gt);
}

#[test]
fn bad_gates_say_how_to_write_them() {
    for (text, want) in [
        ("p99", "expected METRIC OP VALUE"),
        ("p98<=20ms", "unknown metric \"p98\""),
        ("p99<=20", "p99 takes a duration with its unit"),
        ("p99<=soon", "\"soon\" is not a duration"),
        ("rps>=1000ms", "is not a number"),
        ("rps>=10%", "rps takes a plain number"),
        ("errors<-1%", "is not a number above or equal to 0"),
        ("p99==20ms", "use <, <=, > or >="),
        ("service.rps>1", "unknown metric"),
    ] {
        let err = Gate::parse(text).unwrap_err().to_string();
        assert!(err.starts_with(&format!("invalid gate {text:?}: ")), "{err}");
        assert!(err.contains(want), "{text}: {err}");
    }
    for text in ["p99", "p99=ten%", "rps=5ms", "rps=150%", "bogus=1%"] {
        assert!(Regression::parse(text).is_err(), "{text}");
    }
}

#[test]
fn evaluates_known_numbers() {
    // The sample: latencies 1..=1000 ms (p99 ≈ 990 ms), 10 errors and 10 × 503 in 1000, 100/s,
    // of which 98/s successful (the achieved rate).
    let doc = sample();
    let v = evaluate(
        &gates(&[
            "p99<=1s",
            "p99<900ms",
            "errors<=1%",
            "errors<1%",
            "errors<=10",
            "non-2xx<2%",
            "rps>=98",
            "rps>98",
            "requests>=1000",
            "min>=1ms",
            "p95<=951ms",
            "p95<900ms",
        ]),
        &doc,
    );
    let passed: Vec<bool> = v.iter().map(|v| v.passed).collect();
    assert_eq!(passed, [true, false, true, false, true, true, true, false, true, true, true, false]);
    assert_eq!(v[10].metric, "p95");
    assert_eq!(v[0].actual, "990.207 ms");
    assert_eq!(v[0].expected, "<= 1 s");
    assert_eq!(v[2].actual, "1%");
    assert_eq!(v[4].actual, "10");
    assert!(!all_passed(&v));
    assert!(all_passed(&v[..1]));
}

#[test]
fn grpc_calls_that_are_not_ok_count_as_non_2xx() {
    // The same numbers as a gRPC run: 10 UNAVAILABLE calls in 1000, 980 OK.
    let doc = ResultDocument::from_report(&testutil::grpc_report(), &RunMeta::new("g"));
    let v = evaluate(&gates(&["non-ok<=10", "non-ok<10", "non-2xx<=1%", "rps>=98", "errors<=10"]), &doc);
    let passed: Vec<bool> = v.iter().map(|v| v.passed).collect();
    assert_eq!(passed, [true, false, true, true, true]);
    assert_eq!(v[0].actual, "10");
}

#[test]
fn empty_runs_fail_share_and_latency_gates() {
    let doc = ResultDocument::from_report(&testutil::report_with(std::iter::empty(), 1000), &RunMeta::new("e"));
    let v = evaluate(&gates(&["errors<1%", "p99<1s", "rps>=0"]), &doc);
    assert!(!v[0].passed && !v[1].passed && v[2].passed);
    assert_eq!(v[0].actual, "n/a (nothing measured)");
}

#[test]
fn compares_against_a_baseline() {
    let baseline = ResultDocument::from_report(&testutil::report_with(1..=1000, 10_000), &RunMeta::new("base"));
    // 10% slower everywhere, the same count over 11 s: about 9% less throughput.
    let slower = ResultDocument::from_report(
        &testutil::report_with((1..=1000).map(|v| v * 11 / 10), 11_000),
        &RunMeta::new("cur"),
    );
    let limits: Vec<Regression> = ["p99=15%", "p99=5%", "p50=60ms", "rps=10%", "rps=5%", "errors=0.5%", "p95=15%"]
        .iter()
        .map(|t| Regression::parse(t).unwrap())
        .collect();
    let v = compare(&baseline, &slower, &limits);
    let passed: Vec<bool> = v.iter().map(|v| v.passed).collect();
    assert_eq!(passed, [true, false, true, true, false, true, true]);
    assert!(v[6].expected.starts_with("baseline 950"), "{}", v[6].expected);
    assert!(v[0].expected.starts_with("baseline 990.207 ms, at most +15%"), "{}", v[0].expected);
    assert!(v[0].actual.contains("(+10.0"), "{}", v[0].actual);
    assert!(v[3].expected.starts_with("baseline 98, at most -10%"), "{}", v[3].expected);
    assert_eq!(v[5].actual, "1% (+0 points)");
    assert_eq!(v[5].expected, "baseline 1%, at most +0.5 points");
    // A result compared with itself passes every limit, even at 0%.
    let zero: Vec<Regression> =
        ["p99=0%", "rps=0%", "errors=0%"].iter().map(|t| Regression::parse(t).unwrap()).collect();
    assert!(all_passed(&compare(&baseline, &baseline, &zero)));
}

#[test]
fn markdown_and_junit_render_every_verdict() {
    let v = evaluate(&gates(&["p99<=1s", "errors<1%"]), &sample());
    let md = markdown_summary("checkout | smoke", &v);
    assert!(md.starts_with("### meshperf: checkout \\| smoke — ❌ 1 of 2 checks failed\n"), "{md}");
    assert!(md.contains("| `p99<=1s` | p99 | <= 1 s | 990.207 ms | ✅ pass |"), "{md}");
    assert!(md.contains("| `errors<1%` | errors | < 1% | 1% | ❌ fail |"), "{md}");
    let xml = junit_xml("checkout", &v, 10.0);
    assert!(xml.contains("<testsuites name=\"meshperf\" tests=\"2\" failures=\"1\""), "{xml}");
    assert!(xml.contains("<testcase classname=\"meshperf.gates\" name=\"p99&lt;=1s\""), "{xml}");
    assert!(xml.contains("<failure type=\"gate\" message=\"errors is 1%, wanted &lt; 1%\">"), "{xml}");
    assert_eq!(xml.matches("<testcase ").count(), 2);
    assert_eq!(xml.matches("</testcase>").count(), 2);
}

proptest::proptest! {
    /// Any text is a gate or an error, never a panic.
    #[test]
    fn parsing_never_panics(text in "\\PC{0,24}", metric in "(p99|errors|rps|service\\.p50|non-2xx)", op in "(<|<=|>|>=|=|==)", value in "\\PC{0,8}") {
        let _ = Gate::parse(&text);
        let _ = Regression::parse(&text);
        let _ = Gate::parse(&format!("{metric}{op}{value}"));
        let _ = Regression::parse(&format!("{metric}={value}"));
    }
}
