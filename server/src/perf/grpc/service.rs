//! The perf service (`meshperf.perf.v1.PerfService`), a door of the pipeline: run a test and
//! stream its events, cancel a run, report capabilities and load.
//!
//! `Run` reads the wire plan as a run request, which goes through the one converter, the
//! policy and the registry like any other door's; it never queues (a share of a distributed
//! run must start at its agreed instant) and executes on this process's engine. A caller that
//! drops the stream cancels its run.

use std::pin::Pin;
use std::sync::Arc;
use std::time::SystemTime;

use futures_util::Stream;
use tokio::sync::broadcast;
use tonic::{Request, Response, Status};

use super::convert;
use super::proto;
use super::server::GrpcState;
use crate::error::ServiceError;
use crate::perf::pipeline::Start;
use crate::perf::runs::{Door, EventKind, Placement, RunEvent, RunRegistry};

/// The perf service over the process's gRPC state.
#[derive(Debug, Clone)]
pub struct PerfService {
    state: Arc<GrpcState>,
}

impl PerfService {
    /// The service.
    pub fn new(state: Arc<GrpcState>) -> Self {
        PerfService { state }
    }
}

/// The stream of a run's events.
pub type RunEventStream = Pin<Box<dyn Stream<Item = Result<proto::RunEvent, Status>> + Send>>;

fn event(e: proto::run_event::Event) -> Option<Result<proto::RunEvent, Status>> {
    Some(Ok(proto::RunEvent { event: Some(e) }))
}

/// The wire event of a run event (`None` for those the wire has no message for).
fn wire_event(e: &RunEvent, shown_id: &str) -> Option<Result<proto::RunEvent, Status>> {
    match &e.kind {
        EventKind::Queued | EventKind::Cancelling { .. } | EventKind::Step(_) => None,
        EventKind::Started { start_at, threads } => event(proto::run_event::Event::Accepted(proto::Accepted {
            run_id: shown_id.to_string(),
            start_at: Some(prost_types::Timestamp::from((*start_at).max(SystemTime::UNIX_EPOCH))),
            threads: *threads,
        })),
        EventKind::Progress { seq, snapshot } => {
            event(proto::run_event::Event::Progress(convert::progress_to_proto(*seq, snapshot)))
        }
        EventKind::Finished(outcome) => {
            let result_json = match serde_json::to_string(&outcome.document) {
                Ok(json) => json,
                Err(e) => return Some(Err(ServiceError::internal(e).into())),
            };
            event(proto::run_event::Event::Result(proto::Result {
                result_json,
                stats: outcome.stats.as_ref().map(convert::stats_to_proto),
                cancelled: outcome.cancelled,
                elapsed: Some(convert::duration_to_proto(outcome.elapsed)),
            }))
        }
        EventKind::Ended { message, .. } => Some(Err(ServiceError::Internal(message.clone()).into())),
    }
}

/// Cancels the run when the caller drops its stream before the end.
struct Follower {
    registry: Arc<RunRegistry>,
    owner: String,
    run_id: String,
    done: bool,
}

impl Drop for Follower {
    fn drop(&mut self) {
        if !self.done && self.registry.cancel(&self.owner, &self.run_id, "the caller went away") {
            tracing::info!(run = %self.run_id, "the caller went away; its run is cancelled");
        }
    }
}

#[tonic::async_trait]
impl proto::perf_service_server::PerfService for PerfService {
    type RunStream = RunEventStream;

    async fn run(&self, request: Request<proto::RunRequest>) -> Result<Response<Self::RunStream>, Status> {
        let owner = self.state.auth.check(request.metadata()).await?;
        let req = request.into_inner();
        let plan = req.plan.ok_or_else(|| ServiceError::invalid("plan", "is missing"))?;
        let mut run = convert::request_from_proto(plan)?;
        run.meta.name = Some(if req.name.is_empty() { "meshperf worker run".to_string() } else { req.name });
        run.meta.labels = req.labels.into_iter().collect();
        let client_id = Some(req.run_id).filter(|id| !id.is_empty());
        let start = Start {
            owner: owner.clone(),
            door: Door::Grpc,
            profile_id: None,
            client_id: client_id.clone(),
            may_queue: false,
            placement: Placement::Local,
        };
        let submitted = self.state.pipeline.start(run, convert::wire_name, start).await?;
        tracing::info!(run = %submitted.run_id, user = %owner, "gRPC run admitted");
        let shown = client_id.unwrap_or_else(|| submitted.run_id.clone());
        let follower =
            Follower { registry: self.state.pipeline.registry.clone(), owner, run_id: submitted.run_id, done: false };
        let stream = futures_util::stream::unfold(
            (submitted.events, follower, shown, false),
            |(mut rx, mut follower, shown, ended)| async move {
                if ended {
                    return None;
                }
                loop {
                    match rx.recv().await {
                        Ok(e) => {
                            let last = e.is_final();
                            follower.done |= last;
                            if let Some(item) = wire_event(&e, &shown) {
                                return Some((item, (rx, follower, shown, last)));
                            }
                            if last {
                                return None;
                            }
                        }
                        Err(broadcast::error::RecvError::Lagged(n)) => {
                            let status = Status::data_loss(format!(
                                "the stream fell {n} events behind; its deltas are incomplete, so it ends"
                            ));
                            return Some((Err(status), (rx, follower, shown, true)));
                        }
                        Err(broadcast::error::RecvError::Closed) => return None,
                    }
                }
            },
        );
        Ok(Response::new(Box::pin(stream)))
    }

    async fn cancel(&self, request: Request<proto::CancelRequest>) -> Result<Response<proto::CancelResponse>, Status> {
        let owner = self.state.auth.check(request.metadata()).await?;
        let id = request.into_inner().run_id;
        let registry = &self.state.pipeline.registry;
        let reason = "cancelled by its caller";
        let found = registry.cancel_client(&owner, &id, reason) || registry.cancel(&owner, &id, reason);
        if found {
            tracing::info!(run = %id, "run cancelled by its caller");
        }
        Ok(Response::new(proto::CancelResponse { found }))
    }

    async fn capabilities(
        &self,
        request: Request<proto::CapabilitiesRequest>,
    ) -> Result<Response<proto::CapabilitiesResponse>, Status> {
        self.state.auth.check(request.metadata()).await?;
        let policy = &self.state.pipeline.policy;
        let registry = &self.state.pipeline.registry;
        let (active, _) = registry.load();
        Ok(Response::new(proto::CapabilitiesResponse {
            version: env!("CARGO_PKG_VERSION").to_string(),
            cores: loadgen::plan::default_threads(),
            protocols: vec!["http1".into(), "http2".into(), "https".into()],
            runs_in_progress: active as u32,
            max_runs: registry.limits().max_concurrent as u32,
            max_rate: policy.ceilings.max_rate,
            max_connections: policy.ceilings.max_connections,
            max_duration: Some(convert::duration_to_proto(policy.ceilings.max_duration)),
            allow: policy.allow.entries().iter().map(ToString::to_string).collect(),
        }))
    }
}
