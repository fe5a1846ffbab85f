//! The engine over HTTP/2 (h2c and ALPN), TLS with a custom CA, mTLS and insecure mode, and the
//! kinds its failures are counted under.

use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use loadgen::{ErrorKind, HttpVersion, Load, RateShape, RunPlan, Target, TlsOptions};
use meshperf_e2e::server::TestServer;
use meshperf_e2e::tls::TestPki;

/// A PEM file's bytes, as a plan carries them.
fn pem(path: &std::path::Path) -> loadgen::Pem {
    loadgen::Pem::new(std::fs::read(path).expect("PEM file"))
}

fn plan(url: &str, n: u64) -> RunPlan {
    let mut p = RunPlan::new(vec![Target::get(url).unwrap()]);
    p.threads = 1;
    p.connections = 2;
    p.duration = None;
    p.max_requests = Some(n);
    p.timeout = Duration::from_secs(5);
    p
}

#[test]
fn h2c_with_many_streams() {
    let server = TestServer::plain();
    let mut p = plan(&server.url("/"), 2000);
    p.http = HttpVersion::Http2;
    p.h2_streams = 8;
    let r = loadgen::run_blocking(p.validate().unwrap()).unwrap();
    assert_eq!(r.stats.responses, 2000, "{:?}", r.stats.error_kinds());
    assert_eq!(server.control.h2_requests.load(Ordering::Relaxed), 2000);
}

#[test]
fn h2_open_loop_holds_the_rate() {
    let server = TestServer::plain();
    let mut p = plan(&server.url("/"), 0);
    p.max_requests = None;
    p.http = HttpVersion::Http2;
    p.h2_streams = 4;
    p.load = Load::Open(RateShape::Constant(500.0));
    p.duration = Some(Duration::from_secs(2));
    let r = loadgen::run_blocking(p.validate().unwrap()).unwrap();
    assert!((990..=1010).contains(&r.stats.responses), "{}", r.stats.responses);
}

#[test]
fn https_with_custom_ca_over_h1_and_h2() {
    let pki = TestPki::new();
    for (alpn, http) in
        [(&[b"http/1.1".as_slice()][..], HttpVersion::Http1), (&[b"h2".as_slice()][..], HttpVersion::Http2)]
    {
        let server = TestServer::tls(pki.server_config(alpn, false));
        let mut p = plan(&server.url("/"), 300);
        p.http = http;
        p.tls = TlsOptions { ca_certs: Some(pem(&pki.ca_pem)), ..Default::default() };
        let r = loadgen::run_blocking(p.validate().unwrap()).unwrap();
        assert_eq!(r.stats.responses, 300, "{http:?}: {:?}", r.stats.error_kinds());
    }
}

#[test]
fn mtls_needs_the_client_certificate() {
    let pki = TestPki::new();
    let server = TestServer::tls(pki.server_config(&[b"http/1.1"], true));
    let mut p = plan(&server.url("/"), 50);
    p.tls = TlsOptions {
        ca_certs: Some(pem(&pki.ca_pem)),
        client_cert: Some(pem(&pki.client_cert)),
        client_key: Some(pem(&pki.client_key)),
        insecure: false,
    };
    let r = loadgen::run_blocking(p.clone().validate().unwrap()).unwrap();
    assert_eq!(r.stats.responses, 50, "{:?}", r.stats.error_kinds());
    p.tls.client_cert = None;
    p.tls.client_key = None;
    p.max_requests = Some(20);
    let r = loadgen::run_blocking(p.validate().unwrap()).unwrap();
    assert_eq!(r.stats.responses, 0);
    assert!(
        r.stats.errors_of(ErrorKind::Tls) + r.stats.errors_of(ErrorKind::Reset) >= 20,
        "{:?}",
        r.stats.error_kinds()
    );
}

#[test]
fn untrusted_certificate_is_a_tls_error_unless_insecure() {
    let pki = TestPki::new();
    let server = TestServer::tls(pki.server_config(&[b"http/1.1"], false));
    let mut p = plan(&server.url("/"), 10);
    let other = TestPki::new();
    p.tls = TlsOptions { ca_certs: Some(pem(&other.ca_pem)), ..Default::default() };
    let r = loadgen::run_blocking(p.clone().validate().unwrap()).unwrap();
    assert_eq!(r.stats.errors_of(ErrorKind::Tls), 10, "{:?}", r.stats.error_kinds());
    p.tls = TlsOptions { insecure: true, ..Default::default() };
    let r = loadgen::run_blocking(p.validate().unwrap()).unwrap();
    assert_eq!(r.stats.responses, 10);
}

#[test]
fn refused_and_timed_out_requests_are_counted_by_kind() {
    // A port nobody listens on: bind, note the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut p = plan(&format!("http://127.0.0.1:{port}/"), 0);
    p.max_requests = None;
    p.duration = Some(Duration::from_millis(500));
    let r = loadgen::run_blocking(p.validate().unwrap()).unwrap();
    assert!(r.stats.errors_of(ErrorKind::ConnectRefused) > 0, "{:?}", r.stats.error_kinds());
    assert_eq!(r.stats.responses, 0);

    let server = TestServer::plain();
    server.control.hang.store(true, Ordering::Relaxed);
    let mut p = plan(&server.url("/"), 4);
    p.timeout = Duration::from_millis(300);
    let started = std::time::Instant::now();
    let r = loadgen::run_blocking(p.validate().unwrap()).unwrap();
    server.control.hang.store(false, Ordering::Relaxed);
    assert_eq!(r.stats.errors_of(ErrorKind::Timeout), 4, "{:?}", r.stats.error_kinds());
    assert!(started.elapsed() < Duration::from_secs(3));
}

