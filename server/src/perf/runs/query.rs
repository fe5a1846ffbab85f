//! Meshery's run query parameters (reference §2.2) as a [`RunRequest`], and the REST door's
//! names for plan fields.
//!
//! `name`, `url`, `t` + `dur` (h/m/s), `c`, `qps`, `loadGenerator`, `mesh`, `headers` and
//! `cookies` (JSON objects), `reqBody`, `contentType`. Like Meshery, `c < 1` becomes 1, `qps < 0`
//! becomes 0 (closed loop, as fast as possible), `t < 1` becomes 1 and an unknown `dur` unit
//! means seconds; unlike Meshery, a value that does not parse is refused with the parameter's
//! name, and an unknown generator is an error rather than a silent fortio. A parameter that is
//! absent leaves the stored profile's value (or the default) in place; without a profile an
//! absent `c` is 1, as Meshery reads it.

use std::time::Duration;

use bytes::Bytes;
use loadgen::{Field, Load, RateShape};
use smp::request::{RequestMeta, RunRequest};

use crate::error::ServiceError;
use crate::http::input::{Params, truncate};
use crate::perf::bodies::JsonMapText;

/// Longest `name` accepted.
const MAX_NAME: usize = 255;

/// The run parameters besides `name` and `url` as the OpenAPI document shows them; the reader
/// is [`request`]. A blank value counts as absent; a parameter left out keeps the stored
/// profile's value (or the default).
#[derive(Debug, Clone, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunQuery {
    /// How long to run: a number of `dur` units (below 1 counts as 1), or a duration such as
    /// `30s`, `1m30s` or `1 minute`. Default 30s.
    #[param(max_length = 32, example = "2")]
    pub t: Option<String>,
    /// The unit of a numeric `t`: `h`, `m` or `s`; anything else means seconds.
    #[param(example = "s")]
    pub dur: Option<String>,
    /// Connections, at most 100000; below 1 counts as 1 (default 1, or the profile's).
    #[param(maximum = 100000, example = 2)]
    pub c: Option<f64>,
    /// Requests per second; 0 or below runs closed loop, as fast as the connections allow.
    #[param(example = 10)]
    pub qps: Option<f64>,
    /// The load generator to record (`meshperf`, `fortio`, `wrk2`, `nighthawk`, in any case);
    /// all run on meshperf's engine. Also spelled `load_generator`.
    #[param(rename = "loadGenerator", value_type = Option<GeneratorName>, inline, example = "fortio")]
    pub load_generator_camel: Option<String>,
    /// Another spelling of `loadGenerator`.
    #[param(value_type = Option<GeneratorName>, inline, example = "fortio")]
    pub load_generator: Option<String>,
    /// The service mesh label recorded with the result.
    #[param(example = "istio")]
    pub mesh: Option<String>,
    /// Request headers as a JSON object of strings, e.g. `{"x-a": "1"}`.
    #[param(example = r#"{"x-a": "1"}"#, value_type = Option<JsonMapText>, inline)]
    pub headers: Option<String>,
    /// Request cookies as a JSON object of strings, sent as one `Cookie` header.
    #[param(example = r#"{"session": "1"}"#, value_type = Option<JsonMapText>, inline)]
    pub cookies: Option<String>,
    /// The request body (the method becomes POST). Also spelled `req_body`.
    #[param(rename = "reqBody", example = "hello")]
    pub req_body_camel: Option<String>,
    /// Another spelling of `reqBody`.
    #[param(example = "hello")]
    pub req_body: Option<String>,
    /// The body's `Content-Type`. Also spelled `content_type`.
    #[param(rename = "contentType", example = "text/plain")]
    pub content_type_camel: Option<String>,
    /// Another spelling of `contentType`.
    #[param(example = "text/plain")]
    pub content_type: Option<String>,
}

/// A load generator's name, one of [`smp::profile::meshery::GENERATORS`] (OpenAPI only).
#[derive(Debug, Clone, Copy)]
pub struct GeneratorName;

impl utoipa::PartialSchema for GeneratorName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(smp::profile::meshery::GENERATORS))
            .into()
    }
}

impl utoipa::ToSchema for GeneratorName {}

/// The request the parameters describe; `over_profile` says whether a stored profile gives the
/// values that are absent.
pub fn request(p: &Params, over_profile: bool) -> Result<RunRequest, ServiceError> {
    let name = p.text(&["name"]);
    if let Some(n) = &name {
        if n.trim().is_empty() || n.chars().count() > MAX_NAME {
            return Err(ServiceError::invalid("name", "must be 1 to 255 characters"));
        }
    } else if !over_profile {
        return Err(ServiceError::invalid("name", "is required, 1 to 255 characters"));
    }
    let urls = match p.text(&["url"]) {
        Some(u) if u.len() > 2048 => return Err(ServiceError::invalid("url", "is longer than 2048 characters")),
        Some(u) => vec![u],
        None if over_profile => Vec::new(),
        None => return Err(ServiceError::invalid("url", "is required: the URL to send load to")),
    };
    let unit = p.text(&["dur"]);
    let duration = p.get(&["t"]).map(|(_, t)| query_duration(t, unit.as_deref())).transpose()?;
    let connections = match p.number::<f64>(&["c"], "a number of connections")? {
        Some(c) if !c.is_finite() || c > f64::from(loadgen::plan::MAX_CONNECTIONS) => {
            return Err(ServiceError::invalid("c", format!("must be at most {}", loadgen::plan::MAX_CONNECTIONS)));
        }
        Some(c) => Some(c.max(1.0) as u32),
        None if over_profile => None,
        None => Some(1),
    };
    let load = match p.number::<f64>(&["qps"], "a number of requests per second")? {
        Some(q) if !q.is_finite() => return Err(ServiceError::invalid("qps", "must be a finite number")),
        Some(q) if q > 0.0 => Some(Load::Open(RateShape::Constant(q))),
        Some(_) => Some(Load::Closed),
        None => None,
    };
    let generator =
        p.get(&["loadGenerator", "load_generator"]).map(|(field, g)| check_generator(field, g)).transpose()?;
    let map = |field: &str| -> Result<Vec<(String, String)>, ServiceError> {
        let Some((_, text)) = p.get(&[field]) else { return Ok(Vec::new()) };
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|_| ServiceError::invalid(field, "must be a JSON object of strings, such as {\"x-a\": \"1\"}"))?;
        let serde_json::Value::Object(m) = value else {
            return Err(ServiceError::invalid(field, "must be a JSON object of strings, such as {\"x-a\": \"1\"}"));
        };
        m.into_iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => Ok((k, s)),
                serde_json::Value::Number(n) => Ok((k, n.to_string())),
                _ => Err(ServiceError::invalid(format!("{field}.{k}"), "must be a string")),
            })
            .collect()
    };
    Ok(RunRequest {
        urls,
        headers: map("headers")?,
        cookies: map("cookies")?,
        body: p.text(&["reqBody", "req_body"]).map(Bytes::from),
        content_type: p.text(&["contentType", "content_type"]),
        connections,
        load,
        duration,
        meta: RequestMeta {
            name: name.map(|n| n.trim().to_string()),
            mesh: p.text(&["mesh"]),
            generator,
            ..RequestMeta::default()
        },
        ..RunRequest::default()
    })
}

