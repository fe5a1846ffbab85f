//! Meshery performance profiles (REST/GraphQL JSON) of both naming eras, as SMP test configs.
//!
//! [`MesheryProfile::read`] is the one reader of Meshery profiles: `meshperf run --profile`,
//! the server's profile API and the runs of stored profiles all go through it.
//! Legacy keys are snake_case (`load_generators`, `concurrent_request`, `request_headers`),
//! current ones camelCase (`loadGenerators`, `concurrentRequest`, `requestHeaders`); the
//! meshery-nighthawk component spells the request fields `headers`, `cookies`, `body`.
//! Headers and cookies are JSON text (`"{\"k\": \"v\"}"`) or objects. Server-computed keys
//! (`owner`, `user_id`, `last_run`, `total_results`, `created_at`, `updated_at`, `schedule`)
//! are accepted and ignored.

use std::collections::BTreeMap;

use serde_json::Value;

use super::Mesh;
use super::reader::{Obj, kind, string_map};
use super::smp_config::{MAX_CONNECTIONS, MAX_RPS, client};
use crate::error::SmpError;
use crate::model::PerformanceTestConfig;
use crate::model::performance_test_config::Client;

/// The keys of a profile, canonical (snake_case); each may also be written in camelCase.
pub const KEYS: [&str; 20] = [
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
/// Other spellings of [`KEYS`] (the meshery-nighthawk component's): `(alias, key)`.
pub const ALIASES: [(&str, &str); 4] = [
    ("headers", "request_headers"),
    ("cookies", "request_cookies"),
    ("body", "request_body"),
    ("load_generator", "load_generators"),
];
/// The keys of `metadata` that are read (other keys are kept as given).
pub const METADATA_KEYS: [&str; 2] = ["additional_options", "ca_certificate"];

/// Whether a top-level object looks like a Meshery profile rather than an SMP test config.
pub(crate) fn looks_like_profile(map: &serde_json::Map<String, Value>) -> bool {
    map.keys().map(|k| super::reader::snake(k)).any(|k| {
        matches!(
            k.as_str(),
            "endpoints" | "load_generators" | "concurrent_request" | "qps" | "service_mesh" | "request_headers"
        )
    })
}

/// A Meshery performance profile, read and checked: what the server stores and what runs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MesheryProfile {
    /// The profile's id (empty when new).
    pub id: String,
    /// Its name.
    pub name: String,
    /// Meshery's schedule id, when set.
    pub schedule: Option<String>,
    /// Generators asked for, lowercase (meshperf's engine runs them all).
    pub load_generators: Vec<String>,
    /// Target URLs.
    pub endpoints: Vec<String>,
    /// The service mesh label (empty: none).
    pub service_mesh: String,
    /// Connections as given (Meshery: 0 means 1).
    pub concurrent_request: i64,
    /// Requests per second (0: as fast as possible).
    pub qps: i64,
    /// Duration text, checked (empty: the default).
    pub duration: String,
    /// Headers.
    pub request_headers: BTreeMap<String, String>,
    /// Cookies.
    pub request_cookies: BTreeMap<String, String>,
    /// Body.
    pub request_body: String,
    /// Body content type.
    pub content_type: String,
    /// The whole metadata object (`additional_options` checked; other keys kept as given).
    pub metadata: serde_json::Map<String, Value>,
}

impl MesheryProfile {
    /// Reads a Meshery profile at `path` (usually the top level), in either key style.
    pub fn read(value: Value, path: &str) -> Result<Self, SmpError> {
        let mut o = Obj::new(value, path, &KEYS, &ALIASES)?;
        let json_map = |o: &mut Obj, key: &str| -> Result<BTreeMap<String, String>, SmpError> {
            let at = o.at(key);
            match o.take(key) {
                None => Ok(BTreeMap::new()),
                Some(Value::String(s)) if s.trim().is_empty() => Ok(BTreeMap::new()),
                Some(Value::String(s)) => {
                    let v: Value = serde_json::from_str(&s).map_err(|e| {
                        SmpError::field(
                            &at,
                            format!("is not a JSON object ({e}); write e.g. {{\"X-Name\": \"value\"}}"),
                        )
                    })?;
                    string_map(v, &at)
                }
                Some(v @ Value::Object(_)) => string_map(v, &at),
                Some(v) => Err(SmpError::field(at, format!("expected a JSON object or its text, found {}", kind(&v)))),
            }
        };
        let request_headers = json_map(&mut o, "request_headers")?;
        let request_cookies = json_map(&mut o, "request_cookies")?;
        let metadata = match o.take("metadata") {
            None => serde_json::Map::new(),
            Some(Value::Object(m)) => m,
            Some(v) => {
                return Err(SmpError::field(o.at("metadata"), format!("expected an object, found {}", kind(&v))));
            }
        };
        let load_generators = o
            .string_list("load_generators")?
            .iter()
            .enumerate()
            .map(|(i, g)| check_generator(&format!("{}[{i}]", o.at("load_generators")), g))
            .collect::<Result<Vec<_>, _>>()?;
        let concurrent_request = o.int("concurrent_request", 0, MAX_CONNECTIONS)?.unwrap_or(0);
        let qps = match o.take("qps") {
            None => 0,
            Some(v) => rate(&v).ok_or_else(|| {
                SmpError::field(
                    o.at("qps"),
                    format!("expected a rate between 0 and {MAX_RPS} (0 = as fast as possible), found {v}"),
                )
            })?,
        };
        let duration = o.string("duration")?;
        if !duration.is_empty() {
            loadgen::parse::duration(&duration).map_err(|e| SmpError::field(o.at("duration"), e.0))?;
        }
        let schedule = Some(o.string("schedule")?).filter(|s| !s.is_empty());
        let profile = MesheryProfile {
            id: o.string("id")?,
            name: o.string("name")?,
            schedule,
            load_generators,
            endpoints: o.string_list("endpoints")?,
            service_mesh: o.string("service_mesh")?,
            concurrent_request,
            qps,
            duration,
            request_headers,
            request_cookies,
            request_body: o.string("request_body")?,
            content_type: o.string("content_type")?,
            metadata,
        };
        // The client reader checks URLs and options; its paths are rewritten to the profile's keys.
        profile.client(path)?;
        Ok(profile)
    }

