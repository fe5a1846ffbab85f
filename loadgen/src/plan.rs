//! The validated description of one run: targets, protocol, load model, limits and TLS.
//!
//! A [`RunPlan`] is built by a front end (the CLI, a profile, the server), then checked by
//! [`RunPlan::validate`], which is the only way to get the [`ValidatedPlan`] the engine runs.
//! Everything the engine needs is here, TLS material included (as PEM bytes): nothing is read
//! from files or the environment later.

use std::net::IpAddr;
use std::ops::Deref;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method};
use serde::{Deserialize, Serialize};

use crate::error::{Field, PlanError, ValueError};

/// Default per-request timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Highest rate accepted, in requests per second.
pub const MAX_RATE: f64 = 10_000_000.0;
/// Most connections accepted.
pub const MAX_CONNECTIONS: u32 = 100_000;
/// Most worker threads accepted.
pub const MAX_THREADS: u32 = 1024;
/// Most streams per HTTP/2 connection accepted.
pub const MAX_H2_STREAMS: u32 = 10_000;

/// One URL with the request to send to it.
///
/// A gRPC target has a `grpc` or `grpcs` URL whose path is the call (`/package.Service/Method`),
/// the method POST, its metadata in `headers`, and the encoded request message (protobuf bytes,
/// without the 5-byte gRPC prefix) as `body`; see [`crate::grpc`].
#[derive(Debug, Clone)]
pub struct Target {
    /// The parsed URL (`http`, `https`, `grpc` or `grpcs`).
    pub url: url::Url,
    /// The request method.
    pub method: Method,
    /// Extra headers, in order; `Host` and `Content-Length` are added by the engine.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The request body (empty for none).
    pub body: Bytes,
}

impl Target {
    /// A GET of `url`, after checking that the URL is absolute, `http` or `https`, and has a host.
    pub fn get(url: &str) -> Result<Self, ValueError> {
        Ok(Target { url: parse_url(url)?, method: Method::GET, headers: Vec::new(), body: Bytes::new() })
    }

    /// The host and port to connect to (without a port: 443 with TLS, else 80).
    pub fn authority(&self) -> (String, u16) {
        let host = self.url.host_str().unwrap_or_default().trim_matches(['[', ']']).to_string();
        (host, self.url.port_or_known_default().unwrap_or(if self.is_tls() { 443 } else { 80 }))
    }

    /// Whether the target uses TLS (`https` or `grpcs`).
    pub fn is_tls(&self) -> bool {
        matches!(self.url.scheme(), "https" | "grpcs")
    }

    /// Whether the target is a gRPC call (`grpc` or `grpcs`).
    pub fn is_grpc(&self) -> bool {
        crate::grpc::is_grpc_scheme(self.url.scheme())
    }

    /// Adds a header from `Name: value` text.
    pub fn add_header_line(&mut self, line: &str) -> Result<(), ValueError> {
        let (name, value) = line.split_once(':').ok_or_else(|| ValueError(format!("{line:?} is not `Name: value`")))?;
        self.add_header(name.trim(), value.trim())
    }

    /// Adds one header, checking its name and value.
    pub fn add_header(&mut self, name: &str, value: &str) -> Result<(), ValueError> {
        let bad = ValueError;
        let name =
            HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad(format!("{name:?} is not a valid header name")))?;
        let value = HeaderValue::from_str(value)
            .map_err(|_| bad(format!("the value of {name} has characters a header cannot carry")))?;
        if name == http::header::CONTENT_LENGTH || name == http::header::TRANSFER_ENCODING {
            return Err(bad(format!("{name} is set by meshperf from the body; remove it")));
        }
        self.headers.push((name, value));
        Ok(())
    }
}

