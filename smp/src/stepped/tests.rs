//! The stepped-run algorithm against simulated services: deterministic, no clock, no network.
//! Each service is a model of what one second of a step measures at a given rate.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use loadgen::{ErrorKind, Load, Phase, RateShape, Report, RunPlan, SecondStats, Snapshot, Stats, Target};

use super::*;
use crate::gate::Gate;
use crate::result::{ResultDocument, RunMeta};

/// What a step at `rate` measures: one `Stats` per second of the window, by completion
/// time, and what finished after the window.
trait Service {
    fn second(&self, rate: f64, k: u32) -> Stats;

    fn step(&self, rate: f64, seconds: u32) -> (Vec<Stats>, Stats) {
        ((0..seconds).map(|k| self.second(rate, k)).collect(), Stats::new())
    }
}

/// Answers 200 in 1 ms up to `capacity` per second and 503 in 0.2 ms above it.
struct Shedding {
    capacity: f64,
}

impl Service for Shedding {
    fn second(&self, rate: f64, _k: u32) -> Stats {
        let ok = rate.min(self.capacity).round() as u64;
        let shed = (rate.round() as u64).saturating_sub(ok);
        let mut s = Stats::new();
        respond(&mut s, 200, ok, 1_000);
        respond(&mut s, 503, shed, 200);
        s
    }
}

/// One FIFO server with a fixed service time fed at evenly spaced arrivals (D/D/1): latency is
/// the service time up to 1/service, and grows every second above it.
struct Queue {
    service_us: f64,
}

impl Service for Queue {
    fn second(&self, _rate: f64, _k: u32) -> Stats {
        unreachable!("a queue's seconds depend on each other")
    }

    fn step(&self, rate: f64, seconds: u32) -> (Vec<Stats>, Stats) {
        let mut window: Vec<Stats> = (0..seconds).map(|_| Stats::new()).collect();
        let mut after = Stats::new();
        let gap_us = 1e6 / rate;
        let mut free_at = 0.0f64;
        for i in 0..(rate * f64::from(seconds)).round() as u64 {
            // Request i is due at i·gap and waits for the server to be free.
            let due = i as f64 * gap_us;
            let done = due.max(free_at) + self.service_us;
            free_at = done;
            let second = (done / 1e6) as usize;
            let s = window.get_mut(second).unwrap_or(&mut after);
            respond(s, 200, 1, (done - due) as u64);
        }
        after.mark_after_window();
        (window, after)
    }
}

/// M/M/1-like: exponential latency with mean service/(1-ρ), below capacity only.
struct Exponential {
    service_us: f64,
}

impl Service for Exponential {
    fn second(&self, rate: f64, _k: u32) -> Stats {
        let rho = rate * self.service_us / 1e6;
        let mean = self.service_us / (1.0 - rho);
        let n = rate.round() as u64;
        let mut s = Stats::new();
        for j in 0..n {
            let q = (j as f64 + 0.5) / n as f64;
            respond(&mut s, 200, 1, (-mean * (1.0 - q).ln()) as u64);
        }
        s
    }
}

/// Fine, but above `threshold` 0.15% of requests fail in the second half of each step only.
struct LateErrors {
    threshold: f64,
}

impl Service for LateErrors {
    fn second(&self, rate: f64, k: u32) -> Stats {
        let n = rate.round() as u64;
        let mut s = Stats::new();
        let failing = if rate > self.threshold && k >= 5 { (n as f64 * 0.0015).ceil() as u64 } else { 0 };
        respond(&mut s, 200, n - failing, 800);
        for _ in 0..failing {
            s.count_error(ErrorKind::Reset);
        }
        s
    }
}

fn respond(s: &mut Stats, status: u16, n: u64, latency_us: u64) {
    if n == 0 {
        return;
    }
    s.responses += n;
    s.sent += n;
    s.add_status(status, n);
    s.latency.record_n_us(latency_us.max(1), n);
    s.service.record_n_us(latency_us.max(1), n);
}

