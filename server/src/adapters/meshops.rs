//! `meshes.MeshService`: meshperf as a Meshery performance adapter.
//!
//! Meshery's server calls `SupportedOperations` and `ComponentInfo` when an adapter is
//! registered and `MeshName` as its health check; those (and `MeshVersions`) answer without a
//! token, as Meshery sends none. `ApplyOperation` runs the SMP test config in `custom_body`
//! under the same allow-list, ceilings and run cap as the perf service (a token, when sent, must
//! be right) and reports through `StreamEvents`. `Provision` is not supported.

use std::pin::Pin;
use std::sync::Arc;

use futures_util::{Stream, StreamExt};
use smp::ResultDocument;
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;
use tonic::{Request, Response, Status};

use super::proto::{self, mesh_service_server::MeshService};
use super::smp_config;
use crate::perf::grpc::runs::RunOutput;
use crate::perf::grpc::service::admit_and_start;
use crate::perf::grpc::{WorkerError, WorkerState};

/// The adapter's name, as Meshery shows it.
pub const ADAPTER_NAME: &str = "meshperf";
/// The operation that runs a performance test from the SMP test config in `custom_body`.
pub const RUN_TEST_OP: &str = "meshperf_run_performance_test";
/// Run ids of tests started through the adapter start with this.
const RUN_PREFIX: &str = "meshery-";

/// The Meshery adapter over a worker's shared state.
#[derive(Debug, Clone)]
pub struct MeshAdapter {
    state: Arc<WorkerState>,
    events: broadcast::Sender<proto::EventsResponse>,
}

impl MeshAdapter {
    /// The adapter.
    pub fn new(state: Arc<WorkerState>) -> Self {
        MeshAdapter { state, events: broadcast::channel(256).0 }
    }

    fn publish(&self, event: proto::EventsResponse) {
        // No subscriber is fine: Meshery may not be listening.
        let _ = self.events.send(event);
    }

    async fn run_test(&self, req: proto::ApplyRuleRequest, operation_id: String) -> Result<(), WorkerError> {
        let config = smp_config::parse(&req.custom_body)?;
        let mut meta = config.meta;
        if !req.username.is_empty() {
            meta.labels.insert("user".into(), req.username.clone());
        }
        let run_id = format!("{RUN_PREFIX}{operation_id}");
        let started = admit_and_start(&self.state, &run_id, config.plan, None).await?;
        self.publish(info(&operation_id, format!("Performance test {:?} started", meta.name), String::new()));
        let adapter = self.clone();
        tokio::spawn(async move {
            let mut output = started.output;
            while let Some(out) = output.recv().await {
                match out {
                    RunOutput::Progress(..) => {}
                    RunOutput::Done(Ok(report)) => {
                        let doc = ResultDocument::from_report(&report, &meta);
                        let summary = format!(
                            "Performance test {:?} {}: {} requests, {:.1} req/s, p50 {:.3} ms, p99 {:.3} ms, {} errors",
                            meta.name,
                            if report.cancelled { "cancelled" } else { "finished" },
                            doc.details.requests,
                            doc.actual_qps,
                            doc.latencies_ms.p50,
                            doc.latencies_ms.p99,
                            doc.details.errors,
                        );
                        adapter.publish(info(&operation_id, summary, doc.to_json_pretty()));
                    }
                    RunOutput::Done(Err(e)) => {
                        adapter.publish(error_event(&operation_id, &WorkerError::Internal(e.to_string())));
                    }
                }
            }
        });
        Ok(())
    }
}

fn event(kind: proto::EventType, operation_id: &str, summary: String, details: String) -> proto::EventsResponse {
    proto::EventsResponse {
        event_type: kind as i32,
        summary,
        details,
        operation_id: operation_id.to_string(),
        component: "adapter".into(),
        component_name: ADAPTER_NAME.into(),
        ..Default::default()
    }
}

fn info(operation_id: &str, summary: String, details: String) -> proto::EventsResponse {
    event(proto::EventType::Info, operation_id, summary, details)
}

