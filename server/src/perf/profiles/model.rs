//! The performance profile as the API reads and writes it (Meshery's model, reference §2.5).
//!
//! Input accepts both of Meshery's key styles (`concurrent_request` and `concurrentRequest`),
//! numbers as numbers or numeric strings, and headers/cookies as a JSON object or as the JSON
//! text Meshery stores; unknown keys are refused so a typo is an error. Output is camelCase.
//! Headers and cookies are credentials for the target: list views mask their values.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use smp::profile::{MesheryProfile, TestProfile};
use smp::request::{PemSource, RunRequest};

use crate::error::ServiceError;
use crate::store::ProfileRow;
use crate::store::now;

/// What masked header and cookie values read as.
pub const MASK: &str = "********";

/// Meshery's storage limits (meshery/schemas `performance_profile.yaml`).
const MAX_NAME: usize = 255;
const MAX_URL: usize = 2048;
const MAX_MESH: usize = 100;
const MAX_CONTENT_TYPE: usize = 255;
const MAX_MAP_TEXT: usize = 16_384;
const MAX_BODY: usize = 1024 * 1024;
const MAX_DURATION_TEXT: usize = 32;

/// A REST path in Meshery's current style: the first key camelCased (`concurrent_request` →
/// `concurrentRequest`, `load_generators[0]` → `loadGenerators[0]`), the rest as it is.
pub fn camel(path: &str) -> String {
    let split = path.find(['.', '[']).unwrap_or(path.len());
    let (head, rest) = path.split_at(split);
    let mut out = String::with_capacity(path.len());
    let mut upper = false;
    for c in head.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out + rest
}

/// Reads a profile as a client sent it (create or update) with the one Meshery reader, checks
/// Meshery's storage limits and that it can run, and returns it as a row owned by `owner`.
/// `existing` is the stored profile being updated (its creation time is kept).
pub fn into_row(
    value: Value,
    owner: &str,
    id: String,
    existing: Option<&ProfileRow>,
) -> Result<ProfileRow, ServiceError> {
    let bad = |field: &str, reason: &str| ServiceError::invalid(camel(field), reason);
    let profile = MesheryProfile::read(value, "").map_err(|e| smp_error(&e))?;
    let name = profile.name.trim().to_string();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(bad("name", "is required, 1 to 255 characters"));
    }
    if profile.endpoints.is_empty() {
        return Err(bad("endpoints", "give at least one URL, such as http://127.0.0.1:8080/"));
    }
    if let Some(i) = profile.endpoints.iter().position(|e| e.len() > MAX_URL) {
        return Err(bad(&format!("endpoints[{i}]"), "is longer than 2048 characters"));
    }
    let lengths = [
        ("service_mesh", profile.service_mesh.len(), MAX_MESH),
        ("content_type", profile.content_type.len(), MAX_CONTENT_TYPE),
        ("request_body", profile.request_body.len(), MAX_BODY),
        ("duration", profile.duration.len(), MAX_DURATION_TEXT),
        ("request_headers", map_text(&profile.request_headers).len(), MAX_MAP_TEXT),
        ("request_cookies", map_text(&profile.request_cookies).len(), MAX_MAP_TEXT),
    ];
    for (field, len, max) in lengths {
        if len > max {
            return Err(bad(field, &format!("is longer than {max} bytes")));
        }
    }
    if profile.concurrent_request > 100_000 {
        return Err(bad("concurrent_request", "must be at most 100000"));
    }
    if profile.qps > 1_000_000 {
        return Err(bad("qps", "must be at most 1000000"));
    }
    // It must run: the same conversion a run does, with no file read for the caller.
    runnable(&profile)?;
    let generators =
        if profile.load_generators.is_empty() { vec!["meshperf".to_string()] } else { profile.load_generators };
    let t = now();
    Ok(ProfileRow {
        id,
        owner: owner.to_string(),
        name,
        schedule: profile.schedule,
        load_generators: serde_json::to_string(&generators).unwrap_or_default(),
        endpoints: serde_json::to_string(&profile.endpoints).unwrap_or_default(),
        service_mesh: profile.service_mesh,
        concurrent_request: profile.concurrent_request.max(1),
        qps: profile.qps,
        duration: if profile.duration.trim().is_empty() { "30s".into() } else { profile.duration },
        request_headers: map_text(&profile.request_headers),
        request_cookies: map_text(&profile.request_cookies),
        request_body: profile.request_body,
        content_type: profile.content_type,
        metadata: Value::Object(profile.metadata).to_string(),
        created_at: existing.map_or(t, |e| e.created_at),
        updated_at: t,
        last_run: None,
        total_results: 0,
    })
}

/// A stored profile, read again with the one reader, as the request it runs.
pub fn request(row: &ProfileRow) -> Result<(TestProfile, RunRequest), ServiceError> {
    let profile = MesheryProfile::read(row_value(row), "").map_err(|e| smp_error(&e))?;
    let test = TestProfile::from_meshery(&profile).map_err(|e| smp_error(&e))?;
    let mut requests = test.requests().map_err(|e| smp_error(&e))?;
    let mut request = requests.pop().ok_or_else(|| ServiceError::invalid("endpoints", "the profile has no client"))?;
    request.meta.test_id = Some(row.id.clone());
    Ok((test, request))
}

