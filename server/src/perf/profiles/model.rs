//! The performance profile as the API reads and writes it (Meshery's model, reference §2.5).
//!
//! Input accepts both of Meshery's key styles (`concurrent_request` and `concurrentRequest`),
//! numbers as numbers or numeric strings, and headers/cookies as a JSON object or as the JSON
//! text Meshery stores; unknown keys are refused so a typo is an error. Output is camelCase.
//! Headers and cookies are credentials for the target: list views mask their values.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::http::error::ApiError;
use crate::store::ProfileRow;
use crate::store::now;

/// Load generators a profile may name; all run on meshperf's engine.
pub const GENERATORS: [&str; 4] = ["meshperf", "fortio", "wrk2", "nighthawk"];
/// What masked header and cookie values read as.
pub const MASK: &str = "********";

/// A profile as sent by a client (create or update).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ProfileInput {
    /// Present to update; absent to create.
    #[serde(default)]
    pub id: Option<String>,
    /// The name, 1 to 255 characters.
    #[serde(default)]
    pub name: Option<String>,
    /// Generators asked for (default `["meshperf"]`).
    #[serde(default, alias = "load_generators")]
    pub load_generators: Option<Vec<String>>,
    /// Target URLs, at least one.
    #[serde(default)]
    pub endpoints: Option<Vec<String>>,
    /// Service mesh label.
    #[serde(default, alias = "service_mesh")]
    pub service_mesh: Option<String>,
    /// Connections (1 to 100000, default 1).
    #[serde(default, alias = "concurrent_request")]
    pub concurrent_request: Option<Value>,
    /// Requests per second (0 = unthrottled, the default).
    #[serde(default)]
    pub qps: Option<Value>,
    /// Duration such as `30s` (the default).
    #[serde(default)]
    pub duration: Option<String>,
    /// Headers: JSON object, or its JSON text.
    #[serde(default, alias = "request_headers", alias = "headers")]
    pub request_headers: Option<Value>,
    /// Cookies: JSON object, or its JSON text.
    #[serde(default, alias = "request_cookies", alias = "cookies")]
    pub request_cookies: Option<Value>,
    /// Body sent with each request.
    #[serde(default, alias = "request_body", alias = "body")]
    pub request_body: Option<String>,
    /// Body content type.
    #[serde(default, alias = "content_type")]
    pub content_type: Option<String>,
    /// Free-form metadata (`additional_options`, `ca_certificate`).
    #[serde(default)]
    pub metadata: Option<Value>,
    /// Meshery's schedule id, kept as given.
    #[serde(default)]
    pub schedule: Option<String>,
    /// Server-computed or server-owned keys that clients echo back; ignored.
    #[serde(default, alias = "user_id", alias = "userId")]
    pub owner: Option<IgnoredAny>,
    /// Ignored (server-computed).
    #[serde(default, alias = "last_run")]
    pub last_run: Option<IgnoredAny>,
    /// Ignored (server-computed).
    #[serde(default, alias = "total_results")]
    pub total_results: Option<IgnoredAny>,
    /// Ignored (server-owned).
    #[serde(default, alias = "created_at")]
    pub created_at: Option<IgnoredAny>,
    /// Ignored (server-owned).
    #[serde(default, alias = "updated_at")]
    pub updated_at: Option<IgnoredAny>,
}

/// Reads a whole number from a JSON number or numeric string.
pub fn whole(field: &str, v: Option<&Value>, min: i64, max: i64, default: i64) -> Result<i64, ApiError> {
    let n = match v {
        None | Some(Value::Null) => return Ok(default),
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(default),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        Some(_) => None,
    };
    match n {
        Some(n) if n.fract() == 0.0 && n >= min as f64 && n <= max as f64 => Ok(n as i64),
        _ => Err(ApiError::invalid(field, format!("must be a whole number from {min} to {max}"))),
    }
}

/// Reads a string map from a JSON object or its JSON text (`""` is empty).
pub fn string_map(field: &str, v: Option<&Value>) -> Result<BTreeMap<String, String>, ApiError> {
    let object = match v {
        None | Some(Value::Null) => return Ok(BTreeMap::new()),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(BTreeMap::new()),
        Some(Value::String(s)) => serde_json::from_str::<Value>(s)
            .map_err(|_| ApiError::invalid(field, "must be a JSON object of strings, such as {\"x-a\": \"1\"}"))?,
        Some(other) => other.clone(),
    };
    let Value::Object(map) = object else {
        return Err(ApiError::invalid(field, "must be a JSON object of strings, such as {\"x-a\": \"1\"}"));
    };
    map.into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k, s)),
            Value::Number(n) => Ok((k, n.to_string())),
            _ => Err(ApiError::invalid(format!("{field}.{k}"), "must be a string")),
        })
        .collect()
}

/// Checks a URL a profile or run targets.
pub fn check_endpoint(field: &str, url: &str) -> Result<(), ApiError> {
    if url.len() > 2048 {
        return Err(ApiError::invalid(field, "is longer than 2048 characters"));
    }
    loadgen::plan::parse_url(url).map(|_| ()).map_err(|e| ApiError::invalid(field, e.to_string()))
}

/// Checks a generator name.
pub fn check_generator(field: &str, g: &str) -> Result<String, ApiError> {
    let lower = g.trim().to_ascii_lowercase();
    if GENERATORS.contains(&lower.as_str()) {
        Ok(lower)
    } else {
        Err(ApiError::invalid(field, format!("{:?} is not a load generator; use one of {}", g, GENERATORS.join(", "))))
    }
}

