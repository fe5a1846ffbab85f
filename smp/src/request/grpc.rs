//! gRPC calls in a request: the method, the message as JSON, metadata, and where the
//! descriptors come from; the converter turns them into the plan's encoded call once.
//!
//! Descriptors come from `.proto` files (compiled in-process by protox: the command line reads
//! the user's files with [`RunRequest::read_files`]), from `.proto` source text carried in the
//! request (a server compiles it from memory and reads no file), or from the target's server
//! reflection service ([`RunRequest::fetch_descriptors`], which a door calls before the
//! conversion). `grpc.health.v1.Health` needs none of them: its descriptors are built in.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use loadgen::grpc::reflect::{Reflect, ReflectError};
use loadgen::{ConnectPolicy, Field, PlanError, TlsOptions};
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage};

use super::{PemSource, RunRequest};

/// The standard health-checking service, whose descriptors are built in.
pub const HEALTH_SERVICE: &str = "grpc.health.v1.Health";

/// `grpc/health/v1/health.proto`, the unary part (grpc.io's health checking protocol).
const HEALTH_PROTO: &str = r#"syntax = "proto3";
package grpc.health.v1;
message HealthCheckRequest { string service = 1; }
message HealthCheckResponse {
  enum ServingStatus { UNKNOWN = 0; SERVING = 1; NOT_SERVING = 2; SERVICE_UNKNOWN = 3; }
  ServingStatus status = 1;
}
service Health {
  rpc Check(HealthCheckRequest) returns (HealthCheckResponse);
  rpc Watch(HealthCheckRequest) returns (stream HealthCheckResponse);
}
"#;

/// Longest the reflection exchange may take.
pub const REFLECTION_TIMEOUT: Duration = Duration::from_secs(10);

/// A gRPC call as a request gives it; `None` (or empty) means "not given here".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GrpcRequest {
    /// The method, `package.Service/Method` (also `package.Service.Method`); without it, the
    /// URL's path names the call.
    pub call: Option<String>,
    /// The request message in protobuf's JSON mapping; `{}` (every field at its default) when
    /// not given.
    pub data: Option<String>,
    /// Metadata sent with every call, `(name, value)`; names are case-insensitive, and `-bin`
    /// names carry base64 values, as gRPC sends them.
    pub metadata: Vec<(String, String)>,
    /// Where the descriptors come from; `None`: built in for the health service, else the
    /// target's reflection service.
    pub proto: Option<ProtoSource>,
}

/// Where a call's descriptors come from.
#[derive(Debug, Clone, PartialEq)]
pub enum ProtoSource {
    /// `.proto` files and import directories on this machine (only where the caller is its
    /// user: [`RunRequest::read_files`] compiles them into [`ProtoSource::Descriptors`]).
    Files {
        /// The files to compile.
        files: Vec<PathBuf>,
        /// Where their imports are found (the files' own directories and the current one are
        /// searched after these).
        import_paths: Vec<PathBuf>,
    },
    /// `.proto` source text by file name, compiled in memory; the files may import each other
    /// and Google's well-known types.
    Sources(Vec<(String, String)>),
    /// An encoded `FileDescriptorSet` (compiled, or fetched by reflection).
    Descriptors(Bytes),
}

impl GrpcRequest {
    /// Puts the values `top` sets over these; metadata replaces entries of the same name.
    pub(super) fn overlay(&mut self, top: GrpcRequest) {
        if top.call.is_some() {
            self.call = top.call;
        }
        if top.data.is_some() {
            self.data = top.data;
        }
        if top.proto.is_some() {
            self.proto = top.proto;
        }
        super::merge_named(&mut self.metadata, top.metadata, true);
    }
}

/// A call ready for the plan: its path and its encoded request message.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Encoded {
    /// `/package.Service/Method`.
    pub(super) path: String,
    /// The protobuf bytes of the request message (without gRPC's prefix).
    pub(super) message: Bytes,
}

/// `package.Service/Method` (or `package.Service.Method`, or with a leading slash) as
/// `(service, method)`.
pub fn parse_call(text: &str) -> Option<(String, String)> {
    let text = text.trim();
    let text = text.strip_prefix('/').unwrap_or(text);
    let slashed = if text.contains('/') {
        text.to_string()
    } else {
        let (service, method) = text.rsplit_once('.')?;
        format!("{service}/{method}")
    };
    loadgen::grpc::split_call(&slashed).map(|(s, m)| (s.to_string(), m.to_string()))
}

const CALL_FORM: &str = "give the method as package.Service/Method, e.g. grpc.health.v1.Health/Check";