/// Parses and checks a target URL.
pub fn parse_url(text: &str) -> Result<url::Url, ValueError> {
    let shown: String = text.chars().take(100).collect();
    let bad = |reason: &str| ValueError(format!("invalid URL {shown:?}: {reason}"));
    let url = url::Url::parse(text)
        .map_err(|e| bad(&format!("{e}; write an absolute URL such as http://127.0.0.1:8080/path")))?;
    match url.scheme() {
        "http" | "https" | "grpc" | "grpcs" => {}
        other => {
            return Err(bad(&format!("scheme {other:?} is not supported; use http, https, grpc or grpcs")));
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("it has no host"));
    }
    Ok(url)
}

/// The HTTP version the engine speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum HttpVersion {
    /// HTTP/1.1 with keep-alive.
    #[default]
    Http1,
    /// HTTP/2: h2c with prior knowledge for `http://`, ALPN `h2` for `https://`.
    Http2,
}

/// How requests are paced.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Load {
    /// Closed loop: each connection (or stream) sends its next request when the last completes.
    #[default]
    Closed,
    /// Open loop: request *i* is due at a fixed instant from the rate shape.
    Open(RateShape),
}

/// The target rate over time for an open-loop run.
#[derive(Debug, Clone, PartialEq)]
pub enum RateShape {
    /// A constant rate in requests per second.
    Constant(f64),
    /// A linear ramp from one rate to another over the measured duration.
    Ramp {
        /// Rate at the start, requests per second.
        from: f64,
        /// Rate at the end, requests per second.
        to: f64,
    },
    /// Steps: each stage holds its rate for its duration, one after another.
    Stages(Vec<Stage>),
}

/// One step of a [`RateShape::Stages`] shape.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stage {
    /// How long the stage lasts.
    pub duration: Duration,
    /// Its rate in requests per second (0 pauses).
    pub rate: f64,
}

/// PEM text (certificates or a key) carried in a plan. Its `Debug` shows only its size, so a
/// private key never reaches a log.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Pem(Bytes);

impl Pem {
    /// PEM from its bytes.
    pub fn new(bytes: impl Into<Bytes>) -> Self {
        Pem(bytes.into())
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Pem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pem({} bytes)", self.0.len())
    }
}

/// Where trust comes from and which client certificate to present, as PEM bytes (a front end
/// reads files; the plan never names one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// CA certificates to trust instead of the system roots.
    pub ca_certs: Option<Pem>,
    /// Client certificate chain for mTLS.
    pub client_cert: Option<Pem>,
    /// Private key matching `client_cert`.
    pub client_key: Option<Pem>,
    /// Accept any server certificate (explicit opt-in only).
    pub insecure: bool,
}

/// Decides at connect time whether a resolved address may receive load. A server or worker
/// sets it from its target allow-list, so a name that resolved to an allowed address when the
/// run was admitted cannot be re-pointed elsewhere afterwards (DNS rebinding).
pub trait ConnectPolicy: Send + Sync + std::fmt::Debug {
    /// Whether `host` (as written in the URL) may be reached at `ip`.
    fn allows(&self, host: &str, ip: IpAddr) -> bool;
}

/// This engine's part of a run spread over several machines: it sends request indices
/// `i` with `i % count == index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// This machine's index, from 0.
    pub index: u32,
    /// How many machines share the run.
    pub count: u32,
}

impl Default for Shard {
    fn default() -> Self {
        Shard { index: 0, count: 1 }
    }
}

/// Everything one run needs, validated by [`RunPlan::validate`].
#[derive(Debug, Clone)]
pub struct RunPlan {
    /// Targets, used round robin.
    pub targets: Vec<Target>,
    /// HTTP version.
    pub http: HttpVersion,
    /// Concurrent streams per HTTP/2 connection (`--h2-streams`).
    pub h2_streams: u32,
    /// Connections in total, spread over workers.
    pub connections: u32,
    /// Worker threads.
    pub threads: u32,
    /// Open or closed loop.
    pub load: Load,
    /// Measured duration, after the warm-up. `None` means until `max_requests` are done.
    pub duration: Option<Duration>,
    /// Stop after this many requests in the measured window (across all workers of this engine).
    pub max_requests: Option<u64>,
    /// Warm-up before measuring; its samples are dropped.
    pub warmup: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
    /// TLS settings for `https` targets.
    pub tls: TlsOptions,
    /// This engine's shard of a distributed run.
    pub shard: Shard,
    /// When to start (an instant agreed between machines); `None` starts at once.
    pub start_at: Option<SystemTime>,
    /// Addresses the engine may connect to; `None` allows any. Disallowed addresses count as
    /// `connect` errors.
    pub connect_policy: Option<Arc<dyn ConnectPolicy>>,
}

