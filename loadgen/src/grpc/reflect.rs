//! A service's descriptors from the target's server reflection service, as grpcurl and ghz
//! fetch them when no `.proto` is given.
//!
//! The client asks `grpc.reflection.v1.ServerReflection/ServerReflectionInfo` (and
//! `grpc.reflection.v1alpha` when the server only has the older one) for the file that defines
//! a symbol, then for every file it imports that the answer lacked. Each question is one call
//! with one request message on its own stream, over one HTTP/2 connection opened like the
//! engine's: the same TLS settings and the same connect policy (a server's allow-list), so
//! reflection reaches exactly what the load may reach.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Request};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioIo, TokioTimer};
use prost::Message;

use super::{Code, frame, status_of, unframe};
use crate::conn::Endpoint;
use crate::error::ErrorKind;
use crate::plan::{ConnectPolicy, HttpVersion, Target, TlsOptions};

/// Files fetched at most, so a server cannot keep the client asking forever.
const MAX_FILES: usize = 256;

/// Bytes one answer may hold, so a server cannot fill the client's memory.
const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

/// Why the descriptors could not be fetched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReflectError {
    /// The target's URL or TLS settings cannot be used.
    #[error(transparent)]
    Plan(#[from] crate::PlanError),
    /// Connecting failed (or the connect policy allows none of the target's addresses).
    #[error("cannot reach the target ({kind}): {message}")]
    Connect {
        /// How connecting failed.
        kind: ErrorKind,
        /// The first message of that kind.
        message: String,
    },
    /// The target has no reflection service.
    #[error("the target has no reflection service (grpc.reflection.v1 and v1alpha answered UNIMPLEMENTED)")]
    Unimplemented,
    /// The reflection service does not know the symbol (or a file it imports).
    #[error("the target's reflection service does not know {symbol}: {message}")]
    NotFound {
        /// The service or file asked for.
        symbol: String,
        /// The service's words.
        message: String,
    },
    /// A reflection call failed with another status.
    #[error("the reflection call failed with {code}: {message}")]
    Status {
        /// Its status.
        code: Code,
        /// Its message.
        message: String,
    },
    /// The answers did not come in time.
    #[error("the reflection service did not answer within {0:?}")]
    Timeout(Duration),
    /// The answers were not valid reflection messages.
    #[error("the reflection service's answer is not valid: {0}")]
    Invalid(String),
}

/// Where to ask and how to connect.
#[derive(Debug, Clone)]
pub struct Reflect {
    /// The target: a `grpc` or `grpcs` URL (its path is ignored).
    pub url: url::Url,
    /// TLS settings for `grpcs`.
    pub tls: TlsOptions,
    /// Addresses that may be connected to; `None` allows any.
    pub connect_policy: Option<Arc<dyn ConnectPolicy>>,
    /// How long the whole exchange may take.
    pub timeout: Duration,
}

