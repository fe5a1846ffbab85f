//! One request type for every way a run enters meshperf, and the one converter to a plan.
//!
//! Every front end (the command line, a profile file, Meshery's REST parameters over a stored
//! profile, an SMP body, the perf service's wire plan, Meshery's adapter) translates its own
//! input into a [`RunRequest`] and nothing else: it names values, it does not decide defaults
//! or combine rules. [`RunRequest::into_run`] is the only place a request becomes a
//! [`ValidatedPlan`], with the one set of defaults below, so two front ends can never disagree
//! on what the same values mean.
//!
//! Requests stack: [`RunRequest::overlay`] puts the values one request sets over another's
//! (command-line flags over a profile, query parameters over a stored profile).
//!
//! | value | when absent |
//! |---|---|
//! | method | GET, or POST when there is a body |
//! | connections | [`DEFAULT_CONNECTIONS`] |
//! | threads | one per core, at most one per connection |
//! | load | closed loop |
//! | duration | [`DEFAULT_DURATION`], unless a request count is given (then none) or the load is stages (their sum) |
//! | warm-up | none |
//! | timeout | [`loadgen::plan::DEFAULT_TIMEOUT`] |
//! | HTTP version | HTTP/1.1; streams per HTTP/2 connection 1 |
//! | name | `meshperf run URL...` |
//!
//! TLS material is PEM bytes in the plan. A request may name a file instead ([`PemSource::File`])
//! where the caller is the machine's own user (the command line reads it with
//! [`RunRequest::read_files`]); the converter refuses a file it is handed, so a server never
//! reads one for a caller. The same holds for `.proto` files ([`ProtoSource::Files`]).
//!
//! A gRPC call ([`GrpcRequest`]: `grpc://` or `grpcs://` URLs, a method, the message as JSON,
//! metadata, the descriptors' source) becomes targets whose path is the call and whose body is
//! the message encoded once; see the private `grpc` module for where the descriptors come from.
//! A request that already carries the encoded call (a wire plan: `grpc` URLs with the call as
//! their path, the message bytes as the body, no [`GrpcRequest`]) converts like any other.

mod convert;
mod grpc;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use loadgen::{Field, Load, Pem, RateShape, Shard, ValidatedPlan};

use crate::result::RunMeta;

pub use grpc::{
    GrpcRequest, HEALTH_SERVICE, MAX_PROTO_DEPTH, MAX_PROTO_FILES, MAX_PROTO_SOURCE, ProtoSource, REFLECTION_TIMEOUT,
    compile_files, parse_call,
};

/// The duration of a run that gives neither a duration nor a request count (Meshery's and
/// mesheryctl's default).
pub const DEFAULT_DURATION: Duration = Duration::from_secs(30);
/// Connections of a run that does not say.
pub const DEFAULT_CONNECTIONS: u32 = 50;

/// What a run asks for; `None` (or empty) means "not given here".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunRequest {
    /// Target URLs, used round robin.
    pub urls: Vec<String>,
    /// Request method.
    pub method: Option<http::Method>,
    /// Headers as `(name, value)`, in order.
    pub headers: Vec<(String, String)>,
    /// Cookies as `(name, value)`; sent as one `Cookie` header.
    pub cookies: Vec<(String, String)>,
    /// Request body.
    pub body: Option<Bytes>,
    /// The body's content type (a `Content-Type` header unless the headers have one).
    pub content_type: Option<String>,
    /// Connections in total.
    pub connections: Option<u32>,
    /// Worker threads.
    pub threads: Option<u32>,
    /// Closed loop, or an open-loop rate shape.
    pub load: Option<Load>,
    /// Measured duration.
    pub duration: Option<Duration>,
    /// Stop after this many requests.
    pub max_requests: Option<u64>,
    /// Warm-up before measuring.
    pub warmup: Option<Duration>,
    /// Per-request timeout.
    pub timeout: Option<Duration>,
    /// Speak HTTP/2.
    pub http2: Option<bool>,
    /// Concurrent streams per HTTP/2 connection.
    pub h2_streams: Option<u32>,
    /// TLS trust and client certificate.
    pub tls: TlsRequest,
    /// A gRPC call to build from JSON (the URLs are then `grpc://` or `grpcs://`).
    pub grpc: Option<GrpcRequest>,
    /// This machine's shard of a distributed run.
    pub shard: Option<Shard>,
    /// The agreed start instant of a distributed run.
    pub start_at: Option<SystemTime>,
    /// How the result is labelled.
    pub meta: RequestMeta,
}