/// Runs one step of `seconds` at `rate` against `service`: the whole document and the
/// second half, as the engine's snapshots would give them.
fn step(service: &dyn Service, rate: f64, seconds: u32) -> (ResultDocument, SettleWindow) {
    let mut plan = RunPlan::new(vec![Target::get("http://127.0.0.1:8080/").unwrap()]);
    plan.load = Load::Open(RateShape::Constant(rate));
    plan.duration = Some(Duration::from_secs(u64::from(seconds)));
    let mut settle = SettleWindow::new(Duration::from_secs(u64::from(seconds)));
    let mut total = Stats::new();
    let mut series = Vec::new();
    let (window, after) = service.step(rate, seconds);
    for (k, interval) in (0..seconds).zip(window) {
        total.merge(&interval);
        let snapshot = Snapshot {
            elapsed: Duration::from_secs(u64::from(k + 1)),
            phase: Phase::Measuring,
            interval,
            interval_len: Duration::from_secs(1),
            target_rate: Some(rate),
            total_responses: total.responses,
            total_errors: total.error_total(),
        };
        settle.add(&snapshot);
        series.push(SecondStats::from_snapshot(&snapshot));
    }
    total.merge(&after);
    settle.add(&Snapshot {
        elapsed: Duration::from_secs(u64::from(seconds)),
        phase: Phase::Draining,
        interval_len: Duration::ZERO,
        target_rate: None,
        total_responses: total.responses,
        total_errors: total.error_total(),
        interval: after,
    });
    let started_at = Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).unwrap();
    let report = Report {
        plan,
        started_at,
        ended_at: started_at + chrono::Duration::seconds(i64::from(seconds)),
        elapsed: Duration::from_secs(u64::from(seconds)),
        stats: total,
        series,
        planned: Some((rate * f64::from(seconds)).round() as u64),
        cancelled: false,
    };
    (ResultDocument::from_report(&report, &RunMeta::new("simulated")), settle)
}

/// Drives a whole stepped run against `service`, as the command line and the server do.
fn drive(spec: StepSpec, service: &dyn Service) -> ResultDocument {
    spec.check().unwrap();
    let mut stepper = Stepper::new(spec.clone());
    let (mut steps, mut docs) = (Vec::new(), Vec::new());
    let per_step = spec.step_duration + spec.warmup + Duration::from_secs(1);
    let seconds = spec.step_duration.as_secs() as u32;
    while let Next::Step(rate) = stepper.next(per_step * stepper.steps() as u32, per_step) {
        let (doc, settle) = step(service, rate, seconds);
        let s = judge(steps.len() as u32 + 1, rate, &spec, &doc, &settle);
        stepper.record(rate, s.passed);
        steps.push(s);
        docs.push(doc);
    }
    let stop = stepper.stopped().unwrap();
    Stepped::document(&spec, stop, steps, docs, &RunMeta::new("simulated")).unwrap()
}

fn slos(texts: &[&str]) -> Vec<Gate> {
    texts.iter().map(|t| Gate::parse(t).unwrap()).collect()
}

fn stepped(doc: &ResultDocument) -> &Stepped {
    doc.details.stepped.as_deref().unwrap()
}

fn rates(doc: &ResultDocument) -> Vec<f64> {
    stepped(doc).steps.iter().map(|s| s.rate).collect()
}

#[test]
fn search_climbs_then_bisects_to_the_capacity_of_a_shedding_service() {
    let spec = StepSpec { slos: slos(&["p99<=20ms", "non-2xx<0.1%"]), ..StepSpec::search(100.0, 100_000.0) };
    let doc = drive(spec, &Shedding { capacity: 4180.0 });
    let s = stepped(&doc);
    assert_eq!(rates(&doc), [100.0, 200.0, 400.0, 800.0, 1600.0, 3200.0, 6400.0, 4800.0, 4000.0, 4400.0, 4200.0]);
    assert_eq!(s.stop, Stop::Converged);
    assert_eq!(s.answer.max_rate, Some(4000.0));
    assert_eq!(s.answer.failed_rate, Some(4200.0));
    assert_eq!(s.answer.sentence(), "max 4,000 req/s: 4,000 passed, 4,200 failed non-2xx");
    assert!(s.answer.complete);
    // The top level is the answer's step, and says so.
    assert_eq!(s.top_level_step, 9);
    assert_eq!(doc.details.target_rate, Some(4000.0));
    assert_eq!(doc.labels["stepped"], "search");
    let overload = &s.steps[6];
    assert_eq!(overload.failed, ["non-2xx", "achieved rate"]);
    let p99 = overload.verdicts.iter().find(|v| v.gate == "p99<=20ms" && v.part == step::Part::Whole).unwrap();
    assert!(p99.passed, "fast 503s keep the latency low: {p99:?}");
}

#[test]
fn without_slos_a_step_passes_when_it_keeps_up() {
    // 5% tolerance: a service that sheds above 4,180 keeps up with 4,400 (95% of it).
    let doc = drive(StepSpec::search(1000.0, 100_000.0), &Shedding { capacity: 4180.0 });
    let s = stepped(&doc);
    assert_eq!(s.answer.max_rate, Some(4380.0));
    assert_eq!(s.answer.failed, ["achieved rate"]);
}