impl RunPlan {
    /// A plan with the defaults: closed loop, HTTP/1.1, 50 connections, one worker per core, 10 s.
    pub fn new(targets: Vec<Target>) -> Self {
        RunPlan {
            targets,
            http: HttpVersion::Http1,
            h2_streams: 1,
            connections: 50,
            threads: default_threads(),
            load: Load::Closed,
            duration: Some(Duration::from_secs(10)),
            max_requests: None,
            warmup: Duration::ZERO,
            timeout: DEFAULT_TIMEOUT,
            tls: TlsOptions::default(),
            shard: Shard::default(),
            start_at: None,
            connect_policy: None,
        }
    }

    /// Checks every value and returns the plan as a [`ValidatedPlan`], the only form the engine
    /// runs. The error names the field (neutrally) and the fix.
    pub fn validate(self) -> Result<ValidatedPlan, PlanError> {
        self.check()?;
        Ok(ValidatedPlan(self))
    }

    fn check(&self) -> Result<(), PlanError> {
        let bad = |field: Field, reason: String| PlanError::new(field, reason);
        if self.targets.is_empty() {
            return Err(bad(
                Field::Targets,
                "no target URL given: pass at least one URL such as http://127.0.0.1:8080/".into(),
            ));
        }
        if self.connections == 0 || self.connections > MAX_CONNECTIONS {
            return Err(bad(
                Field::Connections,
                format!("{} is out of range; use 1 to {MAX_CONNECTIONS}", self.connections),
            ));
        }
        let hosts = crate::worker::group_targets(self).len();
        if (self.connections as usize) < hosts {
            return Err(bad(
                Field::Connections,
                format!(
                    "{} connections cannot reach {hosts} different hosts; use at least {hosts} connections",
                    self.connections
                ),
            ));
        }
        if self.threads == 0 || self.threads > MAX_THREADS {
            return Err(bad(Field::Threads, format!("{} is out of range; use 1 to {MAX_THREADS}", self.threads)));
        }
        if self.h2_streams == 0 || self.h2_streams > MAX_H2_STREAMS {
            return Err(bad(
                Field::H2Streams,
                format!("{} is out of range; use 1 to {MAX_H2_STREAMS}", self.h2_streams),
            ));
        }
        if self.timeout.is_zero() {
            return Err(bad(Field::Timeout, "must be above 0".into()));
        }
        self.check_grpc()?;
        if self.shard.count == 0 || self.shard.index >= self.shard.count {
            return Err(bad(Field::Shard, format!("index {} of {} is impossible", self.shard.index, self.shard.count)));
        }
        match (&self.load, self.duration, self.max_requests) {
            (_, Some(d), _) if d.is_zero() => return Err(bad(Field::Duration, "must be above 0".into())),
            (_, _, Some(0)) => return Err(bad(Field::Requests, "must be above 0".into())),
            (Load::Closed, None, None) | (Load::Open(RateShape::Constant(_)), None, None) => {
                return Err(bad(Field::Duration, "give a duration or a request count".into()));
            }
            (Load::Open(RateShape::Ramp { .. }), None, _) => {
                return Err(bad(Field::Ramp, "a ramp runs over the duration; give a duration as well".into()));
            }
            _ => {}
        }
        if let Load::Open(shape) = &self.load {
            shape.validate()?;
        }
        crate::tls::check(&self.tls)
    }

