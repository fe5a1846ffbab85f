//! `additional_options`: meshperf's knobs beyond the SMP client fields.
//!
//! SMP's `Client.additional_options` is a string for generator-specific options (Meshery
//! stores it in a profile's `metadata.additional_options`). meshperf reads it as a JSON object
//! (in YAML profiles it may also be written as a plain mapping) with these keys, snake_case or
//! camelCase:
//!
//! | key | value | effect |
//! |---|---|---|
//! | `http2` | bool | speak HTTP/2 (h2c prior knowledge on `http://`, ALPN on `https://`) |
//! | `h2_streams` | 1..10000 | concurrent streams per HTTP/2 connection |
//! | `method` | text | request method (default GET, or POST when there is a body); fortio's `MethodOverride` is accepted too |
//! | `ramp` | `"FROM:TO"` | open loop, rate ramps linearly over the duration (replaces `rps`) |
//! | `stages` | `"10s@100,20s@500"` or a list of `{duration, rate}` | open loop in steps; the run lasts their sum (replaces `rps` and `duration`) |
//! | `warmup` | duration | warm-up before measuring; its samples are dropped |
//! | `timeout` | duration | per-request timeout (default 10s) |
//! | `threads` | 1..1024 | worker threads (default: cores, at most one per connection) |
//! | `max_requests` | count (`10000`, `"10k"`) | stop after this many requests |
//! | `insecure` | bool | accept any TLS certificate |
//! | `ca_cert`, `cert`, `key` | PEM text, or a file path | CA to trust; client certificate and key for mTLS (a server refuses file paths) |
//! | `call` | `package.Service/Method` | gRPC: the method to call (else the URL's path names it) |
//! | `data` | a JSON object, or its text | gRPC: the request message in protobuf's JSON mapping (default `{}`) |
//! | `metadata` | a map of strings | gRPC: metadata sent with every call |
//! | `proto` | `.proto` source text, a map of file name to source text, or a file path (or a list of paths) | gRPC: the descriptors (without it, the target's reflection service gives them; `grpc.health.v1.Health` needs none); a server refuses file paths |
//! | `import_paths` | a list of directories | gRPC: where the `proto` files' imports are found (files only) |
//!
//! A client is a gRPC client when its `protocol` is `grpc` (its `http://` and `https://` URLs
//! then mean `grpc://` and `grpcs://`) or its URLs are `grpc://` or `grpcs://`.
//!
//! Unknown keys are errors, so a typo never silently falls back to a default.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use loadgen::RateShape;
use serde_json::Value;

use super::reader::{Obj, kind};
use crate::error::SmpError;
use crate::request::ProtoSource;

/// The file name `.proto` text given inline compiles under.
pub const INLINE_PROTO: &str = "inline.proto";

/// The keys of `additional_options`, canonical (snake_case; camelCase also read).
pub const KEYS: [&str; 18] = [
    "http2",
    "h2_streams",
    "method",
    "ramp",
    "stages",
    "warmup",
    "timeout",
    "threads",
    "max_requests",
    "insecure",
    "ca_cert",
    "cert",
    "key",
    "call",
    "data",
    "metadata",
    "proto",
    "import_paths",
];

/// Other spellings of [`KEYS`]: fortio's `MethodOverride`.
pub const ALIASES: [(&str, &str); 1] = [("method_override", "method")];

