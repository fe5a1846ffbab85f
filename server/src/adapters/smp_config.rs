//! The SMP test config Meshery sends in `ApplyRuleRequest.custom_body`, read into a plan.
//!
//! Accepts what Meshery and mesheryctl write: YAML or JSON, the `{test, mesh}` envelope or a
//! bare `PerformanceTestConfig`, snake_case or camelCase keys, the protocol as a number or a
//! name. Every client's endpoints become targets with that client's headers, cookies and body;
//! connections and rates add up over clients (no rate means a closed loop).

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use loadgen::{Load, RateShape, RunPlan, Target};
use serde_json::{Map, Value};

use crate::perf::grpc::WorkerError;

/// Duration when the config gives none (Meshery's UI default).
const DEFAULT_DURATION: Duration = Duration::from_secs(30);

/// A test config read from a request: the plan, the test's name and its labels.
#[derive(Debug)]
pub struct TestConfig {
    /// What to run.
    pub plan: RunPlan,
    /// `name` of the config (or `id`, or "meshery test").
    pub name: String,
    /// The config's `id`, if any.
    pub id: Option<String>,
    /// The config's labels.
    pub labels: BTreeMap<String, String>,
}

fn field<'a>(obj: &'a Map<String, Value>, snake: &str, camel: &str) -> Option<&'a Value> {
    obj.get(snake).or_else(|| obj.get(camel)).filter(|v| !v.is_null())
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn number(v: Option<&Value>, path: &str) -> Result<f64, WorkerError> {
    match v {
        None => Ok(0.0),
        Some(Value::Number(n)) => n.as_f64().ok_or_else(|| WorkerError::invalid(path, "is not a number")),
        Some(Value::String(s)) => {
            s.trim().parse().map_err(|_| WorkerError::invalid(path, format!("{s:?} is not a number")))
        }
        Some(_) => Err(WorkerError::invalid(path, "must be a number")),
    }
}

fn string_map(v: Option<&Value>, path: &str) -> Result<Vec<(String, String)>, WorkerError> {
    match v {
        None => Ok(Vec::new()),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| {
                text(Some(v))
                    .map(|v| (k.clone(), v))
                    .ok_or_else(|| WorkerError::invalid(format!("{path}.{k}"), "must be a string"))
            })
            .collect(),
        Some(_) => Err(WorkerError::invalid(path, "must be a map of strings")),
    }
}

fn check_protocol(v: Option<&Value>, path: &str) -> Result<(), WorkerError> {
    let ok = match v {
        None => true,
        Some(Value::Number(n)) => matches!(n.as_i64(), Some(0 | 1)),
        Some(Value::String(s)) => {
            matches!(s.to_ascii_uppercase().as_str(), "" | "HTTP" | "PROTOCOL_HTTP" | "PROTOCOL_INVALID")
        }
        Some(_) => false,
    };
    if ok { Ok(()) } else { Err(WorkerError::invalid(path, "only HTTP (1, PROTOCOL_HTTP) is supported by meshperf")) }
}