/// The REST name of a plan field of a Meshery profile.
pub fn field_name(test: &TestProfile, field: loadgen::Field) -> String {
    camel(&test.path_of(0, field))
}

fn runnable(profile: &MesheryProfile) -> Result<(), ServiceError> {
    let test = TestProfile::from_meshery(profile).map_err(|e| smp_error(&e))?;
    for request in test.requests().map_err(|e| smp_error(&e))? {
        for (field, source) in [
            (loadgen::Field::CaCert, &request.tls.ca_certs),
            (loadgen::Field::ClientCert, &request.tls.client_cert),
            (loadgen::Field::ClientKey, &request.tls.client_key),
        ] {
            if let Some(PemSource::File(_)) = source {
                return Err(ServiceError::invalid(
                    field_name(&test, field),
                    "the server reads no certificate or key files; give the PEM text instead",
                ));
            }
        }
        // A call whose descriptors come from reflection is checked for its form; its message
        // is built when the profile runs.
        request.check().map_err(|e| ServiceError::invalid(field_name(&test, e.field), e.reason))?;
    }
    Ok(())
}

/// A profile reader's error as the REST door names it.
pub fn smp_error(e: &smp::SmpError) -> ServiceError {
    match e {
        smp::SmpError::Field { path, reason } => ServiceError::invalid(camel(path), reason.clone()),
        smp::SmpError::UnknownKey { path, hint } => ServiceError::invalid(camel(path), format!("unknown key; {hint}")),
        other => ServiceError::invalid("(body)", other.to_string()),
    }
}

/// A row as Meshery's profile JSON, for the reader.
fn row_value(row: &ProfileRow) -> Value {
    let json = |t: &str| serde_json::from_str::<Value>(t).unwrap_or(Value::Null);
    serde_json::json!({
        "id": row.id,
        "name": row.name,
        "schedule": row.schedule,
        "load_generators": json(&row.load_generators),
        "endpoints": json(&row.endpoints),
        "service_mesh": row.service_mesh,
        "concurrent_request": row.concurrent_request,
        "qps": row.qps,
        "duration": row.duration,
        "request_headers": row.request_headers,
        "request_cookies": row.request_cookies,
        "request_body": row.request_body,
        "content_type": row.content_type,
        "metadata": json(&row.metadata),
    })
}

fn map_text(m: &BTreeMap<String, String>) -> String {
    if m.is_empty() { String::new() } else { serde_json::to_string(m).unwrap_or_default() }
}

/// A page of profiles (`GET /api/user/performance/profiles`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProfilePage {
    /// The page, 0-based.
    pub page: i64,
    /// Rows per page.
    pub page_size: i64,
    /// Profiles matching the search, on all pages.
    pub total_count: i64,
    /// This page's profiles, header and cookie values masked.
    pub profiles: Vec<ProfileView>,
}

/// A profile as the API returns it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProfileView {
    /// UUID.
    pub id: String,
    /// Name.
    pub name: String,
    /// Owner's user id.
    pub owner: String,
    /// Meshery's schedule id.
    pub schedule: Option<String>,
    /// Generators asked for.
    pub load_generators: Vec<String>,
    /// Targets.
    pub endpoints: Vec<String>,
    /// Service mesh label.
    pub service_mesh: String,
    /// Connections.
    pub concurrent_request: i64,
    /// Rate (0 = unthrottled).
    pub qps: i64,
    /// Duration text.
    pub duration: String,
    /// Headers as JSON text (values masked in lists; empty when none).
    pub request_headers: String,
    /// Cookies as JSON text (values masked in lists).
    pub request_cookies: String,
    /// Body.
    pub request_body: String,
    /// Body content type.
    pub content_type: String,
    /// Metadata (`additional_options`, `ca_certificate` and any other keys given).
    #[schema(value_type = Object)]
    pub metadata: Value,
    /// Start of the newest result.
    pub last_run: Option<DateTime<Utc>>,
    /// Number of results.
    pub total_results: i64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last update.
    pub updated_at: DateTime<Utc>,
}