    /// The profile as the SMP test config it runs, and its mesh.
    pub fn to_config(&self) -> Result<(PerformanceTestConfig, Option<Mesh>), SmpError> {
        let client = self.client("")?;
        let mesh = Some(self.service_mesh.clone()).filter(|m| !m.is_empty()).map(Mesh::Name);
        Ok((
            PerformanceTestConfig {
                smp_version: String::new(),
                id: self.id.clone(),
                name: self.name.clone(),
                labels: Default::default(),
                clients: vec![client],
                duration: self.duration.clone(),
            },
            mesh,
        ))
    }

    /// The profile as Meshery's (legacy, snake_case) JSON.
    pub fn to_value(&self) -> Value {
        serde_json::json!({
            "id": self.id,
            "name": self.name,
            "schedule": self.schedule,
            "load_generators": self.load_generators,
            "endpoints": self.endpoints,
            "service_mesh": self.service_mesh,
            "concurrent_request": self.concurrent_request,
            "qps": self.qps,
            "duration": self.duration,
            "request_headers": self.request_headers,
            "request_cookies": self.request_cookies,
            "request_body": self.request_body,
            "content_type": self.content_type,
            "metadata": self.metadata,
        })
    }

    /// The SMP client of this profile, read (and so checked) by the client reader.
    fn client(&self, path: &str) -> Result<Client, SmpError> {
        let mut meta = Obj::new(
            Value::Object(
                self.metadata
                    .iter()
                    .filter(|(k, _)| METADATA_KEYS.contains(&super::reader::snake(k).as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
            &super::reader::join(path, "metadata"),
            &METADATA_KEYS,
            &[],
        )?;
        let ca = match meta.take("ca_certificate") {
            None => Value::Null,
            Some(c) => {
                let mut c = Obj::new(c, &meta.at("ca_certificate"), &["name", "file", "cert_name"], &[])?;
                let _ = c.string("name")?;
                let _ = c.string("cert_name")?;
                Value::String(c.string("file")?)
            }
        };
        let client_value = serde_json::json!({
            "load_generator": self.load_generators.first().cloned().unwrap_or_default(),
            "connections": self.concurrent_request,
            "rps": self.qps,
            "headers": self.request_headers,
            "cookies": self.request_cookies,
            "body": self.request_body,
            "content_type": self.content_type,
            "endpoint_urls": self.endpoints,
            "ssl_certificate": ca,
            "additional_options": meta.take("additional_options").unwrap_or(Value::Null),
        });
        client(client_value, path).map_err(|e| rename_paths(e, path))
    }
}

/// Load generators a profile may name; all run on meshperf's engine.
pub const GENERATORS: [&str; 4] = ["meshperf", "fortio", "wrk2", "nighthawk"];

/// A generator name, lowercased, or an error at `path` naming the ones accepted.
pub(crate) fn check_generator(path: &str, g: &str) -> Result<String, SmpError> {
    let lower = g.trim().to_ascii_lowercase();
    if GENERATORS.contains(&lower.as_str()) {
        Ok(lower)
    } else {
        Err(SmpError::field(
            path,
            format!("{:?} is not a load generator; use one of {}", super::reader::short(g), GENERATORS.join(", ")),
        ))
    }
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

/// Client paths (`endpoint_urls`, ...) as the profile's keys (`endpoints`, ...).
pub(crate) fn rename_paths(e: SmpError, path: &str) -> SmpError {
    let rename = |p: String| {
        let rest = p.strip_prefix(path).unwrap_or(&p).trim_start_matches('.').to_string();
        let rest = rest_key(&rest);
        super::reader::join(path, &rest)
    };
    match e {
        SmpError::Field { path, reason } => SmpError::Field { path: rename(path), reason },
        SmpError::UnknownKey { path, hint } => SmpError::UnknownKey { path: rename(path), hint },
        other => other,
    }
}

/// An SMP client key path in Meshery's terms.
pub(crate) fn rest_key(rest: &str) -> String {
    [
        ("endpoint_urls", "endpoints"),
        ("additional_options", "metadata.additional_options"),
        ("headers", "request_headers"),
        ("cookies", "request_cookies"),
        ("connections", "concurrent_request"),
        ("rps", "qps"),
        ("body", "request_body"),
        ("ssl_certificate", "metadata.ca_certificate.file"),
        ("load_generator", "load_generators"),
    ]
    .iter()
    .fold(rest.to_string(), |r, (from, to)| if r.starts_with(from) { r.replacen(from, to, 1) } else { r })
}