impl RunRequest {
    /// The call's text: the request's `call`, else the first URL's path when it names one.
    pub(super) fn call_text(&self) -> Option<String> {
        let call = self.grpc.as_ref()?.call.clone().filter(|c| !c.trim().is_empty());
        call.or_else(|| {
            let url = loadgen::plan::parse_url(self.urls.first()?).ok()?;
            (url.path().len() > 1).then(|| url.path().to_string())
        })
    }

    /// Whether the call's descriptors must come from the target's reflection service: a gRPC
    /// call with no `.proto` given, other than the built-in health service.
    pub fn needs_reflection(&self) -> bool {
        let Some(grpc) = &self.grpc else { return false };
        let builtin = self.call_text().and_then(|c| parse_call(&c)).is_some_and(|(s, _)| s == HEALTH_SERVICE);
        grpc.proto.is_none() && !builtin
    }

    /// Fetches the call's descriptors from the first target's reflection service and keeps
    /// them as [`ProtoSource::Descriptors`]; connects with the request's TLS settings (PEM
    /// text) and only where `policy` allows. Blocks for up to [`REFLECTION_TIMEOUT`] (or the
    /// request's timeout, when shorter).
    pub fn fetch_descriptors(&mut self, policy: Option<Arc<dyn ConnectPolicy>>) -> Result<(), PlanError> {
        let call = self.call_text().ok_or_else(|| PlanError::new(Field::Call, CALL_FORM))?;
        let (service, _) = parse_call(&call).ok_or_else(|| PlanError::new(Field::Call, CALL_FORM))?;
        let first = self.urls.first().ok_or_else(|| PlanError::new(Field::Targets, "give the target's URL"))?;
        let url = loadgen::plan::parse_url(first).map_err(|e| e.at(Field::Url(0)))?;
        let pem = |field: Field, source: &Option<PemSource>| match source {
            None => Ok(None),
            Some(PemSource::Pem(p)) => Ok(Some(p.clone()).filter(|p| !p.is_empty())),
            Some(PemSource::File(_)) => Err(PlanError::new(field, "read the file before asking for reflection")),
        };
        let reflect = Reflect {
            url,
            tls: TlsOptions {
                ca_certs: pem(Field::CaCert, &self.tls.ca_certs)?,
                client_cert: pem(Field::ClientCert, &self.tls.client_cert)?,
                client_key: pem(Field::ClientKey, &self.tls.client_key)?,
                insecure: self.tls.insecure.unwrap_or(false),
            },
            connect_policy: policy,
            timeout: self.timeout.unwrap_or(REFLECTION_TIMEOUT).min(REFLECTION_TIMEOUT),
        };
        let files = reflect.file_descriptors(&service).map_err(|e| reflection_error(&service, e))?;
        let set = prost_types::FileDescriptorSet {
            file: files
                .into_iter()
                .map(prost_types::FileDescriptorProto::decode)
                .collect::<Result<_, _>>()
                .map_err(|e| PlanError::new(Field::Proto, format!("a reflected file does not decode: {e}")))?,
        };
        if let Some(g) = self.grpc.as_mut() {
            g.proto = Some(ProtoSource::Descriptors(Bytes::from(set.encode_to_vec())));
        }
        Ok(())
    }
}

/// A reflection failure as an error of the field that fixes it.
fn reflection_error(service: &str, e: ReflectError) -> PlanError {
    match e {
        ReflectError::Plan(p) => p,
        ReflectError::NotFound { message, .. } => PlanError::new(
            Field::Call,
            format!("the target's reflection service does not know the service {service} ({message}); check the name"),
        ),
        other => PlanError::new(
            Field::Proto,
            format!("no descriptors for {service}: {other}; give the service's .proto instead"),
        ),
    }
}

/// Compiles `.proto` files on this machine into an encoded `FileDescriptorSet`: the import
/// paths, then each file's directory, then the current directory are searched for imports.
pub fn compile_files(files: &[PathBuf], import_paths: &[PathBuf]) -> Result<Bytes, String> {
    let mut includes: Vec<PathBuf> = import_paths.to_vec();
    for f in files {
        let dir = f.parent().filter(|d| !d.as_os_str().is_empty()).map_or_else(|| PathBuf::from("."), PathBuf::from);
        if !includes.contains(&dir) {
            includes.push(dir);
        }
    }
    if !includes.iter().any(|d| d == std::path::Path::new(".")) {
        includes.push(PathBuf::from("."));
    }
    let mut compiler = protox::Compiler::new(&includes).map_err(|e| e.to_string())?;
    compiler.include_imports(true);
    compiler.open_files(files).map_err(|e| one_line(&e.to_string()))?;
    Ok(Bytes::from(compiler.encode_file_descriptor_set()))
}