impl Reflect {
    /// Fetches the file that defines `symbol` (a service's full name) and every file it
    /// imports, as encoded `FileDescriptorProto`s. Blocks: it runs on a thread of its own with
    /// its own runtime, so it may be called from any thread (an async caller should still
    /// call it from a blocking task).
    pub fn file_descriptors(&self, symbol: &str) -> Result<Vec<Bytes>, ReflectError> {
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| ReflectError::Invalid(format!("cannot start a runtime: {e}")))?;
                    let local = tokio::task::LocalSet::new();
                    let _ = crate::error::take_notes();
                    local.block_on(&rt, async {
                        tokio::time::timeout(self.timeout, self.fetch(symbol))
                            .await
                            .unwrap_or(Err(ReflectError::Timeout(self.timeout)))
                    })
                })
                .join()
                .unwrap_or_else(|_| Err(ReflectError::Invalid("the reflection client panicked".into())))
        })
    }

    async fn fetch(&self, symbol: &str) -> Result<Vec<Bytes>, ReflectError> {
        let target = Target::get(self.url.as_str()).map_err(|e| e.at(crate::Field::Targets))?;
        let (host, port) = target.authority();
        let tls = if target.is_tls() { Some(crate::tls::config(&self.tls, HttpVersion::Http2)?) } else { None };
        let endpoint = Endpoint::new(host, port, tls, HttpVersion::Http2, self.connect_policy.clone())?;
        let io = endpoint.connect().await.map_err(|kind| {
            let message = crate::error::take_notes().get(kind).unwrap_or(kind.describe()).to_string();
            ReflectError::Connect { kind, message }
        })?;
        let (sender, conn) = hyper::client::conn::http2::Builder::new(crate::http2::LocalExec)
            .timer(TokioTimer::new())
            .handshake(TokioIo::new(io))
            .await
            .map_err(|e| ReflectError::Connect { kind: ErrorKind::Protocol, message: e.to_string() })?;
        tokio::task::spawn_local(async move {
            let _ = conn.await;
        });
        let scheme = if target.is_tls() { "https" } else { "http" };
        let mut client = Client { sender, base: format!("{scheme}://{}", crate::http1::host_header(&target.url)) };
        let first = Ask::FileContainingSymbol(symbol.to_string());
        let (version, answer) = match client.ask(V1, first.clone()).await {
            Err(ReflectError::Unimplemented) => (V1ALPHA, client.ask(V1ALPHA, first).await?),
            other => (V1, other?),
        };
        let mut files = Files::default();
        files.add(answer)?;
        while let Some(name) = files.missing() {
            if files.by_name.len() >= MAX_FILES {
                return Err(ReflectError::Invalid(format!("more than {MAX_FILES} files")));
            }
            match client.ask(version, Ask::FileByFilename(name.clone())).await {
                Ok(answer) => files.add(answer)?,
                // Servers may leave out the well-known types; the descriptor pool has them.
                Err(ReflectError::NotFound { .. }) if name.starts_with("google/protobuf/") => {
                    files.absent.push(name);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(files.by_name.into_values().map(|(bytes, _)| bytes).collect())
    }
}

/// The reflection service paths, newest first.
const V1: &str = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
const V1ALPHA: &str = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";

/// The files received so far, by name, with the files they import.
#[derive(Debug, Default)]
struct Files {
    by_name: BTreeMap<String, (Bytes, Vec<String>)>,
    absent: Vec<String>,
}

impl Files {
    fn add(&mut self, files: Vec<Bytes>) -> Result<(), ReflectError> {
        for bytes in files {
            let file = prost_types::FileDescriptorProto::decode(bytes.clone())
                .map_err(|e| ReflectError::Invalid(format!("a file descriptor does not decode: {e}")))?;
            self.by_name.entry(file.name().to_string()).or_insert((bytes, file.dependency));
        }
        Ok(())
    }

    /// An imported file not received yet.
    fn missing(&self) -> Option<String> {
        self.by_name
            .values()
            .flat_map(|(_, deps)| deps)
            .find(|d| !self.by_name.contains_key(*d) && !self.absent.contains(d))
            .cloned()
    }
}

/// One HTTP/2 connection to the reflection service.
struct Client {
    sender: SendRequest<Full<Bytes>>,
    base: String,
}

impl Client {
    /// One call with one question: the encoded file descriptors of the answer.
    async fn ask(&mut self, path: &str, ask: Ask) -> Result<Vec<Bytes>, ReflectError> {
        let symbol = match &ask {
            Ask::FileByFilename(s) | Ask::FileContainingSymbol(s) => s.clone(),
        };
        let body = frame(&ReflectionRequest { host: String::new(), ask: Some(ask) }.encode_to_vec());
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = format!("{}{path}", self.base)
            .parse()
            .map_err(|_| ReflectError::Invalid(format!("{} is not a usable URI", self.base)))?;
        let headers = request.headers_mut();
        headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
        headers.insert(http::header::TE, HeaderValue::from_static("trailers"));
        let broken = |e: hyper::Error| ReflectError::Connect { kind: ErrorKind::Protocol, message: e.to_string() };
        self.sender.ready().await.map_err(broken)?;
        let response = self.sender.send_request(request).await.map_err(broken)?;
        let http_status = response.status().as_u16();
        let (parts, mut body) = response.into_parts();
        let mut status = status_of(&parts.headers);
        let mut data = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(broken)?;
            if let Some(d) = frame.data_ref() {
                if data.len() + d.len() > MAX_ANSWER_BYTES {
                    return Err(ReflectError::Invalid(format!("an answer is larger than {MAX_ANSWER_BYTES} bytes")));
                }
                data.extend_from_slice(d);
            } else if let Some(t) = frame.trailers_ref() {
                status = status.or_else(|| status_of(t));
            }
        }
        let (code, message) = match status {
            Some((code, message)) => (code, message.map(|m| super::decode_message(m.as_bytes())).unwrap_or_default()),
            None if http_status != 200 => (Code::from_http_status(http_status), format!("HTTP status {http_status}")),
            None => return Err(ReflectError::Invalid("the answer carried no grpc-status".into())),
        };
        match code {
            Code::Ok => {}
            Code::Unimplemented => return Err(ReflectError::Unimplemented),
            code => return Err(ReflectError::Status { code, message }),
        }
        let messages = unframe(&data).ok_or_else(|| ReflectError::Invalid("broken message framing".into()))?;
        let mut files = Vec::new();
        for m in messages {
            let answer = ReflectionResponse::decode(m).map_err(|e| ReflectError::Invalid(e.to_string()))?;
            match answer.answer {
                Some(Answer::Files(f)) => files.extend(f.file_descriptor_proto),
                Some(Answer::Error(e)) if e.error_code == Code::NotFound as i32 => {
                    return Err(ReflectError::NotFound { symbol: symbol.clone(), message: e.error_message });
                }
                Some(Answer::Error(e)) => {
                    return Err(ReflectError::Status {
                        code: Code::from_wire(e.error_code as u32),
                        message: e.error_message,
                    });
                }
                None => {}
            }
        }
        if files.is_empty() {
            return Err(ReflectError::Invalid(format!("no file descriptor for {symbol}")));
        }
        Ok(files)
    }
}

/// `grpc.reflection.v1.ServerReflectionRequest` (v1alpha has the same shape), the questions used.
#[derive(Clone, PartialEq, prost::Message)]
struct ReflectionRequest {
    #[prost(string, tag = "1")]
    host: String,
    #[prost(oneof = "Ask", tags = "3, 4")]
    ask: Option<Ask>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
enum Ask {
    #[prost(string, tag = "3")]
    FileByFilename(String),
    #[prost(string, tag = "4")]
    FileContainingSymbol(String),
}

/// `grpc.reflection.v1.ServerReflectionResponse`, the answers used (others are skipped).
#[derive(Clone, PartialEq, prost::Message)]
struct ReflectionResponse {
    #[prost(oneof = "Answer", tags = "4, 7")]
    answer: Option<Answer>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
enum Answer {
    #[prost(message, tag = "4")]
    Files(FileDescriptorResponse),
    #[prost(message, tag = "7")]
    Error(ErrorResponse),
}

#[derive(Clone, PartialEq, prost::Message)]
struct FileDescriptorResponse {
    #[prost(bytes = "bytes", repeated, tag = "1")]
    file_descriptor_proto: Vec<Bytes>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ErrorResponse {
    #[prost(int32, tag = "1")]
    error_code: i32,
    #[prost(string, tag = "2")]
    error_message: String,
}