/// meshperf's options for one client, parsed from `additional_options`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Options {
    /// Speak HTTP/2.
    pub http2: bool,
    /// Concurrent streams per HTTP/2 connection.
    pub h2_streams: Option<u32>,
    /// Request method.
    pub method: Option<http::Method>,
    /// A ramp or stages shape replacing the constant `rps`.
    pub shape: Option<RateShape>,
    /// Warm-up before measuring.
    pub warmup: Option<Duration>,
    /// Per-request timeout.
    pub timeout: Option<Duration>,
    /// Worker threads.
    pub threads: Option<u32>,
    /// Request limit.
    pub max_requests: Option<u64>,
    /// Accept any TLS certificate.
    pub insecure: bool,
    /// CA to trust: PEM text or a file path.
    pub ca_cert: Option<String>,
    /// Client certificate: PEM text or a file path.
    pub cert: Option<String>,
    /// Client key: PEM text or a file path.
    pub key: Option<String>,
    /// gRPC: the method to call.
    pub call: Option<String>,
    /// gRPC: the request message as JSON text.
    pub data: Option<String>,
    /// gRPC: metadata sent with every call.
    pub metadata: BTreeMap<String, String>,
    /// gRPC: where the descriptors come from.
    pub proto: Option<ProtoSource>,
}

impl Options {
    /// Whether any gRPC option is given.
    pub fn has_grpc(&self) -> bool {
        self.call.is_some() || self.data.is_some() || !self.metadata.is_empty() || self.proto.is_some()
    }
}

impl Options {
    /// Parses the `additional_options` text at `path`; empty text means no options.
    pub fn parse(text: &str, path: &str) -> Result<Self, SmpError> {
        if text.trim().is_empty() {
            return Ok(Options::default());
        }
        let value: Value = serde_json::from_str(text).map_err(|e| {
            SmpError::field(path, format!("is not a JSON object ({e}); write e.g. {{\"http2\": true}}"))
        })?;
        Self::from_value(value, path)
    }

    /// Reads options from an already parsed object at `path`.
    pub(crate) fn from_value(value: Value, path: &str) -> Result<Self, SmpError> {
        let mut o = Obj::new(value, path, &KEYS, &ALIASES)?;
        let duration = |o: &mut Obj, key: &str| -> Result<Option<Duration>, SmpError> {
            let text = o.string(key)?;
            if text.is_empty() {
                return Ok(None);
            }
            loadgen::parse::duration(&text).map(Some).map_err(|e| SmpError::field(o.at(key), e.0))
        };
        let ramp = o.string("ramp")?;
        let stages = o.take("stages");
        let shape = match (ramp.is_empty(), stages) {
            (false, Some(_)) => {
                return Err(SmpError::field(o.at("stages"), "give either `ramp` or `stages`, not both"));
            }
            (false, None) => Some(loadgen::parse::ramp(&ramp).map_err(|e| SmpError::field(o.at("ramp"), e.0))?),
            (true, Some(v)) => Some(stages_from(v, &o.at("stages"))?),
            (true, None) => None,
        };
        let method = match o.string("method")? {
            m if m.is_empty() => None,
            m => Some(http::Method::from_bytes(m.to_ascii_uppercase().as_bytes()).map_err(|_| {
                SmpError::field(o.at("method"), format!("{m:?} is not an HTTP method; write e.g. GET or POST"))
            })?),
        };
        let max_requests = match o.take("max_requests") {
            None => None,
            Some(Value::Number(n)) if n.as_u64().is_some_and(|n| n > 0) => n.as_u64(),
            Some(Value::String(s)) => {
                Some(loadgen::parse::count(&s).map_err(|e| SmpError::field(o.at("max_requests"), e.0))?)
            }
            Some(v) => {
                return Err(SmpError::field(
                    o.at("max_requests"),
                    format!("expected a count above 0 such as 10000 or \"10k\", found {}", kind(&v)),
                ));
            }
        };
        let path_of = |o: &mut Obj, key: &str| o.string(key).map(|s| (!s.is_empty()).then_some(s));
        let data = match o.take("data") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(v @ (Value::Object(_) | Value::Array(_))) => Some(v.to_string()),
            Some(v) => {
                return Err(SmpError::field(
                    o.at("data"),
                    format!("expected the message as a JSON object (or its text), found {}", kind(&v)),
                ));
            }
        };
        let import_paths = o.string_list("import_paths")?;
        let proto_at = o.at("proto");
        let proto = o.take("proto").map(|v| proto_from(v, &proto_at, &import_paths)).transpose()?.flatten();
        if proto.is_none() && !import_paths.is_empty() {
            return Err(SmpError::field(
                o.at("import_paths"),
                "is only used with `proto` file paths; give `proto` too",
            ));
        }
        Ok(Options {
            http2: o.bool("http2")?,
            h2_streams: o.int("h2_streams", 1, 10_000)?.map(|n| n as u32),
            method,
            shape,
            warmup: duration(&mut o, "warmup")?,
            timeout: duration(&mut o, "timeout")?,
            threads: o.int("threads", 1, 1024)?.map(|n| n as u32),
            max_requests,
            insecure: o.bool("insecure")?,
            ca_cert: path_of(&mut o, "ca_cert")?,
            cert: path_of(&mut o, "cert")?,
            key: path_of(&mut o, "key")?,
            call: path_of(&mut o, "call")?,
            data,
            metadata: o.string_map("metadata")?,
            proto,
        })
    }
}