#[test]
fn a_queueing_service_fails_on_latency_and_the_answer_is_within_the_precision() {
    // 4 ms of service: 250 req/s. Above it the queue grows every second of the step.
    let spec = StepSpec { slos: slos(&["p99<=20ms"]), ..StepSpec::search(50.0, 1000.0) };
    let doc = drive(spec, &Queue { service_us: 4000.0 });
    let s = stepped(&doc);
    let max = s.answer.max_rate.unwrap();
    let failed = s.answer.failed_rate.unwrap();
    assert!((250.0 / 1.05..=250.0).contains(&max), "{max}");
    assert!(failed > 250.0 && failed <= max * 1.05, "{failed}");
    assert!(s.answer.failed.iter().any(|f| f == "p99"), "{:?}", s.answer.failed);
    assert!(s.steps.len() <= 10, "{} steps", s.steps.len());
}

#[test]
fn the_settle_check_fails_a_step_that_degrades_in_its_second_half() {
    let spec = StepSpec { slos: slos(&["errors<0.1%"]), ..StepSpec::search(100.0, 10_000.0) };
    let doc = drive(spec, &LateErrors { threshold: 1000.0 });
    let s = stepped(&doc);
    let first_bad = s.steps.iter().find(|st| st.rate > 1000.0).unwrap();
    let whole = first_bad.verdicts.iter().find(|v| v.gate == "errors<0.1%" && v.part == step::Part::Whole).unwrap();
    assert!(whole.passed, "0.075% over the whole step passes: {whole:?}");
    assert!(!first_bad.passed);
    assert_eq!(first_bad.failed, ["errors (second half)"]);
    assert!(s.answer.max_rate.unwrap() <= 1000.0 && s.answer.max_rate.unwrap() >= 1000.0 / 1.05);
}

#[test]
fn the_ends_of_a_search() {
    let spec = StepSpec { slos: slos(&["p99<=20ms"]), ..StepSpec::search(500.0, 1000.0) };
    let doc = drive(spec, &Queue { service_us: 4000.0 });
    let s = stepped(&doc);
    assert_eq!((s.stop, rates(&doc)), (Stop::LowestFailed, vec![500.0]));
    assert_eq!(s.answer.sentence(), "no rate passed: 500 failed p99, achieved rate");
    assert_eq!(s.top_level_step, 1);

    let doc = drive(StepSpec::search(100.0, 300.0), &Shedding { capacity: 5000.0 });
    let s = stepped(&doc);
    assert_eq!((s.stop, rates(&doc)), (Stop::UpperBoundPassed, vec![100.0, 200.0, 300.0]));
    assert_eq!(s.answer.sentence(), "max 300 req/s or more: 300 passed and no higher rate was tried");

    let spec = StepSpec { max_steps: 3, ..StepSpec::search(100.0, 100_000.0) };
    let doc = drive(spec, &Shedding { capacity: 5000.0 });
    let s = stepped(&doc);
    assert_eq!((s.stop, s.steps.len(), s.answer.complete), (Stop::MaxSteps, 3, false));

    // Steps of 2 s + 2 s warm-up + 1 s: a 12 s budget fits two.
    let spec = StepSpec {
        step_duration: Duration::from_secs(2),
        max_time: Duration::from_secs(12),
        ..StepSpec::search(100.0, 100_000.0)
    };
    let doc = drive(spec, &Shedding { capacity: 5000.0 });
    assert_eq!((stepped(&doc).stop, stepped(&doc).steps.len()), (Stop::MaxTime, 2));
}

#[test]
fn a_sweep_of_a_fixed_service_time_has_its_knee_where_the_queue_starts_to_grow() {
    // D/D/1 with 4 ms of service saturates at 250 req/s: the knee is the last rate below it.
    let rates = parse_rates("100,150,200,230,270,300,350").unwrap();
    let spec = StepSpec { step_duration: Duration::from_secs(4), ..StepSpec::sweep(rates) };
    let doc = drive(spec, &Queue { service_us: 4000.0 });
    let s = stepped(&doc);
    assert_eq!(s.stop, Stop::Swept);
    assert_eq!(s.steps.len(), 7);
    let knee = s.knee.as_ref().unwrap();
    assert_eq!((knee.rate, knee.method.as_str()), (230.0, "kneedle"));
    assert_eq!(s.top_level_step, knee.step);
    assert_eq!(s.answer.max_rate, Some(230.0), "without SLOs a step passes when it keeps up");
}

