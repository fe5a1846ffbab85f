//! Tests of the request type and its conversion.

use std::time::Duration;

use loadgen::{Field, HttpVersion, Load, Pem, RateShape, Stage};

use super::*;

fn url() -> RunRequest {
    RunRequest::for_urls(["http://127.0.0.1:8080/"])
}

#[test]
fn defaults_are_applied_once() {
    let run = url().into_run().unwrap();
    let p = &run.plan;
    assert_eq!(p.connections, DEFAULT_CONNECTIONS);
    assert_eq!(p.duration, Some(DEFAULT_DURATION));
    assert_eq!(p.load, Load::Closed);
    assert_eq!(p.timeout, loadgen::plan::DEFAULT_TIMEOUT);
    assert_eq!((p.http, p.h2_streams, p.warmup), (HttpVersion::Http1, 1, Duration::ZERO));
    assert_eq!(p.targets[0].method, http::Method::GET);
    assert_eq!(run.meta.name, "meshperf run http://127.0.0.1:8080/");
    let counted = RunRequest { max_requests: Some(10), ..url() }.into_run().unwrap();
    assert_eq!((counted.plan.duration, counted.plan.max_requests), (None, Some(10)));
    let stages = Load::Open(RateShape::Stages(vec![Stage { duration: Duration::from_secs(2), rate: 5.0 }]));
    let staged = RunRequest { load: Some(stages), ..url() }.into_run().unwrap();
    assert_eq!((staged.plan.duration, staged.plan.measured_duration()), (None, Some(Duration::from_secs(2))));
}

#[test]
fn request_values_shape_targets() {
    let r = RunRequest {
        headers: vec![("X-A".into(), "1".into()), ("Content-Type".into(), "text/plain".into())],
        cookies: vec![("a".into(), "1".into()), ("b".into(), "2".into())],
        body: Some("hi".into()),
        content_type: Some("application/json".into()),
        ..url()
    };
    let run = r.into_run().unwrap();
    let t = &run.plan.targets[0];
    assert_eq!(t.method, http::Method::POST);
    let header =
        |n: &str| t.headers.iter().filter(|(k, _)| k == n).map(|(_, v)| v.to_str().unwrap()).collect::<Vec<_>>();
    assert_eq!(header("cookie"), ["a=1; b=2"]);
    assert_eq!(header("content-type"), ["text/plain"], "an explicit header wins over content_type");
}

#[test]
fn overlay_puts_the_top_values_over_the_base() {
    let mut base = RunRequest {
        connections: Some(4),
        duration: Some(Duration::from_secs(60)),
        headers: vec![("x-a".into(), "1".into()), ("x-b".into(), "2".into())],
        meta: RequestMeta { name: Some("profile".into()), ..RequestMeta::default() },
        ..url()
    };
    let stages = Load::Open(RateShape::Stages(vec![Stage { duration: Duration::from_secs(1), rate: 5.0 }]));
    base.overlay(RunRequest {
        urls: vec!["http://127.0.0.1:9/other".into()],
        headers: vec![("X-A".into(), "9".into())],
        load: Some(stages),
        ..RunRequest::default()
    });
    assert_eq!(base.urls, ["http://127.0.0.1:9/other"]);
    assert_eq!(base.connections, Some(4));
    assert_eq!(base.duration, None, "stages without a duration drop the base's duration");
    assert_eq!(base.headers, [("x-b".to_string(), "2".to_string()), ("X-A".into(), "9".into())]);
    assert_eq!(base.meta.name.as_deref(), Some("profile"));
    assert!(base.sets(Field::Connections) && !base.sets(Field::Threads));
}

#[test]
fn errors_name_the_field_neutrally() {
    for (r, field) in [
        (RunRequest::default(), Field::Targets),
        (RunRequest::for_urls(["http://a/", "ftp://b/"]), Field::Url(1)),
        (RunRequest { connections: Some(0), ..url() }, Field::Connections),
        (RunRequest { headers: vec![("bad name".into(), "1".into())], ..url() }, Field::Header),
        (RunRequest { load: Some(Load::Open(RateShape::Constant(-1.0))), ..url() }, Field::Rate),
        (RunRequest { timeout: Some(Duration::ZERO), ..url() }, Field::Timeout),
        (RunRequest { h2_streams: Some(0), ..url() }, Field::H2Streams),
    ] {
        assert_eq!(r.into_run().unwrap_err().field, field);
    }
}

#[test]
fn pem_travels_as_bytes_and_files_are_refused() {
    let file = RunRequest {
        tls: TlsRequest { ca_certs: Some(PemSource::from_text("/etc/ssl/ca.pem")), ..TlsRequest::default() },
        ..url()
    };
    let err = file.clone().into_run().unwrap_err();
    assert_eq!(err.field, Field::CaCert);
    assert!(err.reason.contains("no file is read"), "{err}");
    let bad_pem = RunRequest {
        tls: TlsRequest {
            ca_certs: Some(PemSource::Pem(Pem::new(&b"-----BEGIN CERTIFICATE-----\nnope\n"[..]))),
            ..TlsRequest::default()
        },
        ..url()
    };
    assert_eq!(bad_pem.into_run().unwrap_err().field, Field::CaCert);
    let mut missing = file;
    let err = missing.read_files().unwrap_err();
    assert_eq!(err.0, Field::CaCert);
    assert!(err.1.contains("/etc/ssl/ca.pem"), "{}", err.1);
}
