//! From a validated profile to the engine's run plans, with command-line overrides.

use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use loadgen::{HttpVersion, Load, RateShape, RunPlan, Target, TlsOptions};

use super::options::{Options, plan_field};
use super::{TestProfile, reader::join};
use crate::error::SmpError;
use crate::model::{Protocol, performance_test_config::Client};

/// Values given on the command line; each one that is set replaces the profile's value in
/// every plan. Leave a field `None` (or empty) to keep the profile's.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Target URLs replacing every client's `endpoint_urls`.
    pub urls: Vec<String>,
    /// Request method.
    pub method: Option<http::Method>,
    /// Headers added after the profile's, as `(name, value)`.
    pub headers: Vec<(String, String)>,
    /// Request body.
    pub body: Option<Bytes>,
    /// Total connections per client.
    pub connections: Option<u32>,
    /// Worker threads.
    pub threads: Option<u32>,
    /// Load model (`--rate`, `--ramp`, `--stages`, or closed loop).
    pub load: Option<Load>,
    /// Measured duration.
    pub duration: Option<Duration>,
    /// Request limit.
    pub max_requests: Option<u64>,
    /// Warm-up.
    pub warmup: Option<Duration>,
    /// Per-request timeout.
    pub timeout: Option<Duration>,
    /// HTTP version.
    pub http: Option<HttpVersion>,
    /// Concurrent streams per HTTP/2 connection.
    pub h2_streams: Option<u32>,
    /// TLS settings replacing the profile's.
    pub tls: Option<TlsOptions>,
}

impl Overrides {
    /// Applies these overrides to `plan` (command-line flags over a profile or the defaults);
    /// the caller validates the plan afterwards.
    pub fn apply_to(&self, plan: &mut RunPlan) -> Result<(), SmpError> {
        apply(plan, self)
    }
}

impl TestProfile {
    /// One validated run plan per client, as the profile says.
    pub fn to_plans(&self) -> Result<Vec<RunPlan>, SmpError> {
        self.to_plans_with(&Overrides::default())
    }

    /// One validated run plan per client, with `overrides` applied on top of the profile.
    pub fn to_plans_with(&self, overrides: &Overrides) -> Result<Vec<RunPlan>, SmpError> {
        let prefix = match self.source {
            super::Source::Envelope => "test",
            _ => "",
        };
        self.test
            .clients
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let path = join(prefix, &format!("clients[{i}]"));
                let mut plan = client_plan(c, &path, self.duration())?;
                apply(&mut plan, overrides)?;
                plan.validate().map_err(|e| SmpError::field(&path, e.to_string()))?;
                Ok(plan)
            })
            .collect()
    }
}

