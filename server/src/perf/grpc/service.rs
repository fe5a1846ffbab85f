//! The perf service (`meshperf.perf.v1.PerfService`): run a test and stream its events,
//! cancel a run, report capabilities and load.

use std::pin::Pin;
use std::sync::Arc;
use std::time::SystemTime;

use futures_util::{Stream, StreamExt};
use loadgen::RunPlan;
use smp::{ResultDocument, RunMeta};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::convert::{self, TlsDir};
use super::error::WorkerError;
use super::proto;
use super::runs::{self, RunOutput, Started};
use super::server::WorkerState;

/// Checks `plan` against the worker's ceilings and allow-list, reserves a place for it and
/// starts it. Shared by the perf service and the Meshery adapter.
pub async fn admit_and_start(
    state: &WorkerState,
    run_id: &str,
    mut plan: RunPlan,
    tls: Option<TlsDir>,
) -> Result<Started, WorkerError> {
    if state.is_closing() {
        return Err(WorkerError::ShuttingDown);
    }
    state.config.limits.apply(&mut plan)?;
    state.config.allow.check_plan(&plan).await?;
    plan.connect_policy = Some(std::sync::Arc::new(state.config.allow.clone()));
    let slot = state.runs.admit(run_id)?;
    tracing::info!(run = run_id, targets = plan.targets.len(), connections = plan.connections, "run admitted");
    runs::start(slot, plan, tls)
}

/// The perf service over a shared [`WorkerState`].
#[derive(Debug, Clone)]
pub struct PerfService {
    state: Arc<WorkerState>,
}

impl PerfService {
    /// The service.
    pub fn new(state: Arc<WorkerState>) -> Self {
        PerfService { state }
    }
}

/// The stream of a run's events.
pub type RunEventStream = Pin<Box<dyn Stream<Item = Result<proto::RunEvent, Status>> + Send>>;

fn event(e: proto::run_event::Event) -> Result<proto::RunEvent, Status> {
    Ok(proto::RunEvent { event: Some(e) })
}

/// Turns a run's output into wire events; the final event carries the result document.
fn output_event(output: RunOutput, meta: &RunMeta) -> Result<proto::RunEvent, Status> {
    match output {
        RunOutput::Progress(seq, snap) => {
            event(proto::run_event::Event::Progress(convert::progress_to_proto(seq, &snap)))
        }
        RunOutput::Done(Ok(report)) => {
            let doc = ResultDocument::from_report(&report, meta);
            let result_json =
                serde_json::to_string(&doc).map_err(|e| Status::from(WorkerError::Internal(e.to_string())))?;
            event(proto::run_event::Event::Result(proto::Result {
                result_json,
                stats: Some(convert::stats_to_proto(&report.stats)),
                cancelled: report.cancelled,
                elapsed: Some(convert::duration_to_proto(report.elapsed)),
            }))
        }
        RunOutput::Done(Err(e)) => Err(WorkerError::Internal(format!("the run failed: {e}")).into()),
    }
}

#[tonic::async_trait]
impl proto::perf_service_server::PerfService for PerfService {
    type RunStream = RunEventStream;

    async fn run(&self, request: Request<proto::RunRequest>) -> Result<Response<Self::RunStream>, Status> {
        self.state.config.token.check(request.metadata())?;
        let req = request.into_inner();
        let plan = req.plan.ok_or_else(|| WorkerError::invalid("plan", "is missing"))?;
        let (plan, tls) = convert::plan_from_proto(plan, loadgen::plan::default_threads())?;
        let run_id = if req.run_id.is_empty() { uuid::Uuid::new_v4().to_string() } else { req.run_id };
        let started = admit_and_start(&self.state, &run_id, plan, tls).await?;
        let mut meta = RunMeta::new(if req.name.is_empty() { "meshperf worker run".to_string() } else { req.name });
        meta.labels = req.labels.into_iter().collect();
        let accepted = proto::Accepted {
            run_id,
            start_at: Some(prost_types::Timestamp::from(started.start_at.max(SystemTime::UNIX_EPOCH))),
            threads: started.threads,
        };
        let first = tokio_stream::once(event(proto::run_event::Event::Accepted(accepted)));
        let rest = ReceiverStream::new(started.output).map(move |o| output_event(o, &meta));
        Ok(Response::new(Box::pin(first.chain(rest))))
    }

    async fn cancel(&self, request: Request<proto::CancelRequest>) -> Result<Response<proto::CancelResponse>, Status> {
        self.state.config.token.check(request.metadata())?;
        let id = request.into_inner().run_id;
        let found = self.state.runs.cancel(&id);
        if found {
            tracing::info!(run = %id, "run cancelled by its caller");
        }
        Ok(Response::new(proto::CancelResponse { found }))
    }

    async fn capabilities(
        &self,
        request: Request<proto::CapabilitiesRequest>,
    ) -> Result<Response<proto::CapabilitiesResponse>, Status> {
        self.state.config.token.check(request.metadata())?;
        let limits = &self.state.config.limits;
        Ok(Response::new(proto::CapabilitiesResponse {
            version: env!("CARGO_PKG_VERSION").to_string(),
            cores: loadgen::plan::default_threads(),
            protocols: vec!["http1".into(), "http2".into(), "https".into()],
            runs_in_progress: self.state.runs.len() as u32,
            max_runs: limits.max_runs as u32,
            max_rate: limits.max_rate,
            max_connections: limits.max_connections,
            max_duration: Some(convert::duration_to_proto(limits.max_duration)),
            allow: self.state.config.allow.entries().iter().map(ToString::to_string).collect(),
        }))
    }
}