    /// gRPC targets: all or none of the targets, over HTTP/2, each a POST to a call path.
    fn check_grpc(&self) -> Result<(), PlanError> {
        let grpc = self.targets.iter().filter(|t| t.is_grpc()).count();
        if grpc == 0 {
            return Ok(());
        }
        if grpc < self.targets.len() {
            return Err(PlanError::new(
                Field::Targets,
                "gRPC (grpc://, grpcs://) and HTTP targets cannot be mixed in one run; run them separately",
            ));
        }
        if self.http != HttpVersion::Http2 {
            return Err(PlanError::new(Field::Targets, "gRPC calls go over HTTP/2; set the HTTP version to HTTP/2"));
        }
        for (i, t) in self.targets.iter().enumerate() {
            if crate::grpc::split_call(t.url.path()).is_none() || t.url.query().is_some() {
                return Err(PlanError::new(
                    Field::Url(i),
                    format!("{} does not name a call; a gRPC target's path is /package.Service/Method", t.url),
                ));
            }
            if t.method != Method::POST {
                return Err(PlanError::new(Field::Method, format!("{} is not POST, and gRPC calls are", t.method)));
            }
        }
        Ok(())
    }

    /// Whether the plan's targets are gRPC calls.
    pub fn is_grpc(&self) -> bool {
        self.targets.first().is_some_and(Target::is_grpc)
    }

    /// The length of the measured window: the duration, or the sum of the stages.
    pub fn measured_duration(&self) -> Option<Duration> {
        match (&self.load, self.duration) {
            (Load::Open(RateShape::Stages(s)), None) => Some(s.iter().map(|s| s.duration).sum()),
            (_, d) => d,
        }
    }

    /// The longest this plan can keep the engine busy once started, when it has a measured
    /// window: waiting for its start instant, opening connections, the warm-up, the window,
    /// the last requests' timeout and the cancel grace. `None` for a run bounded only by a
    /// request count (its length depends on the target).
    pub fn wall_time_bound(&self) -> Option<Duration> {
        let wait = self.start_at.and_then(|t| t.duration_since(SystemTime::now()).ok()).unwrap_or_default();
        let measured = self.measured_duration()?;
        Some(
            wait + crate::worker::PRECONNECT_LIMIT.min(self.timeout)
                + self.warmup
                + measured
                + self.timeout
                + crate::worker::CANCEL_GRACE,
        )
    }

    /// The connections that worker `w` owns (connections are split as evenly as possible).
    pub fn connections_for(&self, w: u32) -> u32 {
        split(self.connections, self.threads, w)
    }

    /// The requests worker `w` may complete, when `max_requests` is set.
    pub fn requests_for(&self, w: u32) -> Option<u64> {
        self.max_requests.map(|n| {
            let t = u64::from(self.threads);
            n / t + u64::from(u64::from(w) < n % t)
        })
    }
}

/// A plan that passed [`RunPlan::validate`]; the engine runs only these. It reads as a
/// [`RunPlan`]; changing a value means [`into_inner`](Self::into_inner) and validating again.
/// The two settings that cannot break a plan (where it may connect, when a distributed run
/// starts) can be set in place.
#[derive(Debug, Clone)]
pub struct ValidatedPlan(RunPlan);

impl ValidatedPlan {
    /// The plan, to change and validate again.
    pub fn into_inner(self) -> RunPlan {
        self.0
    }

    /// Restricts the addresses the engine may connect to.
    pub fn set_connect_policy(&mut self, policy: Arc<dyn ConnectPolicy>) {
        self.0.connect_policy = Some(policy);
    }

    /// Sets the instant a distributed run starts at.
    pub fn set_start_at(&mut self, at: Option<SystemTime>) {
        self.0.start_at = at;
    }
}

impl Deref for ValidatedPlan {
    type Target = RunPlan;

    fn deref(&self) -> &RunPlan {
        &self.0
    }
}

