//! Conversions between the engine's types and the perf service's messages.
//!
//! Plans travel with their TLS material as PEM text (paths mean nothing on another machine),
//! and a plan read from the wire becomes a run request like any other door's: the one
//! converter applies the one set of defaults, and nothing touches the disk.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use loadgen::grpc::Code;
use loadgen::{
    ErrorKind, Field, HttpVersion, LatencyHistogram, Load, Pem, Phase, RateShape, RunPlan, Shard, Snapshot, Stage,
    Stats,
};
use smp::request::{PemSource, RunRequest, TlsRequest};

use super::proto;
use crate::error::ServiceError;

/// Converts a duration for the wire (saturating at protobuf's range).
pub fn duration_to_proto(d: Duration) -> prost_types::Duration {
    prost_types::Duration::try_from(d).unwrap_or(prost_types::Duration { seconds: i64::MAX, nanos: 0 })
}

/// Reads a duration from the wire; negative durations are refused.
pub fn duration_from_proto(d: &prost_types::Duration, field: &str) -> Result<Duration, ServiceError> {
    Duration::try_from(*d).map_err(|_| ServiceError::invalid(field, "must be a non-negative duration"))
}

/// The wire form of `plan` (a validated plan, or a worker's share of one).
pub fn plan_to_proto(plan: &RunPlan) -> proto::Plan {
    let pem =
        |p: &Option<Pem>| p.as_ref().map(|p| String::from_utf8_lossy(p.as_bytes()).into_owned()).unwrap_or_default();
    let load = match &plan.load {
        Load::Closed => proto::load::Shape::Closed(proto::ClosedLoop {}),
        Load::Open(RateShape::Constant(r)) => proto::load::Shape::Constant(*r),
        Load::Open(RateShape::Ramp { from, to }) => proto::load::Shape::Ramp(proto::Ramp { from: *from, to: *to }),
        Load::Open(RateShape::Stages(stages)) => proto::load::Shape::Stages(proto::Stages {
            stages: stages
                .iter()
                .map(|s| proto::Stage { duration: Some(duration_to_proto(s.duration)), rate: s.rate })
                .collect(),
        }),
    };
    proto::Plan {
        targets: plan
            .targets
            .iter()
            .map(|t| proto::Target {
                url: t.url.to_string(),
                method: t.method.to_string(),
                headers: t
                    .headers
                    .iter()
                    .map(|(n, v)| proto::Header {
                        name: n.to_string(),
                        value: String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    })
                    .collect(),
                body: t.body.to_vec(),
            })
            .collect(),
        http_version: match plan.http {
            HttpVersion::Http1 => proto::HttpVersion::Http1,
            HttpVersion::Http2 => proto::HttpVersion::Http2,
        } as i32,
        h2_streams: plan.h2_streams,
        connections: plan.connections,
        threads: plan.threads,
        load: Some(proto::Load { shape: Some(load) }),
        duration: plan.duration.map(duration_to_proto),
        max_requests: plan.max_requests.unwrap_or(0),
        warmup: Some(duration_to_proto(plan.warmup)),
        timeout: Some(duration_to_proto(plan.timeout)),
        tls: Some(proto::Tls {
            insecure: plan.tls.insecure,
            ca_cert_pem: pem(&plan.tls.ca_certs),
            client_cert_pem: pem(&plan.tls.client_cert),
            client_key_pem: pem(&plan.tls.client_key),
        }),
        shard: Some(proto::Shard { index: plan.shard.index, count: plan.shard.count }),
        start_at: plan.start_at.map(prost_types::Timestamp::from),
    }
}