/// `proto`: source text or a file path, a list of file paths, or a map of file name to text.
fn proto_from(v: Value, path: &str, import_paths: &[String]) -> Result<Option<ProtoSource>, SmpError> {
    let files = |paths: Vec<String>| ProtoSource::Files {
        files: paths.into_iter().map(PathBuf::from).collect(),
        import_paths: import_paths.iter().map(PathBuf::from).collect(),
    };
    let is_path = |s: &str| !s.contains('\n') && s.trim_end().ends_with(".proto");
    match v {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) if is_path(&s) => Ok(Some(files(vec![s.trim().to_string()]))),
        Value::String(s) => Ok(Some(ProtoSource::Sources(vec![(INLINE_PROTO.to_string(), s)]))),
        Value::Array(items) => {
            let mut paths = Vec::new();
            for (i, item) in items.into_iter().enumerate() {
                match item {
                    Value::String(s) if is_path(&s) => paths.push(s.trim().to_string()),
                    other => {
                        return Err(SmpError::field(
                            format!("{path}[{i}]"),
                            format!("expected a path to a .proto file, found {}", kind(&other)),
                        ));
                    }
                }
            }
            Ok((!paths.is_empty()).then(|| files(paths)))
        }
        v @ Value::Object(_) => {
            let map = super::reader::string_map(v, path)?;
            Ok((!map.is_empty()).then(|| ProtoSource::Sources(map.into_iter().collect())))
        }
        other => Err(SmpError::field(
            path,
            format!(
                "expected .proto source text, a file path, or a map of file name to source, found {}",
                kind(&other)
            ),
        )),
    }
}

