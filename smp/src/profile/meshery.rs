//! Meshery performance profiles (REST/GraphQL JSON) of both naming eras, as SMP test configs.
//!
//! Legacy keys are snake_case (`load_generators`, `concurrent_request`, `request_headers`),
//! current ones camelCase (`loadGenerators`, `concurrentRequest`, `requestHeaders`); the
//! meshery-nighthawk component spells the request fields `headers`, `cookies`, `body`.
//! Headers and cookies are JSON text (`"{\"k\": \"v\"}"`) or objects. Server-computed keys
//! (`owner`, `user_id`, `last_run`, `total_results`, `created_at`, `updated_at`, `schedule`)
//! are accepted and ignored.

use serde_json::Value;

use super::Mesh;
use super::reader::{Obj, kind, string_map};
use super::smp_config::{MAX_CONNECTIONS, MAX_RPS, client};
use crate::error::SmpError;
use crate::model::PerformanceTestConfig;

const KEYS: [&str; 20] = [
    "id",
    "name",
    "owner",
    "user_id",
    "schedule",
    "load_generators",
    "endpoints",
    "service_mesh",
    "concurrent_request",
    "qps",
    "duration",
    "request_headers",
    "request_cookies",
    "request_body",
    "content_type",
    "metadata",
    "last_run",
    "total_results",
    "created_at",
    "updated_at",
];
const ALIASES: [(&str, &str); 4] = [
    ("headers", "request_headers"),
    ("cookies", "request_cookies"),
    ("body", "request_body"),
    ("load_generator", "load_generators"),
];
const METADATA_KEYS: [&str; 2] = ["additional_options", "ca_certificate"];

/// Whether a top-level object looks like a Meshery profile rather than an SMP test config.
pub(crate) fn looks_like_profile(map: &serde_json::Map<String, Value>) -> bool {
    map.keys().map(|k| super::reader::snake(k)).any(|k| {
        matches!(
            k.as_str(),
            "endpoints" | "load_generators" | "concurrent_request" | "qps" | "service_mesh" | "request_headers"
        )
    })
}

/// Converts a Meshery profile at `path` (usually the top level) into an SMP test config and
/// its mesh name.
pub(crate) fn profile(value: Value, path: &str) -> Result<(PerformanceTestConfig, Option<Mesh>), SmpError> {
    let mut o = Obj::new(value, path, &KEYS, &ALIASES)?;
    let json_map = |o: &mut Obj, key: &str| -> Result<Value, SmpError> {
        let at = o.at(key);
        match o.take(key) {
            None => Ok(Value::Null),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(Value::Null),
            Some(Value::String(s)) => {
                let v: Value = serde_json::from_str(&s).map_err(|e| {
                    SmpError::field(&at, format!("is not a JSON object ({e}); write e.g. {{\"X-Name\": \"value\"}}"))
                })?;
                string_map(v.clone(), &at)?;
                Ok(v)
            }
            Some(v @ Value::Object(_)) => Ok(v),
            Some(v) => Err(SmpError::field(at, format!("expected a JSON object or its text, found {}", kind(&v)))),
        }
    };
    let headers = json_map(&mut o, "request_headers")?;
    let cookies = json_map(&mut o, "request_cookies")?;
    let (options, ca) = match o.take("metadata") {
        None => (Value::Null, Value::Null),
        Some(v) => {
            // Other metadata keys are the server's business; keep only what a run needs.
            let v = match v {
                Value::Object(m) => Value::Object(
                    m.into_iter().filter(|(k, _)| METADATA_KEYS.contains(&super::reader::snake(k).as_str())).collect(),
                ),
                other => other,
            };
            let mut m = Obj::new(v, &o.at("metadata"), &METADATA_KEYS, &[])?;
            let ca = match m.take("ca_certificate") {
                None => Value::Null,
                Some(c) => {
                    let mut c = Obj::new(c, &m.at("ca_certificate"), &["name", "file"], &[])?;
                    Value::String(c.string("file")?)
                }
            };
            (m.take("additional_options").unwrap_or(Value::Null), ca)
        }
    };
    let generators = o.string_list("load_generators")?;
    let connections = o.int("concurrent_request", 0, MAX_CONNECTIONS)?;
    let qps = o.take("qps");
    let rps = match &qps {
        None => 0,
        Some(v) => rate(v).ok_or_else(|| {
            SmpError::field(
                o.at("qps"),
                format!("expected a rate between 0 and {MAX_RPS} (0 = as fast as possible), found {v}"),
            )
        })?,
    };
    let client_value = serde_json::json!({
        "load_generator": generators.first().cloned().unwrap_or_default(),
        "connections": connections.unwrap_or(0),
        "rps": rps,
        "headers": headers,
        "cookies": cookies,
        "body": o.string("request_body")?,
        "content_type": o.string("content_type")?,
        "endpoint_urls": o.string_list("endpoints")?,
        "ssl_certificate": ca,
        "additional_options": options,
    });
    // The client reader checks URLs and options; its paths are rewritten to the profile's keys.
    let client = client(client_value, path).map_err(|e| rename_paths(e, path))?;
    let mesh = match o.string("service_mesh")? {
        m if m.is_empty() => None,
        m => Some(Mesh::Name(m)),
    };
    let duration = o.string("duration")?;
    if !duration.is_empty() {
        loadgen::parse::duration(&o.at("duration"), &duration)
            .map_err(|e| super::options::plan_field(&o.at("duration"), e))?;
    }
    Ok((
        PerformanceTestConfig {
            smp_version: String::new(),
            id: o.string("id")?,
            name: o.string("name")?,
            labels: Default::default(),
            clients: vec![client],
            duration,
        },
        mesh,
    ))
}

/// A Meshery `qps`: a whole number in range, also as text; a fraction is rounded up.
fn rate(v: &Value) -> Option<i64> {
    let f = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    (f.is_finite() && (0.0..=MAX_RPS as f64).contains(&f)).then(|| f.ceil() as i64)
}

fn rename_paths(e: SmpError, path: &str) -> SmpError {
    let rename = |p: String| {
        let rest = p.strip_prefix(path).unwrap_or(&p).trim_start_matches('.').to_string();
        let rest = [
            ("endpoint_urls", "endpoints"),
            ("additional_options", "metadata.additional_options"),
            ("headers", "request_headers"),
            ("cookies", "request_cookies"),
            ("connections", "concurrent_request"),
        ]
        .iter()
        .fold(rest, |r, (from, to)| if r.starts_with(from) { r.replacen(from, to, 1) } else { r });
        super::reader::join(path, &rest)
    };
    match e {
        SmpError::Field { path, reason } => SmpError::Field { path: rename(path), reason },
        SmpError::UnknownKey { path, hint } => SmpError::UnknownKey { path: rename(path), hint },
        other => other,
    }
}