/// The wire name of a plan field, for refusals: `plan.connections`, `plan.targets[0].url`.
pub fn wire_name(field: Field) -> String {
    match field {
        Field::Targets => "plan.targets".into(),
        Field::Url(i) => format!("plan.targets[{i}].url"),
        Field::Method => "plan.targets[].method".into(),
        Field::Header | Field::Cookies | Field::ContentType => "plan.targets[].headers".into(),
        Field::Body => "plan.targets[].body".into(),
        Field::Rate | Field::Ramp | Field::Stages => "plan.load".into(),
        Field::CaCert => "plan.tls.ca_cert_pem".into(),
        Field::ClientCert => "plan.tls.client_cert_pem".into(),
        Field::ClientKey => "plan.tls.client_key_pem".into(),
        Field::Requests => "plan.max_requests".into(),
        other => format!("plan.{}", other.key()),
    }
}

/// Reads a plan from the wire as a run request. Every target must send the same request (as
/// plans made by meshperf do); threads 0 leaves the choice to this machine.
pub fn request_from_proto(p: proto::Plan) -> Result<RunRequest, ServiceError> {
    let Some(first) = p.targets.first() else {
        return Err(ServiceError::invalid("plan.targets", "give at least one target"));
    };
    for (i, t) in p.targets.iter().enumerate().skip(1) {
        if t.method != first.method || t.headers != first.headers || t.body != first.body {
            return Err(ServiceError::invalid(
                format!("plan.targets[{i}]"),
                "every target must send the same method, headers and body",
            ));
        }
    }
    let method = match first.method.trim() {
        "" => None,
        m => Some(http::Method::from_bytes(m.as_bytes()).map_err(|_| {
            ServiceError::invalid("plan.targets[0].method", format!("{:?} is not an HTTP method", first.method))
        })?),
    };
    let load = match p.load.and_then(|l| l.shape) {
        None | Some(proto::load::Shape::Closed(_)) => Load::Closed,
        Some(proto::load::Shape::Constant(r)) => Load::Open(RateShape::Constant(r)),
        Some(proto::load::Shape::Ramp(r)) => Load::Open(RateShape::Ramp { from: r.from, to: r.to }),
        Some(proto::load::Shape::Stages(s)) => {
            let mut stages = Vec::with_capacity(s.stages.len());
            for (i, st) in s.stages.iter().enumerate() {
                let field = format!("plan.load.stages[{i}].duration");
                let d = st.duration.as_ref().ok_or_else(|| ServiceError::invalid(&field, "is missing"))?;
                stages.push(Stage { duration: duration_from_proto(d, &field)?, rate: st.rate });
            }
            Load::Open(RateShape::Stages(stages))
        }
    };
    let stages = matches!(load, Load::Open(RateShape::Stages(_)));
    let duration = p.duration.as_ref().map(|d| duration_from_proto(d, "plan.duration")).transpose()?;
    let max_requests = (p.max_requests > 0).then_some(p.max_requests);
    if duration.is_none() && max_requests.is_none() && !stages {
        return Err(ServiceError::invalid("plan.duration", "give a duration or a request count (max_requests)"));
    }
    let http2 = match proto::HttpVersion::try_from(p.http_version) {
        Ok(proto::HttpVersion::Http2) => true,
        Ok(_) => false,
        Err(_) => {
            return Err(ServiceError::invalid("plan.http_version", format!("unknown value {}", p.http_version)));
        }
    };
    let pem = |text: String| (!text.is_empty()).then(|| PemSource::Pem(Pem::new(text.into_bytes())));
    let tls = p.tls.unwrap_or_default();
    let start_at = p
        .start_at
        .map(|t| SystemTime::try_from(t).map_err(|_| ServiceError::invalid("plan.start_at", "is not a valid time")))
        .transpose()?;
    Ok(RunRequest {
        urls: p.targets.iter().map(|t| t.url.clone()).collect(),
        method,
        headers: first.headers.iter().map(|h| (h.name.clone(), h.value.clone())).collect(),
        body: (!first.body.is_empty()).then(|| Bytes::from(first.body.clone())),
        connections: Some(p.connections),
        threads: (p.threads > 0).then_some(p.threads),
        load: Some(load),
        duration,
        max_requests,
        warmup: p.warmup.as_ref().map(|w| duration_from_proto(w, "plan.warmup")).transpose()?,
        timeout: p.timeout.as_ref().map(|t| duration_from_proto(t, "plan.timeout")).transpose()?,
        http2: Some(http2),
        h2_streams: Some(p.h2_streams.max(1)),
        tls: TlsRequest {
            ca_certs: pem(tls.ca_cert_pem),
            client_cert: pem(tls.client_cert_pem),
            client_key: pem(tls.client_key_pem),
            insecure: Some(tls.insecure),
        },
        shard: p.shard.map(|s| Shard { index: s.index, count: s.count }),
        start_at,
        ..RunRequest::default()
    })
}

