//! What a run request asks for, read from Meshery's query parameters (over a stored profile or
//! alone) or from an SMP test-config body, and the server's safety checks on it.
//!
//! Query parameters (Meshery's names, reference §2.2): `name`, `url`, `t` + `dur` (h/m/s),
//! `c`, `qps`, `loadGenerator`, `mesh`, `headers` and `cookies` (JSON objects), `reqBody`,
//! `contentType`. Like Meshery, `c < 1` becomes 1, `qps < 0` becomes 0 (unthrottled) and an
//! unknown `dur` unit means seconds; unlike Meshery, values that do not parse are refused with
//! the parameter's name, and an unknown generator is an error rather than a silent fortio.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use loadgen::{Load, RateShape, RunPlan, Target};
use serde_json::Value;

use crate::config::Config;
use crate::http::error::ApiError;
use crate::http::input::{Params, truncate};
use crate::perf::grpc::WorkerError;
use crate::perf::profiles::model::{check_duration, check_endpoint, check_generator, string_map};
use crate::store::ProfileRow;

/// Duration when neither the request nor the profile gives one (Meshery's default).
pub const DEFAULT_DURATION: Duration = Duration::from_secs(30);

/// A validated run request.
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// Test name.
    pub name: String,
    /// The profile it runs, if any.
    pub profile_id: Option<String>,
    /// Service mesh label.
    pub mesh: String,
    /// The generator the request named (`meshperf`, `fortio`, `wrk2`, `nighthawk`).
    pub requested_generator: String,
    /// Extra labels for the result.
    pub labels: BTreeMap<String, String>,
    /// What the engine runs.
    pub plan: RunPlan,
}

impl RunSpec {
    /// A JSON summary of what was asked (stored with the run; no headers, cookies or body).
    pub fn summary(&self) -> Value {
        let rate = match &self.plan.load {
            Load::Open(RateShape::Constant(r)) => *r,
            _ => 0.0,
        };
        serde_json::json!({
            "endpoints": self.plan.targets.iter().map(|t| t.url.as_str()).collect::<Vec<_>>(),
            "concurrentRequest": self.plan.connections,
            "qps": rate,
            "duration": self.plan.duration.map(|d| humantime::format_duration(d).to_string()),
            "loadGenerator": self.requested_generator,
            "mesh": self.mesh,
        })
    }

    /// Reads a query-parameter run, over `profile` when one is being run.
    pub fn from_query(p: &Params, profile: Option<&ProfileRow>) -> Result<RunSpec, ApiError> {
        let name = p.text(&["name"]).or_else(|| profile.map(|r| r.name.clone())).unwrap_or_default();
        if name.trim().is_empty() || name.chars().count() > 255 {
            return Err(ApiError::invalid("name", "is required, 1 to 255 characters"));
        }
        let urls: Vec<String> = match p.text(&["url"]) {
            Some(u) => vec![u],
            None => profile.map(|r| serde_json::from_str(&r.endpoints).unwrap_or_default()).unwrap_or_default(),
        };
        if urls.is_empty() {
            return Err(ApiError::invalid("url", "is required: the URL to send load to"));
        }
        for u in &urls {
            check_endpoint("url", u)?;
        }
        let duration = match p.get(&["t"]) {
            Some((_, t)) => query_duration(t, p.text(&["dur"]).as_deref())?,
            None => match profile {
                Some(r) => check_duration("duration", &r.duration)?,
                None => DEFAULT_DURATION,
            },
        };
        let connections = match p.number::<f64>(&["c"], "a number of connections")? {
            Some(c) if !c.is_finite() || c > f64::from(loadgen::plan::MAX_CONNECTIONS) => {
                return Err(ApiError::invalid("c", format!("must be at most {}", loadgen::plan::MAX_CONNECTIONS)));
            }
            Some(c) => c.max(1.0) as u32,
            None => profile.map_or(1, |r| r.concurrent_request.clamp(1, i64::from(u32::MAX)) as u32),
        };
        let qps = match p.number::<f64>(&["qps"], "a number of requests per second")? {
            Some(q) if !q.is_finite() => return Err(ApiError::invalid("qps", "must be a finite number")),
            Some(q) => q.max(0.0),
            None => profile.map_or(0.0, |r| r.qps.max(0) as f64),
        };
        let generator = match p.get(&["loadGenerator", "load_generator"]) {
            Some((field, g)) => check_generator(field, g)?,
            None => profile
                .and_then(|r| serde_json::from_str::<Vec<String>>(&r.load_generators).ok())
                .and_then(|g| g.into_iter().next())
                .unwrap_or_else(|| "meshperf".into()),
        };
        let headers = match p.get(&["headers"]) {
            Some((_, h)) => string_map("headers", Some(&Value::String(h.to_string())))?,
            None => string_map("requestHeaders", profile.map(|r| Value::String(r.request_headers.clone())).as_ref())?,
        };
        let cookies = match p.get(&["cookies"]) {
            Some((_, c)) => string_map("cookies", Some(&Value::String(c.to_string())))?,
            None => string_map("requestCookies", profile.map(|r| Value::String(r.request_cookies.clone())).as_ref())?,
        };
        let body =
            p.text(&["reqBody", "req_body"]).or_else(|| profile.map(|r| r.request_body.clone())).unwrap_or_default();
        let content_type = p
            .text(&["contentType", "content_type"])
            .or_else(|| profile.map(|r| r.content_type.clone()))
            .unwrap_or_default();
        let mesh = p.text(&["mesh"]).or_else(|| profile.map(|r| r.service_mesh.clone())).unwrap_or_default();

        let mut targets = Vec::new();
        for u in &urls {
            targets.push(target(u, &headers, &cookies, &body, &content_type)?);
        }
        let mut plan = RunPlan::new(targets);
        plan.connections = connections;
        plan.threads = plan.threads.min(connections).max(1);
        plan.load = if qps > 0.0 { Load::Open(RateShape::Constant(qps)) } else { Load::Closed };
        plan.duration = Some(duration);
        if let Some(profile) = profile {
            let explicit = (p.get(&["qps"]).is_some(), p.get(&["t"]).is_some());
            apply_options(&mut plan, &profile.metadata, explicit)?;
        }
        plan.validate().map_err(|e| ApiError::invalid("(run)", e.to_string()))?;
        Ok(RunSpec {
            name: name.trim().to_string(),
            profile_id: profile.map(|r| r.id.clone()),
            mesh,
            requested_generator: generator,
            labels: BTreeMap::new(),
            plan,
        })
    }