/// TLS settings of a request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TlsRequest {
    /// CA certificates to trust.
    pub ca_certs: Option<PemSource>,
    /// Client certificate chain (mTLS).
    pub client_cert: Option<PemSource>,
    /// Client private key (mTLS).
    pub client_key: Option<PemSource>,
    /// Accept any server certificate.
    pub insecure: Option<bool>,
}

/// Where PEM material comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum PemSource {
    /// The PEM text itself.
    Pem(Pem),
    /// A file to read (only where the caller is this machine's user).
    File(PathBuf),
}

impl PemSource {
    /// PEM text when `text` starts like PEM, else a file path.
    pub fn from_text(text: &str) -> Self {
        if text.trim_start().starts_with("-----BEGIN") {
            PemSource::Pem(Pem::new(text.trim().as_bytes().to_vec()))
        } else {
            PemSource::File(PathBuf::from(text.trim()))
        }
    }
}

/// Labels of the result.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestMeta {
    /// The test's name.
    pub name: Option<String>,
    /// Extra labels.
    pub labels: BTreeMap<String, String>,
    /// The service mesh the target runs in (`istio`, ...).
    pub mesh: Option<String>,
    /// The load generator the request named (`fortio`, `wrk2`, ...); meshperf's engine runs it.
    pub generator: Option<String>,
    /// The id of the profile (SMP test config) that ran.
    pub test_id: Option<String>,
}

/// A request that became a plan: what the engine runs and how its result is labelled.
#[derive(Debug, Clone)]
pub struct ValidRun {
    /// The validated plan.
    pub plan: ValidatedPlan,
    /// Name, labels (with `mesh`), requested generator and test id for the result.
    pub meta: RunMeta,
}

impl RunRequest {
    /// A request for these URLs and nothing else.
    pub fn for_urls(urls: impl IntoIterator<Item = impl Into<String>>) -> Self {
        RunRequest { urls: urls.into_iter().map(Into::into).collect(), ..RunRequest::default() }
    }

    /// Puts every value `top` sets over this request's: URLs (as a whole), scalars, TLS
    /// settings and meta replace; headers and cookies replace those of the same name and add
    /// the others; labels merge. A stages load from `top` without a duration of its own drops
    /// this request's duration (the stages say how long the run is).
    pub fn overlay(&mut self, top: RunRequest) {
        fn set<T>(dst: &mut Option<T>, src: Option<T>) {
            if src.is_some() {
                *dst = src;
            }
        }
        if !top.urls.is_empty() {
            self.urls = top.urls;
        }
        set(&mut self.method, top.method);
        merge_named(&mut self.headers, top.headers, true);
        merge_named(&mut self.cookies, top.cookies, false);
        set(&mut self.body, top.body);
        set(&mut self.content_type, top.content_type);
        set(&mut self.connections, top.connections);
        set(&mut self.threads, top.threads);
        if matches!(top.load, Some(Load::Open(RateShape::Stages(_)))) && top.duration.is_none() {
            self.duration = None;
        }
        set(&mut self.load, top.load);
        set(&mut self.duration, top.duration);
        set(&mut self.max_requests, top.max_requests);
        set(&mut self.warmup, top.warmup);
        set(&mut self.timeout, top.timeout);
        set(&mut self.http2, top.http2);
        set(&mut self.h2_streams, top.h2_streams);
        set(&mut self.tls.ca_certs, top.tls.ca_certs);
        set(&mut self.tls.client_cert, top.tls.client_cert);
        set(&mut self.tls.client_key, top.tls.client_key);
        set(&mut self.tls.insecure, top.tls.insecure);
        match (self.grpc.as_mut(), top.grpc) {
            (Some(mine), Some(top)) => mine.overlay(top),
            (None, top @ Some(_)) => self.grpc = top,
            (_, None) => {}
        }
        set(&mut self.shard, top.shard);
        set(&mut self.start_at, top.start_at);
        set(&mut self.meta.name, top.meta.name);
        self.meta.labels.extend(top.meta.labels);
        set(&mut self.meta.mesh, top.meta.mesh);
        set(&mut self.meta.generator, top.meta.generator);
        set(&mut self.meta.test_id, top.meta.test_id);
    }