/// The wire form of measured statistics.
pub fn stats_to_proto(s: &Stats) -> proto::Stats {
    proto::Stats {
        latency_hdr: s.latency.to_base64(),
        service_time_hdr: s.service.to_base64(),
        send_lag_hdr: s.send_lag.to_base64(),
        sent: s.sent,
        responses: s.responses,
        errors: s.error_kinds().into_iter().map(|(k, n)| (k.as_str().to_string(), n)).collect(),
        status_codes: s.status_codes().into_iter().map(|(c, n)| (u32::from(c), n)).collect(),
        bytes_sent: s.bytes_sent,
        bytes_received: s.bytes_received,
        unsent: s.unsent,
        after_window: s.after_window,
        after_window_successful: s.after_window_successful,
        error_messages: s.messages.iter().map(|(k, m)| (k.as_str().to_string(), m.to_string())).collect(),
        grpc_status_codes: s.grpc_codes().into_iter().map(|(c, n)| (c.value(), n)).collect(),
        grpc_messages: s.grpc_messages.iter().map(|(c, m)| (c.value(), m.to_string())).collect(),
    }
}

/// Reads statistics from the wire; the histograms must decode.
pub fn stats_from_proto(p: &proto::Stats) -> Result<Stats, ServiceError> {
    let hist = |field: &str, text: &str| {
        if text.is_empty() {
            return Ok(LatencyHistogram::new());
        }
        LatencyHistogram::from_base64(text).map_err(|e| ServiceError::invalid(field, e.to_string()))
    };
    let mut s = Stats::new();
    s.latency = hist("stats.latency_hdr", &p.latency_hdr)?;
    s.service = hist("stats.service_time_hdr", &p.service_time_hdr)?;
    s.send_lag = hist("stats.send_lag_hdr", &p.send_lag_hdr)?;
    s.sent = p.sent;
    s.bytes_sent = p.bytes_sent;
    s.bytes_received = p.bytes_received;
    s.unsent = p.unsent;
    for (code, n) in &p.status_codes {
        s.add_status(u16::try_from(*code).unwrap_or(0), *n);
    }
    s.responses = p.responses;
    let kind_of = |name: &str| ErrorKind::ALL.into_iter().find(|k| k.as_str() == name).unwrap_or(ErrorKind::Other);
    for (kind, n) in &p.errors {
        s.errors[kind_of(kind) as usize] += n;
    }
    for (kind, message) in &p.error_messages {
        s.messages.keep(kind_of(kind), message);
    }
    for (code, n) in &p.grpc_status_codes {
        s.add_grpc(Code::from_wire(*code), *n);
    }
    for (code, message) in &p.grpc_messages {
        s.grpc_messages.keep(Code::from_wire(*code), message);
    }
    s.after_window = p.after_window;
    s.after_window_successful = p.after_window_successful;
    Ok(s)
}

fn phase_to_proto(p: Phase) -> proto::Phase {
    match p {
        Phase::Waiting => proto::Phase::Waiting,
        Phase::Warmup => proto::Phase::Warmup,
        Phase::Measuring => proto::Phase::Measuring,
        Phase::Draining => proto::Phase::Draining,
    }
}