    /// Reads an SMP test config body (YAML or JSON: `{test, mesh}`, a bare config or a Meshery
    /// profile), through the same reader as the Meshery adapter, which refuses file paths.
    pub fn from_smp_body(text: &str) -> Result<RunSpec, ApiError> {
        let config = crate::adapters::smp_config::parse(text).map_err(|e| match e {
            WorkerError::Invalid { field, reason } if field == "custom_body" => ApiError::invalid("(body)", reason),
            WorkerError::Invalid { field, reason } => ApiError::invalid(field, reason),
            other => ApiError::invalid("(body)", other.to_string()),
        })?;
        let mut labels = config.meta.labels;
        let mesh = labels.remove("mesh").unwrap_or_default();
        let generator = match config.meta.requested_generator.as_deref() {
            Some(g) if !g.is_empty() => check_generator("test.clients[0].load_generator", g)?,
            _ => "meshperf".into(),
        };
        Ok(RunSpec {
            name: config.meta.name,
            profile_id: None,
            mesh,
            requested_generator: generator,
            labels,
            plan: config.plan,
        })
    }

    /// Checks the plan against the server's ceilings and target allow-list; refusals name the
    /// setting that refused.
    pub async fn check_policy(&self, config: &Config) -> Result<(), ApiError> {
        let c = &config.ceilings;
        if self.plan.connections > c.max_connections {
            return Err(ApiError::Refused {
                rule: "MESHPERF_MAX_CONNECTIONS",
                detail: format!("{} connections exceed the ceiling of {}", self.plan.connections, c.max_connections),
            });
        }
        if let Load::Open(RateShape::Constant(r)) = &self.plan.load {
            if *r > c.max_qps {
                return Err(ApiError::Refused {
                    rule: "MESHPERF_MAX_QPS",
                    detail: format!("{r} requests per second exceed the ceiling of {}", c.max_qps),
                });
            }
        }
        let d = self.plan.measured_duration().unwrap_or(c.max_duration) + self.plan.warmup;
        if d > c.max_duration {
            return Err(ApiError::Refused {
                rule: "MESHPERF_MAX_DURATION",
                detail: format!(
                    "a duration of {} exceeds the ceiling of {}",
                    humantime::format_duration(d),
                    humantime::format_duration(c.max_duration)
                ),
            });
        }
        config.allow.check_plan(&self.plan).await.map_err(|e| match e {
            WorkerError::TargetRefused { target, reason } => ApiError::Refused {
                rule: "MESHPERF_ALLOW_TARGETS",
                detail: format!("target {target} is not allowed: {reason}"),
            },
            other => ApiError::invalid("url", other.to_string()),
        })
    }
}