#[test]
fn the_knee_of_an_exponential_queue_is_near_eighty_percent_load() {
    let rates: Vec<f64> = (1..=19).map(|i| f64::from(i) * 50.0).collect(); // ρ 0.05 .. 0.95 at 1 ms
    let doc = drive(
        StepSpec { step_duration: Duration::from_secs(2), ..StepSpec::sweep(rates) },
        &Exponential { service_us: 1000.0 },
    );
    let knee = stepped(&doc).knee.clone().unwrap();
    assert!((700.0..=850.0).contains(&knee.rate), "{knee:?}");
}

#[test]
fn flat_curves_have_no_latency_knee() {
    let spec = StepSpec { step_duration: Duration::from_secs(2), ..StepSpec::sweep(vec![100.0, 200.0, 300.0, 400.0]) };
    let doc = drive(spec.clone(), &Shedding { capacity: 10_000.0 });
    assert_eq!(stepped(&doc).knee, None, "latency never doubled and the service kept up");
    let doc = drive(spec, &Shedding { capacity: 250.0 });
    let knee = stepped(&doc).knee.clone().unwrap();
    assert_eq!((knee.rate, knee.method.as_str()), (200.0, "saturation"));
}

#[test]
fn specs_are_checked_and_rates_parsed() {
    assert_eq!(
        parse_rates("1k..20k/10").unwrap(),
        [1000.0, 3110.0, 5220.0, 7330.0, 9440.0, 11600.0, 13700.0, 15800.0, 17900.0, 20000.0]
    );
    assert_eq!(parse_rates("500, 100,1k,100").unwrap(), [100.0, 500.0, 1000.0]);
    for bad in ["1k..20k", "1k..20k/1", "20k..1k/5", "1k..2k/x", "fast", "-5", "1..2/1000"] {
        assert!(parse_rates(bad).is_err(), "{bad}");
    }
    assert_eq!(parse_share("5%").unwrap(), 0.05);
    assert_eq!(parse_share("2.5").unwrap(), 0.025);
    assert!(parse_share("five").is_err());
    assert_eq!(spec::round_rate(4183.7), 4180.0);
    assert_eq!(spec::round_rate(12.34), 12.3);
    let field = |s: StepSpec| s.check().unwrap_err().field;
    assert_eq!(field(StepSpec::search(0.0, 10.0)), StepField::From);
    assert_eq!(field(StepSpec::search(100.0, 10.0)), StepField::To);
    assert_eq!(
        field(StepSpec { step_duration: Duration::from_secs(1), ..StepSpec::search(1.0, 10.0) }),
        StepField::StepDuration
    );
    assert_eq!(field(StepSpec { max_steps: 0, ..StepSpec::search(1.0, 10.0) }), StepField::MaxSteps);
    assert_eq!(field(StepSpec { max_time: Duration::from_secs(5), ..StepSpec::search(1.0, 10.0) }), StepField::MaxTime);
    assert_eq!(field(StepSpec::sweep(vec![2.0, 1.0])), StepField::Rates);
    let e = StepSpec::search(100.0, 10.0).check().unwrap_err();
    assert_eq!(e.to_string(), "to: must be a rate at or above the first rate (100)");
}

#[test]
fn a_stepped_document_round_trips_and_matches_the_schema() {
    let spec = StepSpec {
        slos: slos(&["p99<=20ms"]),
        step_duration: Duration::from_secs(2),
        ..StepSpec::search(100.0, 1000.0)
    };
    let doc = drive(spec, &Queue { service_us: 4000.0 });
    let json = doc.to_json_pretty();
    let back = ResultDocument::from_json(&json).unwrap();
    assert_eq!(back, doc);
    let schema: serde_json::Value = serde_json::from_str(include_str!("../../schema/result.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    let errors: Vec<String> = validator.iter_errors(&value).map(|e| format!("{e} at {}", e.instance_path)).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let mut typo = value;
    typo["details"]["stepped"]["steps"][0]["rat"] = serde_json::json!(1);
    assert!(!validator.is_valid(&typo), "an unknown key in a step fails the schema");
}

#[test]
fn the_chart_of_a_sweep_is_the_latency_throughput_curve_with_its_knee() {
    let rates = parse_rates("100,150,200,230,270,300,350").unwrap();
    let spec = StepSpec { step_duration: Duration::from_secs(2), slos: slos(&["p99<=20ms"]), ..StepSpec::sweep(rates) };
    let doc = drive(spec, &Queue { service_us: 4000.0 });
    let svg = crate::chart::render_svg(&[doc], crate::chart::Size::default()).unwrap();
    for text in [
        "Latency against throughput",
        "knee: 230 req/s",
        "Achieved rate (successful responses per second)",
        "simulated p99.9",
        "simulated max 230 req/s under p99&lt;=20ms",
        "Achieved against target rate",
    ] {
        assert!(svg.contains(text), "missing {text:?}");
    }
}