/// `.proto` sources held in memory, for protox.
struct Memory(Vec<(String, String)>);

impl protox::file::FileResolver for Memory {
    fn open_file(&self, name: &str) -> Result<protox::file::File, protox::Error> {
        match self.0.iter().find(|(n, _)| n == name) {
            Some((n, text)) => protox::file::File::from_source(n, text),
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}

/// Most `.proto` source text a request may carry, all files together.
pub const MAX_PROTO_SOURCE: usize = 1024 * 1024;

/// Most `.proto` files a request may carry.
pub const MAX_PROTO_FILES: usize = 64;

/// Deepest nesting of braces, brackets and parentheses accepted in `.proto` source text; the
/// compiler recurses once per level, so deeper text could exhaust a thread's stack.
pub const MAX_PROTO_DEPTH: usize = 64;

/// Refuses source text that is too large, has too many files, or nests too deeply.
fn check_sources(sources: &[(String, String)]) -> Result<(), String> {
    let total: usize = sources.iter().map(|(n, t)| n.len() + t.len()).sum();
    if total > MAX_PROTO_SOURCE {
        return Err(format!("is {total} bytes of source; at most {MAX_PROTO_SOURCE} are accepted"));
    }
    if sources.len() > MAX_PROTO_FILES {
        return Err(format!("has {} files; at most {MAX_PROTO_FILES} are accepted", sources.len()));
    }
    for (name, text) in sources {
        if nesting(text, MAX_PROTO_DEPTH) > MAX_PROTO_DEPTH {
            return Err(format!("{} nests more than {MAX_PROTO_DEPTH} levels deep", short(name)));
        }
    }
    Ok(())
}

/// The deepest nesting of `{`, `[`, `(` and `<` in `.proto` text, outside strings and
/// comments, in one pass; stops once it passes `limit`.
fn nesting(text: &str, limit: usize) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut chars = text.bytes().peekable();
    while let Some(c) = chars.next() {
        match c {
            b'"' | b'\'' => {
                while let Some(d) = chars.next() {
                    match d {
                        b'\\' => {
                            chars.next();
                        }
                        b'\n' => break,
                        d if d == c => break,
                        _ => {}
                    }
                }
            }
            b'/' if chars.peek() == Some(&b'/') => {
                for d in chars.by_ref() {
                    if d == b'\n' {
                        break;
                    }
                }
            }
            b'/' if chars.peek() == Some(&b'*') => {
                chars.next();
                let mut star = false;
                for d in chars.by_ref() {
                    if star && d == b'/' {
                        break;
                    }
                    star = d == b'*';
                }
            }
            b'{' | b'[' | b'(' | b'<' => {
                depth += 1;
                deepest = deepest.max(depth);
                if deepest > limit {
                    return deepest;
                }
            }
            b'}' | b']' | b')' | b'>' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Compiles source text held in memory (the files may import each other and Google's
/// well-known types); nothing is read from disk. The text is bounded first
/// ([`MAX_PROTO_SOURCE`], [`MAX_PROTO_FILES`], [`MAX_PROTO_DEPTH`]).
fn compile_sources(sources: &[(String, String)]) -> Result<DescriptorPool, String> {
    check_sources(sources)?;
    let mut resolver = protox::file::ChainFileResolver::new();
    resolver.add(Memory(sources.to_vec()));
    resolver.add(protox::file::GoogleFileResolver::new());
    let mut compiler = protox::Compiler::with_file_resolver(resolver);
    compiler.include_imports(true);
    compiler.open_files(sources.iter().map(|(n, _)| n.as_str())).map_err(|e| one_line(&e.to_string()))?;
    Ok(compiler.descriptor_pool())
}

/// A multi-line compiler message on one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The descriptors of `service` from `proto` (built in for the health service).
fn pool(service: &str, proto: Option<&ProtoSource>) -> Result<DescriptorPool, PlanError> {
    let bad = |reason: String| PlanError::new(Field::Proto, reason);
    match proto {
        None if service == HEALTH_SERVICE => {
            compile_sources(&[("grpc/health/v1/health.proto".into(), HEALTH_PROTO.into())]).map_err(bad)
        }
        None => Err(bad(format!(
            "no descriptors for {service}: give its .proto, or let meshperf fetch them from the target's reflection service"
        ))),
        Some(ProtoSource::Sources(sources)) => {
            compile_sources(sources).map_err(|e| bad(format!("does not compile: {e}")))
        }
        Some(ProtoSource::Descriptors(bytes)) => {
            let set = prost_types::FileDescriptorSet::decode(bytes.clone())
                .map_err(|e| bad(format!("the descriptors do not decode: {e}")))?;
            // Start from the well-known types, which reflection services may leave out.
            let mut pool = DescriptorPool::global();
            let known: Vec<String> = pool.files().map(|f| f.name().to_string()).collect();
            let files = set.file.into_iter().filter(|f| !known.iter().any(|k| k == f.name()));
            pool.add_file_descriptor_protos(files).map_err(|e| bad(format!("the descriptors are not usable: {e}")))?;
            Ok(pool)
        }
        Some(ProtoSource::Files { files, .. }) => Err(bad(format!(
            "names the file {:?}; no file is read on a caller's behalf here, give the .proto text instead",
            files.first().map(|f| f.display().to_string()).unwrap_or_default().chars().take(100).collect::<String>()
        ))),
    }
}

/// The call's path with an empty message, for checking a request whose descriptors are not at
/// hand.
pub(super) fn unencoded(call: &str) -> Result<Encoded, PlanError> {
    let (service, method) = parse_call(call)
        .ok_or_else(|| PlanError::new(Field::Call, format!("{:?} is not a method; {CALL_FORM}", short(call))))?;
    Ok(Encoded { path: format!("/{service}/{method}"), message: Bytes::new() })
}

/// Builds the call: finds the unary method and encodes the JSON message against its input type.
pub(super) fn encode(grpc: &GrpcRequest, call: &str) -> Result<Encoded, PlanError> {
    let (service, method) = parse_call(call)
        .ok_or_else(|| PlanError::new(Field::Call, format!("{:?} is not a method; {CALL_FORM}", short(call))))?;
    let pool = pool(&service, grpc.proto.as_ref())?;
    let Some(svc) = pool.get_service_by_name(&service) else {
        let mut known: Vec<String> = pool.services().map(|s| s.full_name().to_string()).collect();
        known.sort();
        let known = if known.is_empty() { "none".to_string() } else { known.join(", ") };
        return Err(PlanError::new(
            Field::Call,
            format!("the descriptors define no service {service} (they define: {known})"),
        ));
    };
    let Some(m) = svc.methods().find(|m| m.name() == method) else {
        let known: Vec<String> = svc.methods().map(|m| m.name().to_string()).collect();
        return Err(PlanError::new(
            Field::Call,
            format!("{service} has no method {method} (it has: {})", known.join(", ")),
        ));
    };
    if m.is_client_streaming() || m.is_server_streaming() {
        return Err(PlanError::new(
            Field::Call,
            format!("{service}/{method} is a streaming method; meshperf sends unary calls"),
        ));
    }
    let data = grpc.data.as_deref().filter(|d| !d.trim().is_empty()).unwrap_or("{}");
    let input = m.input();
    let mut de = serde_json::Deserializer::from_str(data);
    let message = DynamicMessage::deserialize(input.clone(), &mut de)
        .and_then(|msg| de.end().map(|()| msg))
        .map_err(|e| PlanError::new(Field::Data, format!("is not a valid {} in JSON: {e}", input.full_name())))?;
    Ok(Encoded { path: format!("/{service}/{method}"), message: Bytes::from(message.encode_to_vec()) })
}

/// Checks a metadata entry: a header name gRPC leaves to applications, and a value a header
/// can carry.
pub(super) fn check_metadata(name: &str, value: &str) -> Result<(), PlanError> {
    let bad = |reason: String| Err(PlanError::new(Field::Metadata, reason));
    let lower = name.trim().to_ascii_lowercase();
    if lower.is_empty() || http::HeaderName::from_bytes(lower.as_bytes()).is_err() {
        return bad(format!("{:?} is not a valid metadata name", short(name)));
    }
    if lower.starts_with("grpc-")
        || lower.starts_with(':')
        || ["content-type", "te", "user-agent"].contains(&lower.as_str())
    {
        return bad(format!("{lower} is set by gRPC itself; choose another name"));
    }
    if http::HeaderValue::from_str(value).is_err() {
        return bad(format!("the value of {lower} has characters metadata cannot carry (use a -bin name and base64)"));
    }
    Ok(())
}

fn short(text: &str) -> String {
    text.chars().take(100).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_parse_in_both_spellings() {
        let want = Some(("grpc.health.v1.Health".to_string(), "Check".to_string()));
        assert_eq!(parse_call("grpc.health.v1.Health/Check"), want);
        assert_eq!(parse_call("/grpc.health.v1.Health/Check"), want);
        assert_eq!(parse_call("grpc.health.v1.Health.Check"), want);
        assert_eq!(parse_call("Check"), None);
        assert_eq!(parse_call("a.B/"), None);
    }

    #[test]
    fn the_health_check_needs_no_proto() {
        let g = GrpcRequest { data: Some(r#"{"service": "x"}"#.into()), ..GrpcRequest::default() };
        let e = encode(&g, "grpc.health.v1.Health/Check").unwrap();
        assert_eq!(e.path, "/grpc.health.v1.Health/Check");
        assert_eq!(&e.message[..], b"\x0a\x01x");
        let empty = encode(&GrpcRequest::default(), "grpc.health.v1.Health/Check").unwrap();
        assert!(empty.message.is_empty());
        let watch = encode(&GrpcRequest::default(), "grpc.health.v1.Health/Watch").unwrap_err();
        assert_eq!(watch.field, Field::Call);
        assert!(watch.reason.contains("streaming"), "{watch}");
    }

    #[test]
    fn messages_are_built_from_json_against_source_text() {
        let source = r#"syntax = "proto3"; package demo; import "google/protobuf/timestamp.proto";
            message Req { string name = 1; int32 n = 2; google.protobuf.Timestamp at = 3; }
            message Rep {} service Greeter { rpc Hello(Req) returns (Rep); }"#;
        let g = GrpcRequest {
            data: Some(r#"{"name": "a", "n": 2, "at": "1970-01-01T00:00:01Z"}"#.into()),
            proto: Some(ProtoSource::Sources(vec![("demo.proto".into(), source.into())])),
            ..GrpcRequest::default()
        };
        let e = encode(&g, "demo.Greeter.Hello").unwrap();
        assert_eq!(e.path, "/demo.Greeter/Hello");
        assert_eq!(&e.message[..], b"\x0a\x01a\x10\x02\x1a\x02\x08\x01");
        let err = |g: &GrpcRequest, call: &str| encode(g, call).unwrap_err();
        assert!(err(&g, "demo.Nope/Hello").reason.contains("define: demo.Greeter"));
        assert!(err(&g, "demo.Greeter/Bye").reason.contains("it has: Hello"));
        let bad_data = GrpcRequest { data: Some(r#"{"nme": "a"}"#.into()), ..g.clone() };
        let e = err(&bad_data, "demo.Greeter/Hello");
        assert_eq!(e.field, Field::Data);
        assert!(e.reason.contains("demo.Req") && e.reason.contains("nme"), "{e}");
        let broken =
            GrpcRequest { proto: Some(ProtoSource::Sources(vec![("b.proto".into(), "message {".into())])), ..g };
        assert_eq!(err(&broken, "demo.Greeter/Hello").field, Field::Proto);
        assert_eq!(err(&GrpcRequest::default(), "demo.Greeter/Hello").field, Field::Proto);
    }

    #[test]
    fn source_text_is_bounded_before_it_is_compiled() {
        let nested = format!("syntax = \"proto3\";\n{}{}", "message A {".repeat(10_000), "}".repeat(10_000));
        let g = GrpcRequest {
            proto: Some(ProtoSource::Sources(vec![("deep.proto".into(), nested)])),
            ..GrpcRequest::default()
        };
        let e = encode(&g, "a.B/C").unwrap_err();
        assert!(e.reason.contains("nests more than 64 levels"), "{e}");
        let big = GrpcRequest {
            proto: Some(ProtoSource::Sources(vec![("big.proto".into(), " ".repeat(MAX_PROTO_SOURCE + 1))])),
            ..GrpcRequest::default()
        };
        assert!(encode(&big, "a.B/C").unwrap_err().reason.contains("at most"));
        assert_eq!(nesting("message A { string s = 1 [(x) = \"{{{\"]; } // {{{\n/* {{ */", 9), 3);
        assert_eq!(unencoded("a.B/C").unwrap().path, "/a.B/C");
    }

    #[test]
    fn metadata_names_are_checked() {
        assert!(check_metadata("X-Tenant", "a").is_ok());
        assert!(check_metadata("grpc-timeout", "1S").unwrap_err().reason.contains("set by gRPC"));
        assert!(check_metadata("content-type", "x").is_err());
        assert!(check_metadata("bad name", "x").unwrap_err().reason.contains("not a valid metadata name"));
        assert!(check_metadata("k", "a\nb").is_err());
    }
}