fn phase_from_proto(p: i32) -> Phase {
    match proto::Phase::try_from(p) {
        Ok(proto::Phase::Waiting) => Phase::Waiting,
        Ok(proto::Phase::Warmup) => Phase::Warmup,
        Ok(proto::Phase::Draining) => Phase::Draining,
        _ => Phase::Measuring,
    }
}

/// The wire form of the `seq`-th snapshot of a run.
pub fn progress_to_proto(seq: u64, s: &Snapshot) -> proto::Progress {
    proto::Progress {
        seq,
        elapsed: Some(duration_to_proto(s.elapsed)),
        phase: phase_to_proto(s.phase) as i32,
        interval: Some(stats_to_proto(&s.interval)),
        interval_len: Some(duration_to_proto(s.interval_len)),
        target_rate: s.target_rate.unwrap_or(0.0),
        total_responses: s.total_responses,
        total_errors: s.total_errors,
    }
}

/// Reads a snapshot from the wire.
pub fn snapshot_from_proto(p: &proto::Progress) -> Result<Snapshot, ServiceError> {
    let dur = |d: &Option<prost_types::Duration>, f: &str| {
        d.as_ref().map_or(Ok(Duration::ZERO), |d| duration_from_proto(d, f))
    };
    Ok(Snapshot {
        elapsed: dur(&p.elapsed, "progress.elapsed")?,
        phase: phase_from_proto(p.phase),
        interval: p.interval.as_ref().map(stats_from_proto).transpose()?.unwrap_or_default(),
        interval_len: dur(&p.interval_len, "progress.interval_len")?,
        target_rate: (p.target_rate > 0.0).then_some(p.target_rate),
        total_responses: p.total_responses,
        total_errors: p.total_errors,
    })
}

#[cfg(test)]
mod tests {
    use loadgen::Target;

    use super::*;