/// A server that accepts TCP and never completes the TLS handshake: the pre-connect phase gives
/// up after 2 s (not a whole timeout), the slots' own connects time out once within the
/// window, and the run ends one timeout after its window; cancel ends such a run at once.
#[test]
fn timing_a_stalled_tls_handshake_costs_one_timeout_and_cancel_ends_it() {
    let silent = meshperf_e2e::silent::SilentServer::start();
    let url = format!("https://127.0.0.1:{}/", silent.addr.port());
    let mut p = plan(&url, 0);
    p.max_requests = None;
    p.connections = 2;
    p.threads = 1;
    p.load = Load::Open(RateShape::Constant(4.0));
    p.duration = Some(Duration::from_secs(1));
    p.timeout = Duration::from_secs(6);
    let started = std::time::Instant::now();
    let r = loadgen::run_blocking(p.clone().validate().unwrap()).unwrap();
    let took = started.elapsed();
    assert!(r.stats.errors_of(ErrorKind::Timeout) > 0, "{:?}", r.stats.error_kinds());
    assert_eq!(r.stats.responses, 0);
    // 2 s pre-connect + 1 s window + 6 s for the last requests: 9 s; two timeouts would be 13 s.
    assert!(took < Duration::from_secs(11), "took {took:?}");

    p.duration = Some(Duration::from_secs(60));
    p.timeout = Duration::from_secs(3600);
    let h = loadgen::start(p.validate().unwrap()).unwrap();
    let cancel = h.canceller();
    let follower = std::thread::spawn(move || {
        let mut h = h;
        while h.next_snapshot_blocking().is_some() {}
        (h.wait_blocking().unwrap(), std::time::Instant::now())
    });
    std::thread::sleep(Duration::from_millis(2500));
    let asked = std::time::Instant::now();
    cancel.cancel();
    let (report, ended) = follower.join().unwrap();
    assert!(report.cancelled);
    assert!(ended.duration_since(asked) < Duration::from_secs(1), "cancel took {:?}", ended.duration_since(asked));
}

#[test]
fn bodies_headers_and_methods_reach_the_server() {
    let server = TestServer::plain();
    for http in [HttpVersion::Http1, HttpVersion::Http2] {
        let mut t = Target::get(&server.url("/echo")).unwrap();
        t.method = http::Method::POST;
        t.add_header_line("X-Test: yes").unwrap();
        t.body = Bytes::from_static(b"payload!");
        let mut p = plan(&server.url("/"), 10);
        p.targets = vec![t];
        p.http = http;
        let before = server.control.body_bytes.load(Ordering::Relaxed);
        let r = loadgen::run_blocking(p.validate().unwrap()).unwrap();
        assert_eq!(r.stats.responses, 10);
        assert_eq!(server.control.body_bytes.load(Ordering::Relaxed) - before, 80);
        let seen = server.control.last_request().unwrap();
        assert!(seen.starts_with("POST /echo"), "{seen}");
        assert!(seen.contains("x-test: yes"), "{seen}");
        assert!(r.stats.bytes_received > 0 && r.stats.bytes_sent > 0);
    }
}

#[test]
fn cancel_stops_a_long_run_quickly() {
    let server = TestServer::plain();
    let mut p = plan(&server.url("/"), 0);
    p.max_requests = None;
    p.duration = Some(Duration::from_secs(60));
    let h = loadgen::start(p.validate().unwrap()).unwrap();
    let c = h.canceller();
    std::thread::sleep(Duration::from_millis(700));
    let t = std::time::Instant::now();
    c.cancel();
    let r = h.wait_blocking().unwrap();
    assert!(t.elapsed() < Duration::from_secs(2));
    assert!(r.cancelled);
    assert!(r.stats.responses > 0);
    assert!(r.elapsed < Duration::from_secs(2));
}

/// A policy that allows only loopback addresses, or nothing.
#[derive(Debug)]
struct Policy {
    loopback: bool,
}

impl loadgen::ConnectPolicy for Policy {
    fn allows(&self, _host: &str, ip: std::net::IpAddr) -> bool {
        self.loopback && ip.is_loopback()
    }
}

#[test]
fn connect_policy_is_checked_on_the_resolved_address() {
    let server = TestServer::plain();
    // `localhost` resolves at connect time; the policy sees the address, not the name.
    let url = format!("http://localhost:{}/", server.addr.port());
    let mut p = plan(&url, 5);
    p.connect_policy = Some(std::sync::Arc::new(Policy { loopback: false }));
    p.max_requests = None;
    p.duration = Some(Duration::from_millis(300));
    let r = loadgen::run_blocking(p.clone().validate().unwrap()).unwrap();
    assert_eq!(server.control.served.load(Ordering::Relaxed), 0, "no request may reach a refused address");
    assert!(r.stats.errors_of(ErrorKind::Connect) > 0, "{:?}", r.stats.error_kinds());
    p.connect_policy = Some(std::sync::Arc::new(Policy { loopback: true }));
    p.duration = None;
    p.max_requests = Some(5);
    let r = loadgen::run_blocking(p.validate().unwrap()).unwrap();
    assert_eq!(r.stats.responses, 5, "{:?}", r.stats.error_kinds());
}
