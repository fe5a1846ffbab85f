//! A client of one worker's perf service: connecting with the token, starting a run, and
//! following its event stream until the result (or until the worker is lost).

use std::time::Duration;

use loadgen::{Snapshot, Stats};
use smp::ResultDocument;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Status, Streaming};

use super::error::DistributedError;
use crate::perf::grpc::convert;
use crate::perf::grpc::proto::{self, perf_service_client::PerfServiceClient, run_event::Event};

/// Adds `authorization: Bearer TOKEN` to every call.
#[derive(Debug, Clone)]
pub struct BearerAuth(MetadataValue<Ascii>);

impl BearerAuth {
    /// The interceptor for `token`.
    pub fn new(token: &str) -> Result<Self, DistributedError> {
        MetadataValue::try_from(format!("Bearer {token}")).map(BearerAuth).map_err(|_| DistributedError::BadToken)
    }
}

impl Interceptor for BearerAuth {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        request.metadata_mut().insert("authorization", self.0.clone());
        Ok(request)
    }
}

/// A perf-service client that sends the worker token.
pub type WorkerClient = PerfServiceClient<InterceptedService<Channel, BearerAuth>>;

/// Connects to the worker at `address` (see [`super::endpoint_uri`]).
pub async fn connect(address: &str, auth: BearerAuth, timeout: Duration) -> Result<WorkerClient, DistributedError> {
    let uri = super::split::endpoint_uri(address)?;
    let bad = |reason: String| DistributedError::Connect { address: address.to_string(), reason };
    let channel = Endpoint::from_shared(uri)
        .map_err(|e| bad(e.to_string()))?
        .connect_timeout(timeout)
        .http2_keep_alive_interval(Duration::from_secs(10))
        .keep_alive_timeout(Duration::from_secs(20))
        .keep_alive_while_idle(true)
        .connect()
        .await
        .map_err(|e| bad(error_chain(&e)))?;
    Ok(PerfServiceClient::with_interceptor(channel, auth))
}

/// An error and its sources as one line, each message once: a layer that already prints its
/// source (`tcp connect error: Connection refused`) is not followed by that source again, and
/// a source that repeats its wrapper's words replaces the wrapper.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        match parts.last_mut() {
            Some(last) if last.ends_with(&text) => {}
            Some(last) if text.starts_with(last.as_str()) => *last = text,
            _ => parts.push(text),
        }
        source = s.source();
    }
    parts.join(": ")
}

/// Maps a refused `Run` or `Cancel` call to an error naming the worker.
pub(crate) fn refused(address: &str, status: &Status) -> DistributedError {
    match status.code() {
        tonic::Code::Unavailable if status.message().contains("transport") || status.message().is_empty() => {
            DistributedError::Connect { address: address.to_string(), reason: status.message().to_string() }
        }
        code => DistributedError::Refused { address: address.to_string(), code, message: status.message().to_string() },
    }
}

/// A worker's final result.
#[derive(Debug)]
pub(crate) struct WorkerResult {
    pub(crate) doc: ResultDocument,
    pub(crate) stats: Stats,
    pub(crate) cancelled: bool,
}

/// What the follower of one worker reports.
#[derive(Debug)]
pub(crate) enum FromWorker {
    Progress(u64, Box<Snapshot>),
    Result(Box<WorkerResult>),
    Lost(String),
}

/// Waits for the `Accepted` event that opens a run's stream.
pub(crate) async fn accepted(
    stream: &mut Streaming<proto::RunEvent>,
    timeout: Duration,
) -> Result<proto::Accepted, Status> {
    match tokio::time::timeout(timeout, stream.message()).await {
        Err(_) => Err(Status::deadline_exceeded("the worker did not confirm the run in time")),
        Ok(Err(status)) => Err(status),
        Ok(Ok(Some(proto::RunEvent { event: Some(Event::Accepted(a)) }))) => Ok(a),
        Ok(Ok(_)) => Err(Status::internal("the worker's stream did not open with `accepted`")),
    }
}

/// Follows worker `w`'s stream, forwarding progress and the result; reports the worker lost
/// when the stream breaks, ends without a result, or stays silent past `first_deadline` (for
/// the first event) or `stall` (between events). Dropping the stream cancels the run there.
pub(crate) async fn follow(
    w: usize,
    mut stream: Streaming<proto::RunEvent>,
    first_deadline: Instant,
    stall: Duration,
    tx: mpsc::UnboundedSender<(usize, FromWorker)>,
) {
    let mut deadline = first_deadline;
    let msg = loop {
        let event = match tokio::time::timeout_at(deadline, stream.message()).await {
            Err(_) => break FromWorker::Lost(format!("silent for more than {}", humantime::format_duration(stall))),
            Ok(Err(status)) => break FromWorker::Lost(broken(&status)),
            Ok(Ok(None)) => break FromWorker::Lost("its stream ended without a result".into()),
            Ok(Ok(Some(event))) => event,
        };
        deadline = Instant::now() + stall;
        match event.event {
            Some(Event::Progress(p)) => match convert::snapshot_from_proto(&p) {
                Ok(s) => {
                    if tx.send((w, FromWorker::Progress(p.seq, Box::new(s)))).is_err() {
                        return;
                    }
                }
                Err(e) => break FromWorker::Lost(format!("it sent a malformed snapshot: {e}")),
            },
            Some(Event::Result(r)) => break result(&r),
            Some(Event::Accepted(_)) | None => {}
        }
    };
    let _ = tx.send((w, msg));
}

fn result(r: &proto::Result) -> FromWorker {
    let doc = match ResultDocument::from_json(&r.result_json) {
        Ok(doc) => doc,
        Err(e) => return FromWorker::Lost(format!("it sent a malformed result: {e}")),
    };
    let stats = match r.stats.as_ref().map(convert::stats_from_proto) {
        Some(Ok(s)) => s,
        Some(Err(e)) => return FromWorker::Lost(format!("it sent malformed statistics: {e}")),
        None => match doc.stats() {
            Ok(s) => s,
            Err(e) => return FromWorker::Lost(format!("it sent malformed statistics: {e}")),
        },
    };
    FromWorker::Result(Box::new(WorkerResult { doc, stats, cancelled: r.cancelled }))
}

/// Why a stream broke, in words: a transport failure (the process died, the network went) or
/// the worker's own error status.
fn broken(status: &Status) -> String {
    match status.code() {
        tonic::Code::Unknown | tonic::Code::Unavailable | tonic::Code::Cancelled => {
            format!("its connection broke ({})", status.message())
        }
        code => format!("it failed with {}: {}", format!("{code:?}").to_lowercase(), status.message()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);

    impl std::fmt::Display for Layer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|l| l as &(dyn std::error::Error + 'static))
        }
    }

    #[test]
    fn each_message_once() {
        let io = Layer("Connection refused (os error 111)", None);
        let inner = Layer("tcp connect error: Connection refused (os error 111)", Some(Box::new(io)));
        let outer = Layer("tcp connect error", Some(Box::new(inner)));
        let e = Layer("transport error", Some(Box::new(outer)));
        assert_eq!(error_chain(&e), "transport error: tcp connect error: Connection refused (os error 111)");
    }
}