fn error_event(operation_id: &str, e: &WorkerError) -> proto::EventsResponse {
    let mut ev = event(proto::EventType::Error, operation_id, "Performance test failed".into(), e.to_string());
    ev.error_code = format!("{:?}", e.grpc_code());
    ev.probable_cause = e.to_string();
    ev.suggested_remediation = match e {
        WorkerError::TargetRefused { .. } => "Start the meshperf worker with --allow naming the target".into(),
        WorkerError::Busy { .. } => "Wait for the running test to finish, or raise --max-runs".into(),
        WorkerError::Ceiling { flag, .. } => format!("Lower the request or raise the worker's {flag}"),
        _ => "Check the SMP test config and the worker's log".into(),
    };
    ev
}

/// The stream of adapter events.
pub type EventStream = Pin<Box<dyn Stream<Item = Result<proto::EventsResponse, Status>> + Send>>;

#[tonic::async_trait]
impl MeshService for MeshAdapter {
    async fn mesh_name(&self, _: Request<proto::MeshNameRequest>) -> Result<Response<proto::MeshNameResponse>, Status> {
        Ok(Response::new(proto::MeshNameResponse { name: ADAPTER_NAME.into() }))
    }

    async fn mesh_versions(
        &self,
        _: Request<proto::MeshVersionsRequest>,
    ) -> Result<Response<proto::MeshVersionsResponse>, Status> {
        Ok(Response::new(proto::MeshVersionsResponse { version: vec![env!("CARGO_PKG_VERSION").into()] }))
    }

    async fn apply_operation(
        &self,
        request: Request<proto::ApplyRuleRequest>,
    ) -> Result<Response<proto::ApplyRuleResponse>, Status> {
        if request.metadata().contains_key("authorization") {
            self.state.config.token.check(request.metadata())?;
        }
        let req = request.into_inner();
        if req.op_name != RUN_TEST_OP {
            return Err(Status::invalid_argument(format!(
                "unknown operation {:?}; this adapter supports {RUN_TEST_OP:?} (see SupportedOperations)",
                req.op_name
            )));
        }
        let operation_id =
            if req.operation_id.is_empty() { uuid::Uuid::new_v4().to_string() } else { req.operation_id.clone() };
        if req.delete_op {
            let n = self.state.runs.cancel_prefixed(RUN_PREFIX);
            self.publish(info(&operation_id, format!("Cancelled {n} performance test(s)"), String::new()));
            return Ok(Response::new(proto::ApplyRuleResponse { error: String::new(), operation_id }));
        }
        if let Err(e) = self.run_test(req, operation_id.clone()).await {
            self.publish(error_event(&operation_id, &e));
            return Err(e.into());
        }
        Ok(Response::new(proto::ApplyRuleResponse { error: String::new(), operation_id }))
    }

    async fn supported_operations(
        &self,
        _: Request<proto::SupportedOperationsRequest>,
    ) -> Result<Response<proto::SupportedOperationsResponse>, Status> {
        let op = proto::SupportedOperation {
            key: RUN_TEST_OP.into(),
            value: "Run a performance test (SMP test config in the custom body; delete cancels)".into(),
            category: proto::OpCategory::Custom as i32,
        };
        Ok(Response::new(proto::SupportedOperationsResponse { ops: vec![op], error: String::new() }))
    }

    type StreamEventsStream = EventStream;

    async fn stream_events(
        &self,
        _: Request<proto::EventsRequest>,
    ) -> Result<Response<Self::StreamEventsStream>, Status> {
        let events = BroadcastStream::new(self.events.subscribe())
            .filter_map(|e| async move { e.ok().map(Ok) })
            .take_until(self.state.closed());
        Ok(Response::new(Box::pin(events)))
    }

    async fn provision(
        &self,
        _: Request<proto::ProvisionRequest>,
    ) -> Result<Response<proto::ProvisionResponse>, Status> {
        Err(Status::unimplemented(
            "meshperf is a performance adapter and does not provision components; \
             use the meshperf_run_performance_test operation",
        ))
    }

    async fn component_info(
        &self,
        _: Request<proto::ComponentInfoRequest>,
    ) -> Result<Response<proto::ComponentInfoResponse>, Status> {
        let properties =
            [("capabilities", "performance-test"), ("protocols", "http1,http2,https"), ("result_format", "smp")];
        Ok(Response::new(proto::ComponentInfoResponse {
            r#type: "adapter".into(),
            name: ADAPTER_NAME.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            git_sha: option_env!("MESHPERF_GIT_SHA").unwrap_or("unknown").into(),
            properties: properties.into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }))
    }
}
