//! Every way a token can be wrong gets 401 and no data from the real server, with the local
//! provider and with a remote provider (a fake one on loopback that publishes a JWKS and signs
//! its own RS256 tokens, or its keys given by `KEYS_PATH`).

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use http::Method;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use meshperf_e2e::serve::{Backend, ServerHome, ServerProcess};
use serde_json::json;

const KEY_A: &str = include_str!("../../server/src/providers/testdata/provider-a.key.pem");
const KEY_B: &str = include_str!("../../server/src/providers/testdata/provider-b.key.pem");
const JWKS_A: &str = include_str!("../../server/src/providers/testdata/provider-a.jwks.json");
const PUB_A: &str = include_str!("../../server/src/providers/testdata/provider-a.pub.pem");

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn tamper(token: &str) -> String {
    let mut parts: Vec<String> = token.split('.').map(String::from).collect();
    let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&parts[1]).unwrap();
    let mut claims: serde_json::Value = serde_json::from_slice(&claims).unwrap();
    claims["sub"] = json!("someone-else");
    parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string());
    parts.join(".")
}

fn unsigned(sub: &str) -> String {
    let b64 = |v: serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!("{}.{}.", b64(json!({"alg": "none", "typ": "JWT"})), b64(json!({"sub": sub, "exp": now() + 600})))
}

/// Asserts that every bad token gets 401 without data on data routes, and the good one 200.
fn check(server: &ServerProcess, good: &str, bad: &[(&str, String)]) {
    let seeded = server.request(
        Method::POST,
        "/api/user/performance/profiles",
        Some(r#"{"name":"private-profile","endpoints":["http://127.0.0.1:9/"]}"#),
        Some(good),
    );
    assert_eq!(seeded.status, 200, "{}", seeded.text());
    let routes = [
        "/api/user",
        "/api/user/performance/profiles",
        "/api/user/performance/profiles/results",
        "/api/perf/profile/result",
        "/api/perf/runs",
        "/api/perf/profile?name=x&url=http%3A%2F%2F127.0.0.1%3A9%2F&t=1",
    ];
    for (case, token) in bad {
        for route in routes {
            let token = (!token.is_empty()).then_some(token.as_str());
            let reply = server.request(Method::GET, route, None, token);
            assert_eq!(reply.status, 401, "{case} {route}: {}", reply.text());
            assert!(!reply.text().contains("private-profile"), "{case} {route} leaked data");
        }
    }
    let runs = server.get("/api/perf/runs", good).json();
    assert_eq!(runs["totalCount"], 0, "no bad token started a run");
    assert_eq!(server.get("/api/user/performance/profiles", good).json()["totalCount"], 1);
    for open in ["/healthz", "/readyz", "/api/system/version"] {
        assert_eq!(server.request(Method::GET, open, None, None).status, 200, "{open}");
    }
}

#[test]
fn local_provider_refuses_every_bad_token() {
    let home = ServerHome::new(Backend::Sqlite);
    let server = home.start();
    let good = server.local_token();
    let stranger_home = tempfile::tempdir().unwrap();
    let stranger = server::providers::LocalProvider::load_or_create(stranger_home.path())
        .unwrap()
        .mint(std::time::Duration::from_secs(600));
    let key = std::fs::read_to_string(home.path().join("local-provider.key")).unwrap();
    let secret = base64::engine::general_purpose::STANDARD.decode(key.trim()).unwrap();
    let sign = |claims: serde_json::Value| {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(&secret)).unwrap()
    };
    let claims = |iss: &str, aud: &str, nbf: u64, exp: u64| json!({"sub": "local", "name": "x", "iss": iss, "aud": aud, "iat": 1, "nbf": nbf, "exp": exp});
    let bad = [
        ("missing", String::new()),
        ("garbage", "not.a.token".to_string()),
        ("tampered", tamper(&good)),
        ("expired", sign(claims("meshperf-local", "meshperf", 1, now() - 3600))),
        ("valid from tomorrow", sign(claims("meshperf-local", "meshperf", now() + 86_400, now() + 200_000))),
        ("another audience", sign(claims("meshperf-local", "grafana", now(), now() + 600))),
        ("forged issuer", sign(claims("someone", "meshperf", now(), now() + 600))),
        ("no audience", sign(json!({"sub": "local", "iss": "meshperf-local", "exp": now() + 600}))),
        ("wrong key", stranger),
        ("unsigned", unsigned("local")),
    ];
    check(&server, &good, &bad);

    // The cookie works like the header; a bad cookie does not.
    let url = url::Url::parse(&format!("{}/api/user", server.url)).unwrap();
    for (cookie, status) in [(format!("token={good}"), 200), ("token=x.y.z".to_string(), 401)] {
        let mut call = server::http::client::Call::new(Method::GET, url.clone());
        call.headers.insert(http::header::COOKIE, cookie.parse().unwrap());
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (s, _, _) = rt.block_on(call.fetch()).unwrap();
        assert_eq!(s.as_u16(), status, "{cookie}");
    }
    assert!(server.terminate().success());
}

