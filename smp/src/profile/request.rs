//! From a validated profile to run requests, one per client, and the profile's names for the
//! fields of those requests (so a plan error points at the line of the file to change).

use bytes::Bytes;
use loadgen::{Field, Load, RateShape};

use super::meshery::rest_key;
use super::options::Options;
use super::reader::join;
use super::{Source, TestProfile};
use crate::error::SmpError;
use crate::model::{Protocol, performance_test_config::Client};
use crate::request::{GrpcRequest, PemSource, RequestMeta, RunRequest, TlsRequest};

impl TestProfile {
    /// One run request per client, as the profile says. Client values follow SMP's (and
    /// Meshery's) conventions: `connections` 0 means 1, `rps` 0 means closed loop, a stages
    /// option replaces the test's duration with the stages' sum, `ssl_certificate` is PEM
    /// text or a file path.
    pub fn requests(&self) -> Result<Vec<RunRequest>, SmpError> {
        self.test.clients.iter().enumerate().map(|(i, c)| self.client_request(i, c)).collect()
    }

    /// The path of `field` of client `client` in this profile's own terms, for messages:
    /// `test.clients[0].connections`, or `concurrent_request` in a Meshery profile.
    pub fn path_of(&self, client: usize, field: Field) -> String {
        let key = match field {
            Field::Targets => "endpoint_urls".to_string(),
            Field::Url(i) => format!("endpoint_urls[{i}]"),
            Field::Header => "headers".into(),
            Field::Cookies => "cookies".into(),
            Field::ContentType => "content_type".into(),
            Field::Body => "body".into(),
            Field::Connections => "connections".into(),
            Field::Rate => "rps".into(),
            Field::CaCert => {
                let client = self.test.clients.get(client);
                let in_options = client
                    .and_then(|c| Options::parse(&c.additional_options, "").ok())
                    .is_some_and(|o| o.ca_cert.is_some());
                if in_options { "additional_options.ca_cert".into() } else { "ssl_certificate".into() }
            }
            Field::Duration => {
                return match self.source {
                    Source::Envelope => "test.duration".into(),
                    _ => "duration".into(),
                };
            }
            Field::Method => "additional_options.method".into(),
            Field::Threads => "additional_options.threads".into(),
            Field::H2Streams => "additional_options.h2_streams".into(),
            Field::Ramp => "additional_options.ramp".into(),
            Field::Stages => "additional_options.stages".into(),
            Field::Requests => "additional_options.max_requests".into(),
            Field::Warmup => "additional_options.warmup".into(),
            Field::Timeout => "additional_options.timeout".into(),
            Field::ClientCert => "additional_options.cert".into(),
            Field::ClientKey => "additional_options.key".into(),
            Field::Call => "additional_options.call".into(),
            Field::Data => "additional_options.data".into(),
            Field::Metadata => "additional_options.metadata".into(),
            Field::Proto => "additional_options.proto".into(),
            Field::Shard | Field::StartAt => field.key().into(),
        };
        match self.source {
            Source::Envelope => join(&format!("test.clients[{client}]"), &key),
            Source::TestConfig => join(&format!("clients[{client}]"), &key),
            Source::MesheryProfile => rest_key(&key),
        }
    }

    fn client_request(&self, i: usize, c: &Client) -> Result<RunRequest, SmpError> {
        let path = match self.source {
            Source::Envelope => format!("test.clients[{i}]"),
            _ => format!("clients[{i}]"),
        };
        let opts = Options::parse(&c.additional_options, &join(&path, "additional_options"))?;
        let grpc_urls = c.endpoint_urls.iter().any(|u| u.trim_start().to_ascii_lowercase().starts_with("grpc"));
        let grpc = match Protocol::try_from(c.protocol) {
            Ok(Protocol::Grpc) => true,
            Ok(Protocol::Http) if opts.has_grpc() => {
                return Err(SmpError::field(
                    join(&path, "protocol"),
                    "is http but the options describe a gRPC call; set protocol: grpc",
                ));
            }
            Ok(Protocol::Invalid | Protocol::Http) => grpc_urls || opts.has_grpc(),
            Ok(other) => {
                return Err(SmpError::field(
                    join(&path, "protocol"),
                    format!(
                        "{} load is not supported; meshperf sends HTTP/1.1, HTTP/2 and gRPC (use http or grpc)",
                        other.as_str_name()
                    ),
                ));
            }
            Err(_) => return Err(SmpError::field(join(&path, "protocol"), "unknown protocol; use http or grpc")),
        };
        // A gRPC client's http:// and https:// URLs mean grpc:// and grpcs://.
        let urls = c
            .endpoint_urls
            .iter()
            .map(|u| match (grpc, u.split_once("://")) {
                (true, Some((scheme, rest))) if scheme.eq_ignore_ascii_case("http") => format!("grpc://{rest}"),
                (true, Some((scheme, rest))) if scheme.eq_ignore_ascii_case("https") => format!("grpcs://{rest}"),
                _ => u.clone(),
            })
            .collect();
        let duration = match self.test.duration.trim() {
            "" => None,
            d => Some(loadgen::parse::duration(d).map_err(|e| SmpError::field(self.path_of(i, Field::Duration), e.0))?),
        };
        let load = match (&opts.shape, c.rps) {
            (Some(shape), _) => Load::Open(shape.clone()),
            (None, 0) => Load::Closed,
            (None, rps) => Load::Open(RateShape::Constant(rps as f64)),
        };
        let stages = matches!(load, Load::Open(RateShape::Stages(_)));
        let ca = match (opts.ca_cert.as_deref(), c.ssl_certificate.trim()) {
            (Some(text), _) => Some(PemSource::from_text(text)),
            (None, "") => None,
            (None, text) => Some(PemSource::from_text(text)),
        };
        let mut labels = self.test.labels.clone();
        labels.retain(|k, _| !k.is_empty());
        let grpc = grpc.then(|| GrpcRequest {
            call: opts.call.clone(),
            data: opts.data.clone(),
            metadata: opts.metadata.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            proto: opts.proto.clone(),
        });
        Ok(RunRequest {
            urls,
            method: opts.method,
            headers: c.headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            cookies: c.cookies.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            body: (!c.body.is_empty()).then(|| Bytes::from(c.body.clone())),
            content_type: Some(c.content_type.clone()).filter(|t| !t.is_empty()),
            connections: Some(u32::try_from(c.connections.max(1)).unwrap_or(1)),
            threads: opts.threads,
            load: Some(load),
            duration: if stages { None } else { duration },
            max_requests: opts.max_requests,
            warmup: opts.warmup,
            timeout: opts.timeout,
            http2: opts.http2.then_some(true),
            h2_streams: opts.h2_streams,
            tls: TlsRequest {
                ca_certs: ca,
                client_cert: opts.cert.as_deref().map(PemSource::from_text),
                client_key: opts.key.as_deref().map(PemSource::from_text),
                insecure: opts.insecure.then_some(true),
            },
            grpc,
            shard: None,
            start_at: None,
            meta: RequestMeta {
                name: Some(self.test.name.clone()).filter(|n| !n.is_empty()),
                labels,
                mesh: self.mesh.as_ref().map(super::Mesh::name).filter(|m| !m.is_empty()),
                generator: Some(c.load_generator.clone()).filter(|g| !g.is_empty()),
                test_id: Some(self.test.id.clone()).filter(|t| !t.is_empty()),
            },
        })
    }
}