impl ProfileView {
    /// The view of a row; `masked` replaces header and cookie values with [`MASK`].
    pub fn from_row(row: ProfileRow, masked: bool) -> Self {
        let list = |t: &str| serde_json::from_str::<Vec<String>>(t).unwrap_or_default();
        let mask = |t: String| {
            if !masked || t.is_empty() {
                return t;
            }
            let m: BTreeMap<String, String> = serde_json::from_str(&t).unwrap_or_default();
            map_text(&m.into_keys().map(|k| (k, MASK.to_string())).collect())
        };
        ProfileView {
            load_generators: list(&row.load_generators),
            endpoints: list(&row.endpoints),
            metadata: serde_json::from_str(&row.metadata).unwrap_or(Value::Null),
            request_headers: mask(row.request_headers),
            request_cookies: mask(row.request_cookies),
            id: row.id,
            name: row.name,
            owner: row.owner,
            schedule: row.schedule,
            service_mesh: row.service_mesh,
            concurrent_request: row.concurrent_request,
            qps: row.qps,
            duration: row.duration,
            request_body: row.request_body,
            content_type: row.content_type,
            last_run: row.last_run,
            total_results: row.total_results,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(v: Value) -> Result<ProfileRow, ServiceError> {
        into_row(v, "u", "id".into(), None)
    }

    #[test]
    fn both_key_styles_are_read() {
        let snake = input(serde_json::json!({
            "name": "p", "endpoints": ["http://127.0.0.1:1/"], "load_generators": ["fortio"],
            "concurrent_request": "4", "qps": 10, "duration": "5s", "request_headers": "{\"x\":\"1\"}",
            "request_cookies": "", "service_mesh": "istio", "user_id": "x", "last_run": null
        }))
        .unwrap();
        let camel = input(serde_json::json!({
            "name": "p", "endpoints": ["http://127.0.0.1:1/"], "loadGenerators": ["fortio"],
            "concurrentRequest": 4, "qps": "10", "duration": "5s", "requestHeaders": {"x": "1"},
            "serviceMesh": "istio", "totalResults": 3
        }))
        .unwrap();
        for row in [snake, camel] {
            assert_eq!((row.concurrent_request, row.qps, row.service_mesh.as_str()), (4, 10, "istio"));
            assert_eq!(row.request_headers, r#"{"x":"1"}"#);
            assert_eq!(row.load_generators, r#"["fortio"]"#);
        }
        // One duration grammar: what `meshperf run --profile` accepts, the API accepts.
        for d in ["30", "1 minute", "1m30s"] {
            let row = input(serde_json::json!({"name": "p", "endpoints": ["http://a/"], "duration": d})).unwrap();
            assert_eq!(row.duration, d);
        }
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (serde_json::json!({"endpoints": ["http://a/"]}), "name"),
            (serde_json::json!({"name": "p"}), "endpoints"),
            (serde_json::json!({"name": "p", "endpoints": ["ftp://a/"]}), "endpoints[0]"),
            (serde_json::json!({"name": "p", "endpoints": ["http://a/"], "qps": -1}), "qps"),
            (
                serde_json::json!({"name": "p", "endpoints": ["http://a/"], "concurrentRequest": -1}),
                "concurrentRequest",
            ),
            (serde_json::json!({"name": "p", "endpoints": ["http://a/"], "duration": "soon"}), "duration"),
            (
                serde_json::json!({"name": "p", "endpoints": ["http://a/"], "loadGenerators": ["jmeter"]}),
                "loadGenerators[0]",
            ),
            (serde_json::json!({"name": "p", "endpoints": ["http://a/"], "requestHeaders": "[1]"}), "requestHeaders"),
            (
                serde_json::json!({"name": "p", "endpoints": ["https://a/"],
                    "metadata": {"additional_options": {"ca_cert": "/etc/ssl/ca.pem"}}}),
                "metadata.additional_options.ca_cert",
            ),
        ];
        for (body, field) in cases {
            match input(body) {
                Err(ServiceError::Invalid { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }

    #[test]
    fn stored_profiles_run_with_their_options() {
        let mut row = input(serde_json::json!({
            "name": "p", "endpoints": ["http://127.0.0.1:1/"], "qps": 5,
            "metadata": {"additional_options": "{\"http2\": true, \"stages\": \"1s@10,1s@20\", \"warmup\": \"1s\"}"}
        }))
        .unwrap();
        row.id = "0b8f7c1e-0000-4000-8000-000000000001".into();
        let (_, request) = request(&row).unwrap();
        let run = request.into_run().unwrap();
        assert_eq!(run.plan.http, loadgen::HttpVersion::Http2);
        assert!(matches!(run.plan.load, loadgen::Load::Open(loadgen::RateShape::Stages(_))));
        assert_eq!((run.plan.duration, run.plan.warmup), (None, std::time::Duration::from_secs(1)));
        assert_eq!(run.meta.test_id.as_deref(), Some(row.id.as_str()));
    }

    #[test]
    fn lists_mask_credentials() {
        let row = input(serde_json::json!({
            "name": "p", "endpoints": ["http://a/"], "requestHeaders": {"authorization": "Bearer s3cret"},
            "requestCookies": {"session": "abc"}
        }))
        .unwrap();
        let masked = serde_json::to_string(&ProfileView::from_row(row.clone(), true)).unwrap();
        assert!(!masked.contains("s3cret") && !masked.contains("abc"), "{masked}");
        assert!(masked.contains("authorization"));
        let full = ProfileView::from_row(row, false);
        assert!(full.request_headers.contains("s3cret"));
    }

    #[test]
    fn rest_paths_are_camel_case() {
        assert_eq!(camel("concurrent_request"), "concurrentRequest");
        assert_eq!(camel("load_generators[0]"), "loadGenerators[0]");
        assert_eq!(camel("metadata.additional_options.rmp"), "metadata.additional_options.rmp");
    }
}