/// Reads a test config (YAML or JSON text).
pub fn parse(body: &str) -> Result<TestConfig, WorkerError> {
    if body.trim().is_empty() {
        return Err(WorkerError::invalid("custom_body", "is empty; send an SMP test config (YAML or JSON)"));
    }
    let value: Value = serde_yaml::from_str(body)
        .map_err(|e| WorkerError::invalid("custom_body", format!("is neither YAML nor JSON: {e}")))?;
    let Value::Object(root) = value else {
        return Err(WorkerError::invalid("custom_body", "must be an SMP test config object"));
    };
    let (test, prefix) = match root.get("test") {
        Some(Value::Object(t)) => (t, "test."),
        Some(_) => return Err(WorkerError::invalid("test", "must be an object")),
        None => (&root, ""),
    };
    let p = |f: &str| format!("{prefix}{f}");
    let clients = match field(test, "clients", "clients") {
        Some(Value::Array(c)) if !c.is_empty() => c,
        _ => return Err(WorkerError::invalid(p("clients"), "give at least one client with endpoint_urls")),
    };
    let mut targets = Vec::new();
    let (mut connections, mut rate) = (0u32, 0.0f64);
    for (i, client) in clients.iter().enumerate() {
        let cp = |f: &str| p(&format!("clients[{i}].{f}"));
        let Value::Object(c) = client else {
            return Err(WorkerError::invalid(p(&format!("clients[{i}]")), "must be an object"));
        };
        check_protocol(field(c, "protocol", "protocol"), &cp("protocol"))?;
        let conns = number(field(c, "connections", "connections"), &cp("connections"))?;
        if conns < 0.0 || conns.fract() != 0.0 || conns > f64::from(loadgen::plan::MAX_CONNECTIONS) {
            return Err(WorkerError::invalid(cp("connections"), "must be a whole number from 0 to 100000"));
        }
        connections += (conns as u32).max(1);
        let rps = number(field(c, "rps", "rps"), &cp("rps"))?;
        if !rps.is_finite() || rps < 0.0 {
            return Err(WorkerError::invalid(cp("rps"), "must be >= 0 (0 runs flat out)"));
        }
        rate += rps;
        let headers = string_map(field(c, "headers", "headers"), &cp("headers"))?;
        let cookies = string_map(field(c, "cookies", "cookies"), &cp("cookies"))?;
        let body = text(field(c, "body", "body")).unwrap_or_default();
        let content_type = text(field(c, "content_type", "contentType")).unwrap_or_default();
        let urls = match field(c, "endpoint_urls", "endpointUrls") {
            Some(Value::Array(u)) if !u.is_empty() => u,
            _ => return Err(WorkerError::invalid(cp("endpoint_urls"), "give at least one URL")),
        };
        for (j, url) in urls.iter().enumerate() {
            let up = cp(&format!("endpoint_urls[{j}]"));
            let url = text(Some(url)).ok_or_else(|| WorkerError::invalid(&up, "must be a string"))?;
            let mut t = Target::get(&url).map_err(|e| WorkerError::invalid(&up, e.to_string()))?;
            let bad = |e: loadgen::PlanError| WorkerError::invalid(cp("headers"), e.to_string());
            for (k, v) in &headers {
                t.add_header(k, v).map_err(bad)?;
            }
            if !cookies.is_empty() {
                let line: Vec<String> = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
                t.add_header("cookie", &line.join("; ")).map_err(bad)?;
            }
            if !content_type.is_empty() {
                t.add_header("content-type", &content_type).map_err(bad)?;
            }
            if !body.is_empty() {
                t.method = http::Method::POST;
                t.body = Bytes::from(body.clone());
            }
            targets.push(t);
        }
    }
    let mut plan = RunPlan::new(targets);
    plan.connections = connections;
    plan.threads = plan.threads.min(connections).max(1);
    plan.load = if rate > 0.0 { Load::Open(RateShape::Constant(rate)) } else { Load::Closed };
    plan.duration = Some(match text(field(test, "duration", "duration")) {
        Some(d) if !d.trim().is_empty() => loadgen::parse::duration(&p("duration"), &d)
            .map_err(|e| WorkerError::invalid(p("duration"), e.to_string()))?,
        _ => DEFAULT_DURATION,
    });
    plan.validate()?;
    let id = text(field(test, "id", "id")).filter(|s| !s.is_empty());
    let name = text(field(test, "name", "name"))
        .filter(|s| !s.is_empty())
        .or_else(|| id.clone())
        .unwrap_or_else(|| "meshery test".into());
    let labels = string_map(field(test, "labels", "labels"), &p("labels"))?.into_iter().collect();
    Ok(TestConfig { plan, name, id, labels })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_mesheryctl_envelope() {
        let yaml = r#"
test:
  smp_version: v0.0.1
  id: t1
  name: smoke
  labels: {team: perf}
  clients:
  - internal: false
    load_generator: fortio
    protocol: 1
    connections: 2
    rps: 10
    headers: {x-a: "1"}
    cookies: {session: abc}
    body: ""
    content_type: ""
    endpoint_urls: [ "http://127.0.0.1:8080/" ]
  duration: "5s"
mesh:
  type: 3
"#;
        let c = parse(yaml).unwrap();
        assert_eq!((c.name.as_str(), c.id.as_deref()), ("smoke", Some("t1")));
        assert_eq!(c.labels.get("team").map(String::as_str), Some("perf"));
        assert_eq!(c.plan.connections, 2);
        assert_eq!(c.plan.load, Load::Open(RateShape::Constant(10.0)));
        assert_eq!(c.plan.duration, Some(Duration::from_secs(5)));
        let h: Vec<String> =
            c.plan.targets[0].headers.iter().map(|(k, v)| format!("{k}={}", v.to_str().unwrap())).collect();
        assert_eq!(h, ["x-a=1", "cookie=session=abc"]);
    }

    #[test]
    fn reads_a_bare_camel_case_config() {
        let json = r#"{"name":"x","duration":"1m30s","clients":[{"protocol":"PROTOCOL_HTTP","connections":0,
            "rps":0,"body":"hi","contentType":"text/plain","endpointUrls":["http://127.0.0.1/a","http://127.0.0.1/b"]}]}"#;
        let c = parse(json).unwrap();
        assert_eq!(c.plan.targets.len(), 2);
        assert_eq!(c.plan.targets[1].method, http::Method::POST);
        assert_eq!(c.plan.connections, 1);
        assert_eq!(c.plan.load, Load::Closed);
        assert_eq!(c.plan.duration, Some(Duration::from_secs(90)));
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            ("", "custom_body"),
            ("test: {clients: []}", "test.clients"),
            ("clients: [{endpoint_urls: [\"ftp://x\"]}]", "clients[0].endpoint_urls[0]"),
            ("clients: [{protocol: 4, endpoint_urls: [\"http://a\"]}]", "clients[0].protocol"),
            ("clients: [{rps: -1, endpoint_urls: [\"http://a\"]}]", "clients[0].rps"),
            ("{duration: soon, clients: [{endpoint_urls: [\"http://a\"]}]}", "duration"),
        ];
        for (body, path) in cases {
            let err = parse(body).unwrap_err().to_string();
            assert!(err.contains(path), "{body}: {err}");
        }
    }
}