/// The issuer the keys-path server is told to accept.
const ISSUER: &str = "https://provider.example";

fn signed(key: &str, kid: Option<&str>, claims: &serde_json::Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = kid.map(String::from);
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_rsa_pem(key.as_bytes()).unwrap()).unwrap()
}

fn remote_token(key: &str, kid: Option<&str>, sub: &str, exp: u64, iss: &str) -> String {
    signed(key, kid, &json!({"sub": sub, "name": sub, "exp": exp, "iss": iss, "aud": "meshperf"}))
}

/// A fake remote provider: publishes its JWKS at `/keys` on loopback.
struct FakeProvider {
    url: String,
    _thread: std::thread::JoinHandle<()>,
}

impl FakeProvider {
    fn start() -> FakeProvider {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                let app = axum::Router::new().route("/keys", axum::routing::get(|| async { JWKS_A }));
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let _ = axum::serve(listener, app).await;
            });
        });
        FakeProvider { url, _thread: thread }
    }
}

fn remote_cases(server: &ServerProcess, iss: &str) {
    let good = remote_token(KEY_A, Some("key-a"), "ada", now() + 600, iss);
    let who = server.get("/api/user", &good).json();
    assert_eq!((who["userId"].as_str(), who["provider"].as_str()), (Some("ada"), Some("Remote")));
    // HS256 "signed" with the public key: the algorithm-confusion attack.
    let confused = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &json!({"sub": "ada", "exp": now() + 600}),
        &EncodingKey::from_secret(PUB_A.as_bytes()),
    )
    .unwrap();
    let bad = [
        ("missing", String::new()),
        ("expired", remote_token(KEY_A, Some("key-a"), "ada", now() - 3600, iss)),
        ("wrong key", remote_token(KEY_B, Some("key-a"), "ada", now() + 600, iss)),
        ("unknown kid", remote_token(KEY_B, Some("key-z"), "ada", now() + 600, iss)),
        ("forged issuer", remote_token(KEY_A, Some("key-a"), "ada", now() + 600, "https://evil.example")),
        (
            "another audience",
            signed(KEY_A, Some("key-a"), &json!({"sub": "ada", "exp": now() + 600, "iss": iss, "aud": "grafana"})),
        ),
        ("no audience", signed(KEY_A, Some("key-a"), &json!({"sub": "ada", "exp": now() + 600, "iss": iss}))),
        (
            "valid from tomorrow",
            signed(
                KEY_A,
                Some("key-a"),
                &json!({"sub": "ada", "exp": now() + 200_000, "nbf": now() + 86_400, "iss": iss, "aud": "meshperf"}),
            ),
        ),
        ("tampered", tamper(&good)),
        ("unsigned", unsigned("ada")),
        ("hmac with the public key", confused),
        ("a local token", {
            let home = tempfile::tempdir().unwrap();
            server::providers::LocalProvider::load_or_create(home.path())
                .unwrap()
                .mint(std::time::Duration::from_secs(60))
        }),
    ];
    check(server, &good, &bad);
    // Another user of the same provider sees none of ada's profiles.
    let bob = remote_token(KEY_A, Some("key-a"), "bob", now() + 600, iss);
    assert_eq!(server.get("/api/user/performance/profiles", &bob).json()["totalCount"], 0);
}

#[test]
fn remote_provider_with_published_keys() {
    let provider = FakeProvider::start();
    let mut home = ServerHome::new(Backend::Sqlite);
    home.env = vec![("PROVIDER".into(), "Remote".into()), ("PROVIDER_BASE_URLS".into(), provider.url.clone())];
    let server = home.start();
    remote_cases(&server, &provider.url);
    assert!(server.terminate().success());
}

#[test]
fn remote_provider_with_keys_path() {
    let mut home = ServerHome::new(Backend::Sqlite);
    let keys = home.path().join("provider-keys.json");
    std::fs::write(&keys, JWKS_A).unwrap();
    home.env = vec![
        ("PROVIDER".into(), "Remote".into()),
        ("KEYS_PATH".into(), keys.display().to_string()),
        ("MESHPERF_TOKEN_ISSUERS".into(), ISSUER.into()),
    ];
    let server = home.start();
    remote_cases(&server, ISSUER);
    assert!(server.terminate().success());
}
