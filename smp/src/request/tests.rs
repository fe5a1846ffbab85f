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

fn grpc(url: &str, call: &str) -> RunRequest {
    RunRequest {
        grpc: Some(GrpcRequest { call: Some(call.into()), ..GrpcRequest::default() }),
        ..RunRequest::for_urls([url])
    }
}

#[test]
fn a_grpc_call_is_encoded_once_into_its_targets() {
    let mut r = grpc("grpc://127.0.0.1:50051", "grpc.health.v1.Health/Check");
    r.grpc.as_mut().unwrap().data = Some(r#"{"service": "x"}"#.into());
    r.grpc.as_mut().unwrap().metadata = vec![("X-Tenant".into(), "a".into())];
    assert!(!r.needs_reflection());
    let plan = r.into_run().unwrap().plan;
    assert_eq!(plan.http, HttpVersion::Http2);
    let t = &plan.targets[0];
    assert_eq!(t.url.as_str(), "grpc://127.0.0.1:50051/grpc.health.v1.Health/Check");
    assert_eq!((&t.method, &t.body[..]), (&http::Method::POST, &b"\x0a\x01x"[..]));
    assert_eq!(t.headers.len(), 1);
    assert_eq!((t.headers[0].0.as_str(), t.headers[0].1.to_str().unwrap()), ("x-tenant", "a"));
    // The call may be the URL's path; the same path twice is fine, two different calls are not.
    let mut by_path = grpc("grpcs://svc:443/grpc.health.v1.Health/Check", "");
    by_path.grpc.as_mut().unwrap().call = None;
    assert!(by_path.into_run().unwrap().plan.targets[0].is_tls());
    assert!(grpc("grpc://h:1/grpc.health.v1.Health/Check", "grpc.health.v1.Health/Check").into_run().is_ok());
    let err = grpc("grpc://h:1/a.B/C", "grpc.health.v1.Health/Check").into_run().unwrap_err();
    assert_eq!(err.field, Field::Url(0));
}

#[test]
fn what_does_not_belong_to_a_grpc_call_is_refused() {
    let health = || grpc("grpc://127.0.0.1:50051", "grpc.health.v1.Health/Check");
    for (r, field, needle) in [
        (RunRequest { body: Some("x".into()), ..health() }, Field::Body, "JSON in `data`"),
        (RunRequest { content_type: Some("a/b".into()), ..health() }, Field::ContentType, "content type"),
        (RunRequest { method: Some(http::Method::GET), ..health() }, Field::Method, "POST"),
        (grpc("http://127.0.0.1:8080/", "grpc.health.v1.Health/Check"), Field::Url(0), "grpc://HOST:PORT"),
        (grpc("grpc://127.0.0.1:1", "Check"), Field::Call, "package.Service/Method"),
        (grpc("grpc://127.0.0.1:1", "demo.Svc/Do"), Field::Proto, "reflection"),
    ] {
        let err = r.into_run().unwrap_err();
        assert_eq!(err.field, field, "{err}");
        assert!(err.reason.contains(needle), "{err}");
    }
    let mut bad = health();
    bad.grpc.as_mut().unwrap().metadata = vec![("grpc-timeout".into(), "1S".into())];
    assert_eq!(bad.into_run().unwrap_err().field, Field::Metadata);
    let mut no_call = health();
    no_call.grpc.as_mut().unwrap().call = None;
    assert_eq!(no_call.into_run().unwrap_err().field, Field::Call);
}

#[test]
fn an_encoded_call_from_the_wire_converts_as_it_is() {
    let r = RunRequest {
        body: Some(bytes::Bytes::from_static(b"\x0a\x01x")),
        ..RunRequest::for_urls(["grpc://h:1/a.B/C"])
    };
    let plan = r.into_run().unwrap().plan;
    assert_eq!((plan.http, &plan.targets[0].method), (HttpVersion::Http2, &http::Method::POST));
    assert_eq!(&plan.targets[0].body[..], b"\x0a\x01x");
    // An empty message is a message too; the method is still POST.
    let empty = RunRequest::for_urls(["grpc://h:1/a.B/C"]).into_run().unwrap().plan;
    assert_eq!(empty.targets[0].method, http::Method::POST);
}

#[test]
fn grpc_values_overlay_and_files_compile() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("inc")).unwrap();
    std::fs::write(
        dir.path().join("inc/common.proto"),
        "syntax = \"proto3\"; package c; message Who { string name = 1; }",
    )
    .unwrap();
    let main = dir.path().join("svc.proto");
    std::fs::write(
        &main,
        "syntax = \"proto3\"; package demo; import \"common.proto\";\n\
         message Rep {} service Greeter { rpc Hello(c.Who) returns (Rep); }",
    )
    .unwrap();
    let mut r = grpc("grpc://127.0.0.1:50051", "demo.Greeter/Hello");
    assert!(r.needs_reflection());
    r.overlay(RunRequest {
        grpc: Some(GrpcRequest {
            data: Some(r#"{"name": "z"}"#.into()),
            proto: Some(ProtoSource::Files { files: vec![main], import_paths: vec![dir.path().join("inc")] }),
            ..GrpcRequest::default()
        }),
        ..RunRequest::default()
    });
    assert!(r.sets(Field::Proto) && r.sets(Field::Data) && r.sets(Field::Call) && !r.needs_reflection());
    // Files are the machine's user's to read: refused by the converter, compiled by read_files.
    assert_eq!(r.clone().into_run().unwrap_err().field, Field::Proto);
    r.read_files().unwrap();
    assert!(matches!(r.grpc.as_ref().unwrap().proto, Some(ProtoSource::Descriptors(_))));
    let plan = r.into_run().unwrap().plan;
    assert_eq!(&plan.targets[0].body[..], b"\x0a\x01z");
    let mut missing = grpc("grpc://h:1", "a.B/C");
    missing.grpc.as_mut().unwrap().proto =
        Some(ProtoSource::Files { files: vec!["/nonexistent/x.proto".into()], import_paths: Vec::new() });
    let (field, reason) = missing.read_files().unwrap_err();
    assert_eq!(field, Field::Proto);
    assert!(reason.contains("x.proto"), "{reason}");
}