    fn plan() -> RunPlan {
        let mut target = Target::get("http://127.0.0.1:8080/a?b=c").unwrap();
        target.method = http::Method::POST;
        target.add_header("x-test", "1").unwrap();
        target.body = Bytes::from_static(b"hello");
        let mut plan = RunPlan::new(vec![target]);
        plan.http = HttpVersion::Http2;
        plan.h2_streams = 4;
        plan.connections = 7;
        plan.threads = 3;
        plan.load = Load::Open(RateShape::Stages(vec![Stage { duration: Duration::from_secs(2), rate: 100.0 }]));
        plan.duration = None;
        plan.max_requests = Some(50);
        plan.warmup = Duration::from_millis(500);
        plan.timeout = Duration::from_secs(3);
        plan.shard = Shard { index: 1, count: 3 };
        plan.start_at = Some(SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123));
        plan
    }

    #[test]
    fn plan_round_trips() {
        let plan = plan();
        let back = request_from_proto(plan_to_proto(&plan)).unwrap().into_run().unwrap().plan;
        assert_eq!(back.targets[0].url, plan.targets[0].url);
        assert_eq!(back.targets[0].method, http::Method::POST);
        assert_eq!(back.targets[0].headers, plan.targets[0].headers);
        assert_eq!(back.targets[0].body, plan.targets[0].body);
        assert_eq!(
            (back.http, back.h2_streams, back.connections, back.threads),
            (plan.http, plan.h2_streams, plan.connections, plan.threads)
        );
        assert_eq!(back.load, plan.load);
        assert_eq!(
            (back.duration, back.max_requests, back.warmup, back.timeout),
            (None, Some(50), plan.warmup, plan.timeout)
        );
        assert_eq!((back.shard, back.start_at), (plan.shard, plan.start_at));
    }

    #[test]
    fn a_grpc_call_travels_as_its_encoded_message() {
        let mut target = Target::get("grpc://127.0.0.1:50051/demo.Greeter/Hello").unwrap();
        target.method = http::Method::POST;
        target.body = Bytes::from_static(b"\x0a\x01a");
        target.add_header("x-tenant", "t").unwrap();
        let mut plan = RunPlan::new(vec![target]);
        plan.http = HttpVersion::Http2;
        let back = request_from_proto(plan_to_proto(&plan)).unwrap().into_run().unwrap().plan;
        assert!(back.is_grpc());
        assert_eq!(back.targets[0].url.path(), "/demo.Greeter/Hello");
        assert_eq!(
            (&back.targets[0].body, &back.targets[0].headers),
            (&plan.targets[0].body, &plan.targets[0].headers)
        );
        assert_eq!(back.http, HttpVersion::Http2);
    }

    #[test]
    fn pem_travels_in_the_plan_and_threads_are_chosen_here() {
        let mut p = plan_to_proto(&RunPlan::new(vec![Target::get("https://127.0.0.1/").unwrap()]));
        p.threads = 0;
        p.connections = 2;
        p.tls = Some(proto::Tls { ca_cert_pem: "PEM".into(), ..Default::default() });
        let r = request_from_proto(p).unwrap();
        assert_eq!(r.threads, None);
        assert_eq!(r.tls.ca_certs, Some(PemSource::Pem(Pem::new(&b"PEM"[..]))));
        // Not a certificate: refused by the converter, named on the wire.
        let err = r.into_run().unwrap_err();
        assert_eq!(wire_name(err.field), "plan.tls.ca_cert_pem");
    }

    #[test]
    fn bad_plans_name_the_field() {
        let mut p = plan_to_proto(&RunPlan::new(vec![Target::get("http://127.0.0.1/").unwrap()]));
        p.targets[0].url = "ftp://x/".into();
        let err = request_from_proto(p.clone()).unwrap().into_run().unwrap_err();
        assert_eq!(wire_name(err.field), "plan.targets[0].url");
        p.targets[0].url = "http://127.0.0.1/".into();
        p.connections = 0;
        let err = request_from_proto(p.clone()).unwrap().into_run().unwrap_err();
        assert_eq!(wire_name(err.field), "plan.connections");
        p.duration = None;
        assert!(matches!(request_from_proto(p), Err(ServiceError::Invalid { field, .. }) if field == "plan.duration"));
    }

    #[test]
    fn stats_round_trip() {
        let mut s = Stats::new();
        for v in [10, 200, 3000, 45_000] {
            s.latency.record_us(v);
            s.service.record_us(v / 2);
        }
        s.send_lag.record_us(3);
        s.sent = 6;
        s.count_status(200);
        s.count_status(200);
        s.count_status(503);
        s.count_status(42);
        s.count_error(ErrorKind::Timeout);
        s.count_error(ErrorKind::ConnectRefused);
        s.bytes_sent = 100;
        s.bytes_received = 200;
        s.unsent = 1;
        s.after_window = 2;
        s.after_window_successful = 1;
        s.messages.keep(ErrorKind::ConnectRefused, "Connection refused (os error 111)");
        s.count_grpc(Code::Ok);
        s.count_grpc(Code::Unavailable);
        s.grpc_messages.keep(Code::Unavailable, "shedding load");
        let back = stats_from_proto(&stats_to_proto(&s)).unwrap();
        assert_eq!(back, s);
        let bad = proto::Stats { latency_hdr: "nope".into(), ..Default::default() };
        assert!(stats_from_proto(&bad).is_err());
    }

    #[test]
    fn snapshot_round_trips() {
        let mut interval = Stats::new();
        interval.count_status(200);
        interval.latency.record_us(1234);
        let snap = Snapshot {
            elapsed: Duration::from_secs(3),
            phase: Phase::Measuring,
            interval,
            interval_len: Duration::from_millis(1001),
            target_rate: Some(50.0),
            total_responses: 9,
            total_errors: 1,
        };
        let back = snapshot_from_proto(&progress_to_proto(3, &snap)).unwrap();
        assert_eq!((back.elapsed, back.phase, back.interval_len), (snap.elapsed, snap.phase, snap.interval_len));
        assert_eq!((back.target_rate, back.total_responses, back.total_errors), (Some(50.0), 9, 1));
        assert_eq!(back.interval, snap.interval);
    }
}