/// meshperf's knobs kept in a profile's `metadata.additional_options` (see
/// `smp::profile::options`): HTTP/2, method, ramp or stages, warm-up, timeout, threads, request
/// limit, insecure TLS. A rate or duration given in the query wins over the options' shape.
/// Certificate files are refused: a server never reads files a request names.
pub fn apply_options(
    plan: &mut RunPlan,
    metadata: &str,
    (explicit_qps, explicit_t): (bool, bool),
) -> Result<(), ApiError> {
    let Some(options) = parse_options(metadata)? else { return Ok(()) };
    if options.ca_cert.is_some() || options.cert.is_some() || options.key.is_some() {
        return Err(ApiError::invalid(
            OPTIONS_FIELD,
            "certificate and key files are not read by the server; remove ca_cert, cert and key",
        ));
    }
    if options.http2 {
        plan.http = loadgen::HttpVersion::Http2;
    }
    if let Some(n) = options.h2_streams {
        plan.h2_streams = n;
    }
    if let Some(m) = &options.method {
        for t in &mut plan.targets {
            t.method = m.clone();
        }
    }
    if let (Some(shape), false) = (&options.shape, explicit_qps) {
        if matches!(shape, RateShape::Stages(_)) && !explicit_t {
            plan.duration = None;
        }
        plan.load = Load::Open(shape.clone());
    }
    if let Some(w) = options.warmup {
        plan.warmup = w;
    }
    if let Some(t) = options.timeout {
        plan.timeout = t;
    }
    if let Some(n) = options.threads {
        plan.threads = n;
    }
    if options.max_requests.is_some() {
        plan.max_requests = options.max_requests;
    }
    plan.tls.insecure |= options.insecure;
    Ok(())
}

/// Where a profile keeps meshperf's options.
pub const OPTIONS_FIELD: &str = "metadata.additional_options";

/// Reads `additional_options` (a JSON string or object) from a profile's metadata JSON text.
pub fn parse_options(metadata: &str) -> Result<Option<smp::profile::options::Options>, ApiError> {
    let meta: Value = serde_json::from_str(metadata).unwrap_or(Value::Null);
    let text = match meta.get("additional_options").or_else(|| meta.get("additionalOptions")) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s.clone(),
        Some(v @ Value::Object(_)) => v.to_string(),
        Some(_) => return Err(ApiError::invalid(OPTIONS_FIELD, "must be a JSON object or its text")),
    };
    smp::profile::options::Options::parse(&text, OPTIONS_FIELD)
        .map(Some)
        .map_err(|e| ApiError::invalid(OPTIONS_FIELD, e.to_string()))
}

/// `t` with Meshery's `dur` unit (`h`, `m`, `s`; anything else is seconds). A `t` that is a
/// whole duration (`30s`) is accepted as such.
fn query_duration(t: &str, unit: Option<&str>) -> Result<Duration, ApiError> {
    let t = t.trim();
    let d = match t.parse::<f64>() {
        Ok(n) if n.is_finite() => {
            let n = n.max(1.0);
            let secs = match unit {
                Some("h") => n * 3600.0,
                Some("m") => n * 60.0,
                _ => n,
            };
            Duration::try_from_secs_f64(secs).map_err(|_| ApiError::invalid("t", "is too large"))?
        }
        _ => humantime::parse_duration(t).map_err(|_| {
            ApiError::invalid("t", format!("{:?} is not a number of seconds (or a duration like 30s)", truncate(t)))
        })?,
    };
    if d.is_zero() {
        return Err(ApiError::invalid("t", "must be above 0"));
    }
    Ok(d)
}