/// Stages as `"10s@100,20s@500"` or `[{duration: 10s, rate: 100}, ...]`.
fn stages_from(v: Value, path: &str) -> Result<RateShape, SmpError> {
    let text = match v {
        Value::String(s) => s,
        Value::Array(items) => {
            let mut parts = Vec::new();
            for (i, item) in items.into_iter().enumerate() {
                let mut o = Obj::new(item, &format!("{path}[{i}]"), &["duration", "rate"], &[])?;
                let d = o.string("duration")?;
                let r = o.string("rate")?;
                if d.is_empty() || r.is_empty() {
                    return Err(SmpError::field(
                        o.path(),
                        "each stage needs a duration and a rate, e.g. {duration: 10s, rate: 100}",
                    ));
                }
                parts.push(format!("{d}@{r}"));
            }
            parts.join(",")
        }
        other => {
            return Err(SmpError::field(
                path,
                format!("expected \"10s@100,20s@500\" or a list of stages, found {}", kind(&other)),
            ));
        }
    };
    loadgen::parse::stages(&text).map_err(|e| SmpError::field(path, e.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_option() {
        let o = Options::parse(
            r#"{"http2": true, "h2Streams": 8, "MethodOverride": "post", "ramp": "10:100",
                "warmup": "1s", "timeout": "250ms", "threads": 2, "maxRequests": "10k",
                "insecure": false, "caCert": "/tmp/ca.pem"}"#,
            "opts",
        )
        .unwrap();
        assert!(o.http2);
        assert_eq!(o.h2_streams, Some(8));
        assert_eq!(o.method, Some(http::Method::POST));
        assert_eq!(o.shape, Some(RateShape::Ramp { from: 10.0, to: 100.0 }));
        assert_eq!(o.warmup, Some(Duration::from_secs(1)));
        assert_eq!(o.timeout, Some(Duration::from_millis(250)));
        assert_eq!(o.max_requests, Some(10_000));
        assert_eq!(o.ca_cert.as_deref(), Some("/tmp/ca.pem"));
        assert_eq!(Options::parse("  ", "x").unwrap(), Options::default());
    }

    #[test]
    fn grpc_options() {
        let o = Options::parse(
            r#"{"call": "pkg.Svc/Do", "data": {"a": 1}, "metadata": {"x-tenant": "t"},
                "proto": "syntax = \"proto3\";\npackage pkg;"}"#,
            "o",
        )
        .unwrap();
        assert!(o.has_grpc());
        assert_eq!((o.call.as_deref(), o.data.as_deref()), (Some("pkg.Svc/Do"), Some(r#"{"a":1}"#)));
        assert_eq!(o.metadata["x-tenant"], "t");
        assert!(matches!(&o.proto, Some(ProtoSource::Sources(s)) if s[0].0 == INLINE_PROTO));
        let files = Options::parse(r#"{"proto": "api/svc.proto", "importPaths": ["vendor"]}"#, "o").unwrap();
        assert_eq!(
            files.proto,
            Some(ProtoSource::Files { files: vec!["api/svc.proto".into()], import_paths: vec!["vendor".into()] })
        );
        let named = Options::parse(r#"{"proto": {"a.proto": "syntax = \"proto3\";"}}"#, "o").unwrap();
        assert!(matches!(named.proto, Some(ProtoSource::Sources(s)) if s[0].0 == "a.proto"));
        assert!(!Options::parse("{}", "o").unwrap().has_grpc());
        for (text, want) in [
            (r#"{"data": 5}"#, "o.data: expected the message as a JSON object"),
            (r#"{"import_paths": ["x"]}"#, "o.import_paths: is only used with `proto` file paths"),
            (r#"{"proto": [1]}"#, "o.proto[0]: expected a path"),
            (r#"{"proto": 1}"#, "o.proto: expected .proto source text"),
        ] {
            let err = Options::parse(text, "o").unwrap_err().to_string();
            assert!(err.starts_with(want), "{text}: {err}");
        }
    }

    #[test]
    fn stages_in_both_forms() {
        let a = Options::parse(r#"{"stages": "1s@10,2s@20"}"#, "o").unwrap();
        let b = Options::parse(r#"{"stages": [{"duration": "1s", "rate": 10}, {"duration": "2s", "rate": 20}]}"#, "o")
            .unwrap();
        assert_eq!(a, b);
        let RateShape::Stages(s) = a.shape.unwrap() else { panic!("not stages") };
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn errors_name_the_option() {
        for (text, want) in [
            (r#"{"htp2": true}"#, "o.htp2: unknown key; did you mean `http2`?"),
            (r#"{"ramp": "1:2", "stages": "1s@1"}"#, "o.stages: give either `ramp` or `stages`"),
            (r#"{"warmup": "soon"}"#, "o.warmup: \"soon\" is not a duration"),
            (r#"{"h2_streams": 0}"#, "o.h2_streams: must be >= 1"),
            (r#"{"method": "GE T"}"#, "o.method: \"GE T\" is not an HTTP method"),
            (r#"{"stages": [{"rate": 1}]}"#, "o.stages[0]: each stage needs"),
            (r#"{"max_requests": -1}"#, "o.max_requests: expected a count"),
            ("not json", "o: is not a JSON object"),
            ("[1]", "o: expected an object"),
        ] {
            let err = Options::parse(text, "o").unwrap_err().to_string();
            assert!(err.starts_with(want), "{text}: {err}");
        }
    }
}