/// The query parameter behind a plan field, if a parameter sets it.
pub fn name(field: Field) -> Option<&'static str> {
    Some(match field {
        Field::Targets | Field::Url(_) => "url",
        Field::Connections => "c",
        Field::Rate => "qps",
        Field::Duration => "t",
        Field::Header => "headers",
        Field::Cookies => "cookies",
        Field::Body => "reqBody",
        Field::ContentType => "contentType",
        _ => return None,
    })
}

/// A generator name Meshery's clients may send; all run on meshperf's engine.
fn check_generator(field: &str, g: &str) -> Result<String, ServiceError> {
    let lower = g.trim().to_ascii_lowercase();
    if smp::profile::meshery::GENERATORS.contains(&lower.as_str()) {
        Ok(lower)
    } else {
        Err(ServiceError::invalid(
            field,
            format!(
                "{:?} is not a load generator; use one of {}",
                truncate(g),
                smp::profile::meshery::GENERATORS.join(", ")
            ),
        ))
    }
}

/// `t` with Meshery's `dur` unit (`h`, `m`, `s`; anything else is seconds). A `t` that is a
/// whole duration (`30s`, `1 minute`) is read with the one duration grammar.
fn query_duration(t: &str, unit: Option<&str>) -> Result<Duration, ServiceError> {
    let t = t.trim();
    let d = match t.parse::<f64>() {
        Ok(n) if n.is_finite() => {
            let n = n.max(1.0);
            let secs = match unit {
                Some("h") => n * 3600.0,
                Some("m") => n * 60.0,
                _ => n,
            };
            Duration::try_from_secs_f64(secs).map_err(|_| ServiceError::invalid("t", "is too large"))?
        }
        _ => loadgen::parse::duration(t).map_err(|e| ServiceError::invalid("t", e.0))?,
    };
    if d.is_zero() {
        return Err(ServiceError::invalid("t", "must be above 0"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(q: &str) -> Params {
        Params::parse(Some(q))
    }

    fn run(q: &str) -> RunRequest {
        request(&params(q), false).unwrap()
    }

    #[test]
    fn meshery_query_parameters() {
        let r = run(
            "name=t&url=http://127.0.0.1:9/x&t=2&dur=m&c=0&qps=-5&loadGenerator=wrk2&headers=%7B%22a%22%3A%221%22%7D",
        );
        assert_eq!(r.duration, Some(Duration::from_secs(120)));
        assert_eq!(r.connections, Some(1));
        assert_eq!(r.load, Some(Load::Closed));
        assert_eq!(r.meta.generator.as_deref(), Some("wrk2"));
        assert_eq!(r.headers, [("a".to_string(), "1".to_string())]);
        let r = run("name=t&url=http://127.0.0.1:9/&t=500ms&qps=10");
        assert_eq!(r.duration, Some(Duration::from_millis(500)));
        assert_eq!(r.load, Some(Load::Open(RateShape::Constant(10.0))));
        assert_eq!(run("name=t&url=http://127.0.0.1:9/&t=1%20minute").duration, Some(Duration::from_secs(60)));
        assert_eq!(run("name=t&url=http://127.0.0.1:9/").connections, Some(1), "Meshery reads no c as 1");
        let over = request(&params(""), true).unwrap();
        assert_eq!((over.connections, over.urls.len(), over.meta.name), (None, 0, None));
    }

    #[test]
    fn bad_parameters_are_named() {
        for (q, field) in [
            ("url=http://127.0.0.1:9/", "name"),
            ("name=t", "url"),
            ("name=t&url=http://127.0.0.1:9/&t=soon", "t"),
            ("name=t&url=http://127.0.0.1:9/&c=many", "c"),
            ("name=t&url=http://127.0.0.1:9/&qps=fast", "qps"),
            ("name=t&url=http://127.0.0.1:9/&loadGenerator=jmeter", "loadGenerator"),
            ("name=t&url=http://127.0.0.1:9/&headers=nope", "headers"),
        ] {
            match request(&params(q), false) {
                Err(ServiceError::Invalid { field: f, .. }) => assert_eq!(f, field, "{q}"),
                other => panic!("{q}: {other:?}"),
            }
        }
    }
}