fn target(
    url: &str,
    headers: &BTreeMap<String, String>,
    cookies: &BTreeMap<String, String>,
    body: &str,
    content_type: &str,
) -> Result<Target, ApiError> {
    let mut t = Target::get(url).map_err(|e| ApiError::invalid("url", e.to_string()))?;
    for (k, v) in headers {
        t.add_header(k, v).map_err(|e| ApiError::invalid(format!("headers.{k}"), e.to_string()))?;
    }
    if !cookies.is_empty() {
        let line: Vec<String> = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
        t.add_header("cookie", &line.join("; ")).map_err(|e| ApiError::invalid("cookies", e.to_string()))?;
    }
    if !content_type.is_empty() {
        t.add_header("content-type", content_type).map_err(|e| ApiError::invalid("contentType", e.to_string()))?;
    }
    if !body.is_empty() {
        t.method = http::Method::POST;
        t.body = Bytes::from(body.to_string());
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(q: &str) -> Params {
        Params::parse(Some(q))
    }

    #[test]
    fn meshery_query_parameters() {
        let s = RunSpec::from_query(
            &params("name=t&url=http://127.0.0.1:9/x&t=2&dur=m&c=0&qps=-5&loadGenerator=wrk2&headers=%7B%22a%22%3A%221%22%7D"),
            None,
        )
        .unwrap();
        assert_eq!(s.plan.duration, Some(Duration::from_secs(120)));
        assert_eq!(s.plan.connections, 1);
        assert_eq!(s.plan.load, Load::Closed);
        assert_eq!(s.requested_generator, "wrk2");
        assert_eq!(s.plan.targets[0].headers.len(), 1);
        let s = RunSpec::from_query(&params("name=t&url=http://127.0.0.1:9/&t=500ms&qps=10"), None).unwrap();
        assert_eq!(s.plan.duration, Some(Duration::from_millis(500)));
        assert_eq!(s.plan.load, Load::Open(RateShape::Constant(10.0)));
    }

    #[test]
    fn profile_options_shape_the_plan() {
        let mut row = crate::store::testing::profile_row("u", "p");
        row.metadata =
            r#"{"additional_options": "{\"http2\": true, \"stages\": \"1s@10,1s@20\", \"warmup\": \"1s\"}"}"#.into();
        let s = RunSpec::from_query(&params(""), Some(&row)).unwrap();
        assert_eq!(s.plan.http, loadgen::HttpVersion::Http2);
        assert!(matches!(s.plan.load, Load::Open(RateShape::Stages(_))));
        assert_eq!((s.plan.duration, s.plan.warmup), (None, Duration::from_secs(1)));
        let s = RunSpec::from_query(&params("qps=5"), Some(&row)).unwrap();
        assert_eq!(s.plan.load, Load::Open(RateShape::Constant(5.0)), "the query wins");
        row.metadata = r#"{"additional_options": {"ca_cert": "/etc/ssl/x.pem"}}"#.into();
        match RunSpec::from_query(&params(""), Some(&row)) {
            Err(ApiError::Invalid { field, .. }) => assert_eq!(field, OPTIONS_FIELD),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_parameters_are_named() {
        for (q, field) in [
            ("url=http://127.0.0.1:9/", "name"),
            ("name=t", "url"),
            ("name=t&url=nope", "url"),
            ("name=t&url=http://127.0.0.1:9/&t=soon", "t"),
            ("name=t&url=http://127.0.0.1:9/&c=many", "c"),
            ("name=t&url=http://127.0.0.1:9/&qps=fast", "qps"),
            ("name=t&url=http://127.0.0.1:9/&loadGenerator=jmeter", "loadGenerator"),
            ("name=t&url=http://127.0.0.1:9/&headers=nope", "headers"),
        ] {
            match RunSpec::from_query(&params(q), None) {
                Err(ApiError::Invalid { field: f, .. }) => assert_eq!(f, field, "{q}"),
                other => panic!("{q}: {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn policy_names_the_rule() {
        let config = Config::for_home("/tmp/meshperf-policy-test").unwrap();
        let check = |q: &str| {
            let spec = RunSpec::from_query(&params(q), None).unwrap();
            let config = config.clone();
            async move { spec.check_policy(&config).await }
        };
        assert!(check("name=t&url=http://127.0.0.1:9/&t=1").await.is_ok());
        for (q, rule) in [
            ("name=t&url=http://10.1.2.3/&t=1", "MESHPERF_ALLOW_TARGETS"),
            ("name=t&url=http://169.254.169.254/&t=1", "MESHPERF_ALLOW_TARGETS"),
            ("name=t&url=http://127.0.0.1:9/&t=1&c=5000", "MESHPERF_MAX_CONNECTIONS"),
            ("name=t&url=http://127.0.0.1:9/&t=1&qps=1000000", "MESHPERF_MAX_QPS"),
            ("name=t&url=http://127.0.0.1:9/&t=2&dur=h", "MESHPERF_MAX_DURATION"),
        ] {
            match check(q).await {
                Err(ApiError::Refused { rule: r, .. }) => assert_eq!(r, rule, "{q}"),
                other => panic!("{q}: {other:?}"),
            }
        }
    }

    #[test]
    fn smp_body_records_the_generator_and_mesh() {
        let yaml = "test:\n  name: smp\n  clients:\n  - load_generator: nighthawk\n    connections: 2\n    endpoint_urls: [\"http://127.0.0.1:9/\"]\n  duration: 3s\nmesh:\n  type: 3\n";
        let s = RunSpec::from_smp_body(yaml).unwrap();
        assert_eq!((s.name.as_str(), s.requested_generator.as_str(), s.mesh.as_str()), ("smp", "nighthawk", "istio"));
        assert_eq!(s.plan.duration, Some(Duration::from_secs(3)));
    }
}
