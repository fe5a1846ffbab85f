//! `details.config`: the run's configuration as it ran, safe to share.

use loadgen::{HttpVersion, Load, RateShape, RunPlan, Shard};
use serde::{Deserialize, Serialize};

/// Header values replaced by `<redacted>` in results, because results are shared.
const SECRET_HEADERS: [&str; 5] = ["authorization", "proxy-authorization", "cookie", "x-api-key", "x-auth-token"];

/// What ran: targets, protocol, load model and limits (from the engine's `RunPlan`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    /// Targets, used round robin.
    pub targets: Vec<TargetConfig>,
    /// `http1` or `http2`.
    pub http: HttpVersion,
    /// Concurrent streams per HTTP/2 connection.
    pub h2_streams: u32,
    /// Connections in total.
    pub connections: u32,
    /// Worker threads.
    pub threads: u32,
    /// How requests were paced.
    pub load: LoadConfig,
    /// Measured duration in seconds, or `null` when the run was bounded by a request count.
    pub duration_s: Option<f64>,
    /// Request limit, if any.
    pub max_requests: Option<u64>,
    /// Warm-up before measuring, seconds.
    pub warmup_s: f64,
    /// Per-request timeout, seconds.
    pub timeout_s: f64,
    /// TLS settings.
    pub tls: TlsConfig,
    /// This engine's shard of a distributed run (`{index: 0, count: 1}` when alone).
    pub shard: Shard,
}

/// One target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetConfig {
    /// The URL.
    pub url: String,
    /// The method.
    pub method: String,
    /// Extra headers as `[name, value]`; secret values (Authorization, Cookie, API keys) are
    /// written as `<redacted>`.
    pub headers: Vec<(String, String)>,
    /// Body length in bytes (the body itself is not kept).
    pub body_bytes: u64,
}

/// The pacing of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LoadConfig {
    /// Closed loop: as fast as the connections allow.
    Closed,
    /// Open loop at a constant rate.
    Constant {
        /// Requests per second.
        rate: f64,
    },
    /// Open loop, linear ramp over the duration.
    Ramp {
        /// Start rate, requests per second.
        from: f64,
        /// End rate, requests per second.
        to: f64,
    },
    /// Open loop in steps.
    Stages {
        /// The steps in order.
        stages: Vec<StageConfig>,
    },
}

/// One step of [`LoadConfig::Stages`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StageConfig {
    /// Seconds the step lasts.
    pub duration_s: f64,
    /// Its rate, requests per second.
    pub rate: f64,
}

/// TLS settings: what was given (`PEM: 1 certificate, 1,130 bytes`), never the content.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsConfig {
    /// The CA certificates trusted instead of the system roots.
    pub ca_cert: Option<String>,
    /// The client certificate (mTLS).
    pub client_cert: Option<String>,
    /// Certificates were not checked.
    pub insecure: bool,
}

impl RunConfig {
    /// The configuration of `plan`.
    pub fn from_plan(plan: &RunPlan) -> Self {
        let targets = plan
            .targets
            .iter()
            .map(|t| TargetConfig {
                url: t.url.to_string(),
                method: t.method.to_string(),
                headers: t
                    .headers
                    .iter()
                    .map(|(n, v)| {
                        let value = if SECRET_HEADERS.contains(&n.as_str()) {
                            "<redacted>".to_string()
                        } else {
                            String::from_utf8_lossy(v.as_bytes()).into_owned()
                        };
                        (n.to_string(), value)
                    })
                    .collect(),
                body_bytes: t.body.len() as u64,
            })
            .collect();
        let load = match &plan.load {
            Load::Closed => LoadConfig::Closed,
            Load::Open(RateShape::Constant(rate)) => LoadConfig::Constant { rate: *rate },
            Load::Open(RateShape::Ramp { from, to }) => LoadConfig::Ramp { from: *from, to: *to },
            Load::Open(RateShape::Stages(stages)) => LoadConfig::Stages {
                stages: stages
                    .iter()
                    .map(|s| StageConfig { duration_s: s.duration.as_secs_f64(), rate: s.rate })
                    .collect(),
            },
        };
        // The plan carries PEM bytes, not file names: record what was given, never the key.
        let pem = |p: &Option<loadgen::Pem>| p.as_ref().map(|p| describe_pem(p.as_bytes()));
        RunConfig {
            targets,
            http: plan.http,
            h2_streams: plan.h2_streams,
            connections: plan.connections,
            threads: plan.threads,
            load,
            duration_s: plan.measured_duration().map(|d| d.as_secs_f64()),
            max_requests: plan.max_requests,
            warmup_s: plan.warmup.as_secs_f64(),
            timeout_s: plan.timeout.as_secs_f64(),
            tls: TlsConfig {
                ca_cert: pem(&plan.tls.ca_certs),
                client_cert: pem(&plan.tls.client_cert),
                insecure: plan.tls.insecure,
            },
            shard: plan.shard,
        }
    }
}

/// `PEM: 2 certificates, 1,234 bytes`: what a PEM bundle holds, without its content.
fn describe_pem(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let certs = text.matches("-----BEGIN CERTIFICATE-----").count();
    format!("PEM: {certs} certificate{}, {} bytes", if certs == 1 { "" } else { "s" }, bytes.len())
}