/// Checks a duration text (`30s`, `1m30s`, `500ms`).
pub fn check_duration(field: &str, d: &str) -> Result<std::time::Duration, ApiError> {
    let parsed = humantime::parse_duration(d.trim())
        .map_err(|_| ApiError::invalid(field, format!("{d:?} is not a duration; write for example 30s, 2m or 1h")))?;
    if parsed.is_zero() {
        return Err(ApiError::invalid(field, "must be above 0"));
    }
    Ok(parsed)
}

impl ProfileInput {
    /// Validates the input into a row owned by `owner`; `existing` is the stored profile
    /// being updated (its creation time is kept).
    pub fn into_row(self, owner: &str, id: String, existing: Option<&ProfileRow>) -> Result<ProfileRow, ApiError> {
        let name = self.name.map(|n| n.trim().to_string()).unwrap_or_default();
        if name.is_empty() || name.chars().count() > 255 {
            return Err(ApiError::invalid("name", "is required, 1 to 255 characters"));
        }
        let generators = match self.load_generators {
            None => vec!["meshperf".to_string()],
            Some(g) if g.is_empty() => return Err(ApiError::invalid("loadGenerators", "give at least one")),
            Some(g) => g
                .iter()
                .enumerate()
                .map(|(i, g)| check_generator(&format!("loadGenerators[{i}]"), g))
                .collect::<Result<_, _>>()?,
        };
        let endpoints = self.endpoints.unwrap_or_default();
        if endpoints.is_empty() {
            return Err(ApiError::invalid("endpoints", "give at least one URL, such as http://127.0.0.1:8080/"));
        }
        for (i, e) in endpoints.iter().enumerate() {
            check_endpoint(&format!("endpoints[{i}]"), e)?;
        }
        let duration = self.duration.filter(|d| !d.trim().is_empty()).unwrap_or_else(|| "30s".into());
        if duration.len() > 32 {
            return Err(ApiError::invalid("duration", "is longer than 32 characters"));
        }
        check_duration("duration", &duration)?;
        let concurrent_request = whole("concurrentRequest", self.concurrent_request.as_ref(), 1, 100_000, 1)?;
        let qps = whole("qps", self.qps.as_ref(), 0, 1_000_000, 0)?;
        let headers = string_map("requestHeaders", self.request_headers.as_ref())?;
        let cookies = string_map("requestCookies", self.request_cookies.as_ref())?;
        let body = self.request_body.unwrap_or_default();
        if body.len() > 1024 * 1024 {
            return Err(ApiError::invalid("requestBody", "is larger than 1 MiB"));
        }
        let metadata = match self.metadata {
            None | Some(Value::Null) => Value::Object(Default::default()),
            Some(m @ Value::Object(_)) => m,
            Some(_) => return Err(ApiError::invalid("metadata", "must be a JSON object")),
        };
        crate::perf::runs::model::parse_options(&metadata.to_string())?;
        let service_mesh = self.service_mesh.unwrap_or_default();
        if service_mesh.len() > 100 {
            return Err(ApiError::invalid("serviceMesh", "is longer than 100 characters"));
        }
        let content_type = self.content_type.unwrap_or_default();
        if content_type.len() > 255 {
            return Err(ApiError::invalid("contentType", "is longer than 255 characters"));
        }
        let t = now();
        Ok(ProfileRow {
            id,
            owner: owner.to_string(),
            name,
            schedule: self.schedule.filter(|s| !s.is_empty()),
            load_generators: serde_json::to_string(&generators).unwrap_or_default(),
            endpoints: serde_json::to_string(&endpoints).unwrap_or_default(),
            service_mesh,
            concurrent_request,
            qps,
            duration,
            request_headers: map_text(&headers),
            request_cookies: map_text(&cookies),
            request_body: body,
            content_type,
            metadata: metadata.to_string(),
            created_at: existing.map_or(t, |e| e.created_at),
            updated_at: t,
            last_run: None,
            total_results: 0,
        })
    }
}

fn map_text(m: &BTreeMap<String, String>) -> String {
    if m.is_empty() { String::new() } else { serde_json::to_string(m).unwrap_or_default() }
}

/// A profile as the API returns it.
#[derive(Debug, Clone, Serialize)]
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
    /// Headers as JSON text (values masked in lists).
    pub request_headers: String,
    /// Cookies as JSON text (values masked in lists).
    pub request_cookies: String,
    /// Body.
    pub request_body: String,
    /// Body content type.
    pub content_type: String,
    /// Metadata.
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

    fn input(v: Value) -> Result<ProfileRow, ApiError> {
        let i: ProfileInput = serde_json::from_value(v).map_err(|e| ApiError::invalid("(body)", e.to_string()))?;
        i.into_row("u", "id".into(), None)
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
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (serde_json::json!({"endpoints": ["http://a/"]}), "name"),
            (serde_json::json!({"name": "p"}), "endpoints"),
            (serde_json::json!({"name": "p", "endpoints": ["ftp://a/"]}), "endpoints[0]"),
            (serde_json::json!({"name": "p", "endpoints": ["http://a/"], "qps": -1}), "qps"),
            (serde_json::json!({"name": "p", "endpoints": ["http://a/"], "concurrentRequest": 0}), "concurrentRequest"),
            (serde_json::json!({"name": "p", "endpoints": ["http://a/"], "duration": "soon"}), "duration"),
            (
                serde_json::json!({"name": "p", "endpoints": ["http://a/"], "loadGenerators": ["jmeter"]}),
                "loadGenerators[0]",
            ),
            (serde_json::json!({"name": "p", "endpoints": ["http://a/"], "requestHeaders": "[1]"}), "requestHeaders"),
        ];
        for (body, field) in cases {
            match input(body) {
                Err(ApiError::Invalid { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
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
}
