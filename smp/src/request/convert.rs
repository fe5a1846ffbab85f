//! [`RunRequest::into_run`]: the one conversion from a request to a validated plan.

use std::time::Duration;

use loadgen::{Field, HttpVersion, Load, PlanError, RateShape, RunPlan, Target, TlsOptions};

use super::grpc::{self, GrpcRequest};
use super::{DEFAULT_CONNECTIONS, DEFAULT_DURATION, PemSource, RunRequest, ValidRun};
use crate::result::RunMeta;

impl RunRequest {
    /// Applies the defaults, builds the plan and validates it. Errors name the field neutrally
    /// ([`Field`]); the front end words them in its own terms.
    pub fn into_run(self) -> Result<ValidRun, PlanError> {
        self.convert(false)
    }

    /// Checks the request as [`into_run`](Self::into_run) would convert it, without fetching
    /// anything: a gRPC call whose descriptors are to come from the target's reflection
    /// service ([`needs_reflection`](Self::needs_reflection)) is checked for its form only
    /// (its message is encoded when it runs). For doors that store a request to run later.
    pub fn check(self) -> Result<(), PlanError> {
        self.convert(true).map(drop)
    }

    fn convert(self, offline: bool) -> Result<ValidRun, PlanError> {
        let meta = self.run_meta();
        let grpc_urls = self.urls.iter().any(|u| u.trim_start().to_ascii_lowercase().starts_with("grpc"));
        let call = match &self.grpc {
            Some(g) => Some(self.grpc_call(g, offline && self.needs_reflection())?),
            None => None,
        };
        let body = match &call {
            Some(c) => c.message.clone(),
            None => self.body.unwrap_or_default(),
        };
        let method =
            self.method.unwrap_or(if body.is_empty() && !grpc_urls { http::Method::GET } else { http::Method::POST });
        let has_content_type = self.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("content-type"));
        let mut targets = Vec::with_capacity(self.urls.len());
        for (i, url) in self.urls.iter().enumerate() {
            let mut t = Target::get(url).map_err(|e| e.at(Field::Url(i)))?;
            if let Some(c) = &call {
                if !t.is_grpc() {
                    return Err(PlanError::new(
                        Field::Url(i),
                        format!("{url} is not a gRPC target; write grpc://HOST:PORT (or grpcs:// for TLS)"),
                    ));
                }
                if t.url.path().len() > 1 && t.url.path() != c.path {
                    return Err(PlanError::new(
                        Field::Url(i),
                        format!("names the call {} but the call is {}; give the method once", t.url.path(), c.path),
                    ));
                }
                t.url.set_path(&c.path);
            }
            t.method = method.clone();
            t.body = body.clone();
            for (name, value) in &self.headers {
                t.add_header(name, value).map_err(|e| e.at(Field::Header))?;
            }
            for (name, value) in self.grpc.iter().flat_map(|g| &g.metadata) {
                t.add_header(&name.to_ascii_lowercase(), value).map_err(|e| e.at(Field::Metadata))?;
            }
            if !self.cookies.is_empty() {
                let line = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
                t.add_header("cookie", &line).map_err(|e| e.at(Field::Cookies))?;
            }
            if let Some(ct) = self.content_type.as_deref().filter(|c| !c.is_empty() && !has_content_type) {
                t.add_header("content-type", ct).map_err(|e| e.at(Field::ContentType))?;
            }
            targets.push(t);
        }
        let mut plan = RunPlan::new(targets);
        plan.connections = self.connections.unwrap_or(DEFAULT_CONNECTIONS);
        plan.threads = self.threads.unwrap_or_else(|| loadgen::plan::default_threads().min(plan.connections).max(1));
        plan.load = self.load.unwrap_or_default();
        let stages = matches!(plan.load, Load::Open(RateShape::Stages(_)));
        plan.duration = match (self.duration, self.max_requests) {
            (Some(d), _) => Some(d),
            (None, Some(_)) => None,
            (None, None) if stages => None,
            (None, None) => Some(DEFAULT_DURATION),
        };
        plan.max_requests = self.max_requests;
        plan.warmup = self.warmup.unwrap_or(Duration::ZERO);
        plan.timeout = self.timeout.unwrap_or(loadgen::plan::DEFAULT_TIMEOUT);
        if self.http2 == Some(true) || plan.targets.iter().any(Target::is_grpc) {
            plan.http = HttpVersion::Http2;
        }
        plan.h2_streams = self.h2_streams.unwrap_or(1);
        plan.tls = TlsOptions {
            ca_certs: pem(Field::CaCert, self.tls.ca_certs)?,
            client_cert: pem(Field::ClientCert, self.tls.client_cert)?,
            client_key: pem(Field::ClientKey, self.tls.client_key)?,
            insecure: self.tls.insecure.unwrap_or(false),
        };
        if let Some(shard) = self.shard {
            plan.shard = shard;
        }
        plan.start_at = self.start_at;
        Ok(ValidRun { plan: plan.validate()?, meta })
    }

    /// The gRPC call of the request, encoded (with an empty message when `unencoded`: its
    /// descriptors are not at hand); values that do not belong to a gRPC call are refused with
    /// the field that holds them.
    fn grpc_call(&self, g: &GrpcRequest, unencoded: bool) -> Result<grpc::Encoded, PlanError> {
        if self.body.is_some() {
            return Err(PlanError::new(Field::Body, "a gRPC call's message is JSON in `data`, not a body"));
        }
        if self.content_type.is_some() {
            return Err(PlanError::new(Field::ContentType, "gRPC sets the content type itself; remove it"));
        }
        if self.method.as_ref().is_some_and(|m| m != http::Method::POST) {
            return Err(PlanError::new(Field::Method, "gRPC calls are POST; remove the method"));
        }
        for (name, value) in &g.metadata {
            grpc::check_metadata(name, value)?;
        }
        let call = self.call_text().ok_or_else(|| {
            PlanError::new(
                Field::Call,
                "no method to call; give it as package.Service/Method, e.g. grpc.health.v1.Health/Check",
            )
        })?;
        if unencoded { grpc::unencoded(&call) } else { grpc::encode(g, &call) }
    }

    fn run_meta(&self) -> RunMeta {
        let name = self
            .meta
            .name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| format!("meshperf run {}", self.urls.join(" ")));
        let mut meta = RunMeta::new(name.trim());
        meta.labels.clone_from(&self.meta.labels);
        if let Some(mesh) = self.meta.mesh.as_deref().filter(|m| !m.is_empty() && !m.eq_ignore_ascii_case("none")) {
            meta.labels.insert("mesh".into(), mesh.to_string());
        }
        meta.requested_generator = self.meta.generator.clone().filter(|g| !g.is_empty());
        meta.test_id = self.meta.test_id.clone().filter(|t| !t.is_empty());
        meta
    }
}

/// PEM bytes; a file named here is refused (whoever may read files read them already).
fn pem(field: Field, source: Option<PemSource>) -> Result<Option<loadgen::Pem>, PlanError> {
    match source {
        None => Ok(None),
        Some(PemSource::Pem(p)) if p.is_empty() => Ok(None),
        Some(PemSource::Pem(p)) => Ok(Some(p)),
        Some(PemSource::File(path)) => Err(PlanError::new(
            field,
            format!(
                "names the file {:?}; no file is read on a caller's behalf here, give the PEM text instead",
                path.display().to_string().chars().take(100).collect::<String>()
            ),
        )),
    }
}