/// Splits `total` into `parts` as evenly as possible and returns part `i`.
pub fn split(total: u32, parts: u32, i: u32) -> u32 {
    total / parts + u32::from(i < total % parts)
}

/// The number of cores this process may use.
pub fn default_threads() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
}

impl RateShape {
    fn validate(&self) -> Result<(), PlanError> {
        let ok = |r: f64| r.is_finite() && (0.0..=MAX_RATE).contains(&r);
        match self {
            RateShape::Constant(r) if !ok(*r) || *r <= 0.0 => Err(PlanError::new(
                Field::Rate,
                format!("{r} is out of range; use a rate above 0 and up to {MAX_RATE}"),
            )),
            RateShape::Ramp { from, to } if !ok(*from) || !ok(*to) || (*from <= 0.0 && *to <= 0.0) => {
                Err(PlanError::new(Field::Ramp, "rates must be between 0 and 10M, and one of them above 0"))
            }
            RateShape::Stages(stages)
                if stages.is_empty() || stages.iter().any(|s| !ok(s.rate) || s.duration.is_zero()) =>
            {
                Err(PlanError::new(Field::Stages, "each stage needs a duration above 0 and a rate between 0 and 10M"))
            }
            RateShape::Stages(stages) if stages.iter().all(|s| s.rate <= 0.0) => {
                Err(PlanError::new(Field::Stages, "every stage has rate 0; give at least one stage a rate above 0"))
            }
            _ => Ok(()),
        }
    }

    /// The highest rate the shape reaches, requests per second.
    pub fn peak(&self) -> f64 {
        match self {
            RateShape::Constant(r) => *r,
            RateShape::Ramp { from, to } => from.max(*to),
            RateShape::Stages(stages) => stages.iter().map(|s| s.rate).fold(0.0, f64::max),
        }
    }

    /// The target rate at `t` into the measured window (`measured` is its length).
    pub fn rate_at(&self, t: f64, measured: f64) -> f64 {
        match self {
            RateShape::Constant(r) => *r,
            RateShape::Ramp { from, to } => {
                let f = if measured > 0.0 { (t / measured).clamp(0.0, 1.0) } else { 1.0 };
                from + (to - from) * f
            }
            RateShape::Stages(stages) => {
                let mut start = 0.0;
                for s in stages {
                    let end = start + s.duration.as_secs_f64();
                    if t < end {
                        return s.rate;
                    }
                    start = end;
                }
                stages.last().map_or(0.0, |s| s.rate)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grpc(url: &str) -> Target {
        let mut t = Target::get(url).unwrap();
        t.method = Method::POST;
        t
    }

    #[test]
    fn grpc_targets_are_calls_over_http2() {
        let mut plan = RunPlan::new(vec![grpc("grpc://127.0.0.1:50051/grpc.health.v1.Health/Check")]);
        plan.http = HttpVersion::Http2;
        assert!(plan.is_grpc());
        assert_eq!(plan.targets[0].authority(), ("127.0.0.1".to_string(), 50051));
        assert_eq!(grpc("grpcs://svc.local/a.B/C").authority(), ("svc.local".to_string(), 443));
        assert!(plan.clone().validate().is_ok());
        let err = |p: RunPlan| p.validate().unwrap_err();
        let mut h1 = plan.clone();
        h1.http = HttpVersion::Http1;
        assert!(err(h1).reason.contains("HTTP/2"));
        let mut mixed = plan.clone();
        mixed.targets.push(grpc("http://127.0.0.1:8080/"));
        assert!(err(mixed).reason.contains("cannot be mixed"));
        let mut no_call = plan.clone();
        no_call.targets = vec![grpc("grpc://127.0.0.1:50051/")];
        assert_eq!(err(no_call).field, Field::Url(0));
        let mut get = plan;
        get.targets[0].method = Method::GET;
        assert_eq!(err(get).field, Field::Method);
        assert!(parse_url("ftp://x/").unwrap_err().0.contains("use http, https, grpc or grpcs"));
    }
}
