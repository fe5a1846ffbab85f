//! The SMP test config Meshery sends in `ApplyRuleRequest.custom_body`, read into a plan with
//! the `smp` crate's profile reader, so the adapter accepts exactly what `meshperf run
//! --profile` does: YAML or JSON, the `{test, mesh}` envelope, a bare `PerformanceTestConfig`
//! or a Meshery performance profile, in snake_case or camelCase.
//!
//! The adapter answers callers without a token, so it never reads files on the worker: TLS
//! material must come as PEM text in `ssl_certificate`, and `additional_options` naming
//! certificate or key files are refused.

use std::collections::BTreeMap;

use loadgen::RunPlan;
use smp::RunMeta;
use smp::profile::TestProfile;

use crate::perf::grpc::WorkerError;

/// A test config read from a request: what to run and how to label its result.
#[derive(Debug)]
pub struct TestConfig {
    /// What to run.
    pub plan: RunPlan,
    /// The test's name (`meta.name`).
    pub name: String,
    /// The config's `id`, if any (`meta.test_id`).
    pub id: Option<String>,
    /// The config's labels (`meta.labels`).
    pub labels: BTreeMap<String, String>,
    /// Name, labels and test id for the result.
    pub meta: RunMeta,
}

/// Reads a test config (YAML or JSON text) with exactly one client.
pub fn parse(body: &str) -> Result<TestConfig, WorkerError> {
    if body.trim().is_empty() {
        return Err(WorkerError::invalid("custom_body", "is empty; send an SMP test config (YAML or JSON)"));
    }
    let profile = TestProfile::parse(body).map_err(|e| WorkerError::invalid("custom_body", e.to_string()))?;
    let mut plans = profile.to_plans().map_err(|e| WorkerError::invalid("custom_body", e.to_string()))?;
    if plans.len() != 1 {
        return Err(WorkerError::invalid(
            "custom_body",
            format!("the config has {} clients; the adapter runs one client per operation", plans.len()),
        ));
    }
    let plan = plans.remove(0);
    let tls = &plan.tls;
    let from_pem = tls.ca_cert.as_ref().is_none_or(|p| {
        p.parent() == Some(std::env::temp_dir().as_path())
            && p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("meshperf-ca-"))
    });
    if tls.client_cert.is_some() || tls.client_key.is_some() || !from_pem {
        return Err(WorkerError::invalid(
            "custom_body",
            "certificate and key files on the worker cannot be used through the adapter; \
             give the CA as PEM text in ssl_certificate",
        ));
    }
    let mut meta = profile.meta();
    if meta.name.is_empty() {
        meta.name = "meshery test".into();
    }
    Ok(TestConfig { plan, name: meta.name.clone(), id: meta.test_id.clone(), labels: meta.labels.clone(), meta })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use loadgen::{Load, RateShape};

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
        assert_eq!((c.meta.name.as_str(), c.meta.test_id.as_deref()), ("smoke", Some("t1")));
        assert_eq!(c.meta.labels.get("team").map(String::as_str), Some("perf"));
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
            ("test: {clients: []}", "clients"),
            ("clients: [{endpoint_urls: [\"ftp://x\"]}]", "endpoint_urls[0]"),
            ("clients: [{protocol: 4, endpoint_urls: [\"http://a\"]}]", "protocol"),
            ("clients: [{rps: -1, endpoint_urls: [\"http://a\"]}]", "rps"),
            ("duration: soon\nclients: [{endpoint_urls: [\"http://a\"]}]", "duration"),
            ("clients: [{endpoint_urls: [\"http://a\"]}, {endpoint_urls: [\"http://b\"]}]", "one client per operation"),
            (
                "clients: [{endpoint_urls: [\"https://a\"], additional_options: '{\"cert\": \"/etc/passwd\"}'}]",
                "cannot be used through the adapter",
            ),
        ];
        for (body, path) in cases {
            let err = parse(body).unwrap_err().to_string();
            assert!(err.contains(path), "{body}: {err}");
        }
    }
}