    /// Whether this request gives a value for `field` (so an error about it is this
    /// request's to name).
    pub fn sets(&self, field: Field) -> bool {
        match field {
            Field::Targets | Field::Url(_) => !self.urls.is_empty(),
            Field::Method => self.method.is_some(),
            Field::Header => !self.headers.is_empty(),
            Field::Cookies => !self.cookies.is_empty(),
            Field::ContentType => self.content_type.is_some(),
            Field::Body => self.body.is_some(),
            Field::Connections => self.connections.is_some(),
            Field::Threads => self.threads.is_some(),
            Field::H2Streams => self.h2_streams.is_some(),
            Field::Rate | Field::Ramp | Field::Stages => self.load.is_some(),
            Field::Duration => self.duration.is_some(),
            Field::Requests => self.max_requests.is_some(),
            Field::Warmup => self.warmup.is_some(),
            Field::Timeout => self.timeout.is_some(),
            Field::CaCert => self.tls.ca_certs.is_some() || self.tls.insecure.is_some(),
            Field::ClientCert => self.tls.client_cert.is_some(),
            Field::ClientKey => self.tls.client_key.is_some(),
            Field::Shard => self.shard.is_some(),
            Field::StartAt => self.start_at.is_some(),
            Field::Call => self.grpc.as_ref().is_some_and(|g| g.call.is_some()),
            Field::Data => self.grpc.as_ref().is_some_and(|g| g.data.is_some()),
            Field::Metadata => self.grpc.as_ref().is_some_and(|g| !g.metadata.is_empty()),
            Field::Proto => self.grpc.as_ref().is_some_and(|g| g.proto.is_some()),
        }
    }

    /// Reads every [`PemSource::File`] into PEM bytes and compiles [`ProtoSource::Files`] into
    /// descriptors. Only for callers who are this machine's user (the command line); the error
    /// names the field and the file.
    pub fn read_files(&mut self) -> Result<(), (Field, String)> {
        if let Some(g) = self.grpc.as_mut()
            && let Some(ProtoSource::Files { files, import_paths }) = &g.proto
        {
            let set = compile_files(files, import_paths).map_err(|e| (Field::Proto, format!("{e}; check the path")))?;
            g.proto = Some(ProtoSource::Descriptors(set));
        }
        for (field, source) in [
            (Field::CaCert, &mut self.tls.ca_certs),
            (Field::ClientCert, &mut self.tls.client_cert),
            (Field::ClientKey, &mut self.tls.client_key),
        ] {
            if let Some(PemSource::File(path)) = source {
                let bytes = std::fs::read(&*path)
                    .map_err(|e| (field, format!("cannot read {}: {e}; check the path", path.display())))?;
                *source = Some(PemSource::Pem(Pem::new(bytes)));
            }
        }
        Ok(())
    }
}

/// Adds `(name, value)` pairs to `list`; a pair replaces an existing one of the same name
/// (compared without case when `ignore_case`).
fn merge_named(list: &mut Vec<(String, String)>, add: Vec<(String, String)>, ignore_case: bool) {
    for (name, value) in add {
        let same = |n: &String| if ignore_case { n.eq_ignore_ascii_case(&name) } else { *n == name };
        list.retain(|(n, _)| !same(n));
        list.push((name, value));
    }
}

#[cfg(test)]
mod tests;