fn client_plan(c: &Client, path: &str, duration: Duration) -> Result<RunPlan, SmpError> {
    match Protocol::try_from(c.protocol) {
        Ok(Protocol::Invalid | Protocol::Http) => {}
        Ok(other) => {
            return Err(SmpError::field(
                join(path, "protocol"),
                format!("{} load is not supported; meshperf sends HTTP/1.1 and HTTP/2 (use http)", other.as_str_name()),
            ));
        }
        Err(_) => return Err(SmpError::field(join(path, "protocol"), "unknown protocol; use http")),
    }
    let opts = Options::parse(&c.additional_options, &join(path, "additional_options"))?;
    let body = Bytes::from(c.body.clone().into_bytes());
    let method = opts.method.clone().unwrap_or(if body.is_empty() { http::Method::GET } else { http::Method::POST });
    let mut targets = Vec::with_capacity(c.endpoint_urls.len());
    for (i, url) in c.endpoint_urls.iter().enumerate() {
        let at = format!("{}[{i}]", join(path, "endpoint_urls"));
        let mut t = Target::get(url).map_err(|e| plan_field(&at, e))?;
        t.method = method.clone();
        t.body = body.clone();
        for (name, value) in &c.headers {
            t.add_header(name, value).map_err(|e| plan_field(&join(&join(path, "headers"), name), e))?;
        }
        if !c.cookies.is_empty() {
            let cookie = c.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
            t.add_header("cookie", &cookie).map_err(|e| plan_field(&join(path, "cookies"), e))?;
        }
        let has_content_type = c.headers.keys().any(|k| k.eq_ignore_ascii_case("content-type"));
        if !c.content_type.is_empty() && !has_content_type {
            t.add_header("content-type", &c.content_type).map_err(|e| plan_field(&join(path, "content_type"), e))?;
        }
        targets.push(t);
    }
    let mut plan = RunPlan::new(targets);
    plan.connections = u32::try_from(c.connections.max(1)).unwrap_or(1);
    plan.threads = opts.threads.unwrap_or_else(|| loadgen::plan::default_threads().min(plan.connections));
    plan.duration = Some(duration);
    plan.load = match (&opts.shape, c.rps) {
        (Some(shape @ RateShape::Stages(_)), _) => {
            plan.duration = None;
            Load::Open(shape.clone())
        }
        (Some(shape), _) => Load::Open(shape.clone()),
        (None, 0) => Load::Closed,
        (None, rps) => Load::Open(RateShape::Constant(rps as f64)),
    };
    if opts.http2 {
        plan.http = HttpVersion::Http2;
    }
    if let Some(n) = opts.h2_streams {
        plan.h2_streams = n;
    }
    plan.max_requests = opts.max_requests;
    plan.warmup = opts.warmup.unwrap_or(plan.warmup);
    plan.timeout = opts.timeout.unwrap_or(plan.timeout);
    plan.tls = TlsOptions {
        ca_cert: match opts.ca_cert {
            Some(p) => Some(PathBuf::from(p)),
            None => ca_file(&c.ssl_certificate, &join(path, "ssl_certificate"))?,
        },
        client_cert: opts.cert.map(PathBuf::from),
        client_key: opts.key.map(PathBuf::from),
        insecure: opts.insecure,
    };
    Ok(plan)
}

/// `ssl_certificate` is PEM text (written to a temporary file the engine can read) or a path.
fn ca_file(cert: &str, path: &str) -> Result<Option<PathBuf>, SmpError> {
    let cert = cert.trim();
    if cert.is_empty() {
        return Ok(None);
    }
    if !cert.starts_with("-----BEGIN") {
        return Ok(Some(PathBuf::from(cert)));
    }
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    cert.hash(&mut hasher);
    let file = std::env::temp_dir().join(format!("meshperf-ca-{:016x}.pem", hasher.finish()));
    std::fs::write(&file, cert)
        .map_err(|e| SmpError::field(path, format!("cannot write it to {}: {e}", file.display())))?;
    Ok(Some(file))
}

fn apply(plan: &mut RunPlan, o: &Overrides) -> Result<(), SmpError> {
    if !o.urls.is_empty() {
        let template = plan.targets[0].clone();
        plan.targets = o
            .urls
            .iter()
            .map(|u| {
                let url = loadgen::plan::parse_url(u)?;
                Ok(Target { url, ..template.clone() })
            })
            .collect::<Result<_, loadgen::PlanError>>()?;
    }
    for t in &mut plan.targets {
        if let Some(m) = &o.method {
            t.method = m.clone();
        }
        if let Some(b) = &o.body {
            t.body = b.clone();
        }
        for (name, value) in &o.headers {
            t.add_header(name, value)?;
        }
    }
    if let Some(c) = o.connections {
        plan.connections = c;
        if o.threads.is_none() {
            plan.threads = plan.threads.min(c.max(1));
        }
    }
    if let Some(load) = &o.load {
        if matches!(load, Load::Open(RateShape::Stages(_))) && o.duration.is_none() {
            plan.duration = None;
        }
        plan.load = load.clone();
    }
    let set = |dst: &mut Duration, src: Option<Duration>| *dst = src.unwrap_or(*dst);
    plan.threads = o.threads.unwrap_or(plan.threads);
    plan.duration = o.duration.or(plan.duration);
    plan.max_requests = o.max_requests.or(plan.max_requests);
    set(&mut plan.warmup, o.warmup);
    set(&mut plan.timeout, o.timeout);
    plan.http = o.http.unwrap_or(plan.http);
    plan.h2_streams = o.h2_streams.unwrap_or(plan.h2_streams);
    if let Some(tls) = &o.tls {
        plan.tls = tls.clone();
    }
    Ok(())
}
