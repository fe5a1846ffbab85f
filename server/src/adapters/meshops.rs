//! `meshes.MeshService`: meshperf as a Meshery performance adapter, a door of the pipeline.
//!
//! Meshery's server calls `SupportedOperations` and `ComponentInfo` when an adapter is
//! registered and `MeshName` as its health check; those (and `MeshVersions`) read nothing and
//! answer without a credential. `ApplyOperation` (which runs a test, or cancels the caller's
//! with `delete_op`) and `StreamEvents` (which reads results) need one, always: the shared
//! token or a login token as `authorization: Bearer ...` metadata. The SMP test config in
//! `custom_body` is bounded in size and nesting, read on a blocking thread by the one profile
//! reader, and run like any other door's request. `Provision` is not supported.

use std::pin::Pin;
use std::sync::Arc;

use futures_util::{Stream, StreamExt};
use smp::profile::TestProfile;
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;
use tonic::{Request, Response, Status};

use super::proto::{self, mesh_service_server::MeshService};
use crate::error::ServiceError;
use crate::http::input::off_thread;
use crate::perf::grpc::GrpcState;
use crate::perf::pipeline::Start;
use crate::perf::runs::{Door, EventKind, Placement, RunEvent};

/// The adapter's name, as Meshery shows it.
pub const ADAPTER_NAME: &str = "meshperf";
/// The operation that runs a performance test from the SMP test config in `custom_body`.
pub const RUN_TEST_OP: &str = "meshperf_run_performance_test";
/// Largest `custom_body` accepted.
pub const MAX_CUSTOM_BODY: usize = 1024 * 1024;

/// An adapter event and the user it is for.
type Addressed = (String, proto::EventsResponse);

/// The Meshery adapter over the process's gRPC state.
#[derive(Debug, Clone)]
pub struct MeshAdapter {
    state: Arc<GrpcState>,
    /// Events that are not a run's (refusals, cancel acknowledgements), for their user.
    notices: broadcast::Sender<Addressed>,
}

impl MeshAdapter {
    /// The adapter.
    pub fn new(state: Arc<GrpcState>) -> Self {
        MeshAdapter { state, notices: broadcast::channel(256).0 }
    }

    fn notify(&self, owner: &str, event: proto::EventsResponse) {
        // No subscriber is fine: Meshery may not be listening.
        let _ = self.notices.send((owner.to_string(), event));
    }

    async fn run_test(
        &self,
        owner: &str,
        req: proto::ApplyRuleRequest,
        operation_id: &str,
    ) -> Result<(), ServiceError> {
        if req.custom_body.len() > MAX_CUSTOM_BODY {
            return Err(ServiceError::TooLarge {
                what: "custom_body".into(),
                limit: MAX_CUSTOM_BODY,
                rule: "the adapter's limit",
            });
        }
        if req.custom_body.trim().is_empty() {
            return Err(ServiceError::invalid("custom_body", "is empty; send an SMP test config (YAML or JSON)"));
        }
        let body = req.custom_body;
        let test = off_thread(move || TestProfile::parse(&body)).await?.map_err(|e| body_error(&e))?;
        let mut requests = test.requests().map_err(|e| body_error(&e))?;
        if requests.len() != 1 {
            return Err(ServiceError::invalid(
                "custom_body",
                format!("the config has {} clients; the adapter runs one client per operation", requests.len()),
            ));
        }
        let mut request = requests.remove(0);
        if request.meta.name.is_none() {
            request.meta.name = Some("meshery test".into());
        }
        if !req.username.is_empty() {
            request.meta.labels.insert("user".into(), req.username.chars().take(255).collect());
        }
        let start = Start {
            owner: owner.to_string(),
            door: Door::Adapter,
            profile_id: None,
            client_id: Some(operation_id.to_string()),
            may_queue: true,
            placement: Placement::Configured,
        };
        let name = move |f| format!("custom_body.{}", test.path_of(0, f));
        self.state.pipeline.start(request, name, start).await?;
        Ok(())
    }
}

fn body_error(e: &smp::SmpError) -> ServiceError {
    match e {
        smp::SmpError::Field { path, reason } => ServiceError::invalid(format!("custom_body.{path}"), reason.clone()),
        other => ServiceError::invalid("custom_body", other.to_string()),
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

fn error_event(operation_id: &str, e: &ServiceError) -> proto::EventsResponse {
    let mut ev = event(proto::EventType::Error, operation_id, "Performance test failed".into(), e.public_message());
    ev.error_code = e.code().as_str().to_string();
    ev.probable_cause = e.public_message();
    ev.suggested_remediation = match e {
        ServiceError::Refused { rule, .. } => format!("Change the request, or ask for {rule} to allow it"),
        ServiceError::Busy { .. } => "Wait for the running test to finish".into(),
        ServiceError::Unauthenticated(_) => "Send the shared token as authorization metadata".into(),
        _ => "Check the SMP test config and meshperf's log".into(),
    };
    ev
}

/// The adapter event of a run event of the adapter door, if it has one.
fn run_event(e: &RunEvent) -> Option<proto::EventsResponse> {
    let op = e.run.client_id.clone().unwrap_or_else(|| e.run.id.clone());
    let name = &e.run.name;
    match &e.kind {
        EventKind::Started { .. } => Some(info(&op, format!("Performance test {name:?} started"), String::new())),
        EventKind::Cancelling { reason } => {
            Some(info(&op, format!("Cancelling performance test {name:?}: {reason}"), String::new()))
        }
        EventKind::Finished(outcome) => {
            let doc = &outcome.document;
            let summary = format!(
                "Performance test {name:?} {}: {} requests, {:.1} req/s, p50 {:.3} ms, p99 {:.3} ms, {} errors",
                if outcome.cancelled { "cancelled" } else { "finished" },
                doc.details.requests,
                doc.actual_qps,
                doc.latencies_ms.p50,
                doc.latencies_ms.p99,
                doc.details.errors,
            );
            Some(info(&op, summary, doc.to_json_pretty()))
        }
        EventKind::Ended { message, .. } => {
            Some(error_event(&op, &ServiceError::Conflict(format!("the test ended without a result: {message}"))))
        }
        EventKind::Queued | EventKind::Progress { .. } | EventKind::Step(_) => None,
    }
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
        let owner = self.state.auth.check(request.metadata()).await?;
        let req = request.into_inner();
        if req.op_name != RUN_TEST_OP {
            return Err(ServiceError::invalid(
                "op_name",
                format!(
                    "unknown operation {:?}; this adapter supports {RUN_TEST_OP:?} (see SupportedOperations)",
                    req.op_name.chars().take(100).collect::<String>()
                ),
            )
            .into());
        }
        let operation_id = if req.operation_id.is_empty() {
            uuid::Uuid::new_v4().to_string()
        } else {
            req.operation_id.chars().take(128).collect()
        };
        if req.delete_op {
            let n = self.state.pipeline.registry.cancel_door(&owner, Door::Adapter, "cancelled through the adapter");
            self.notify(&owner, info(&operation_id, format!("Cancelled {n} performance test(s)"), String::new()));
            return Ok(Response::new(proto::ApplyRuleResponse { error: String::new(), operation_id }));
        }
        if let Err(e) = self.run_test(&owner, req, &operation_id).await {
            self.notify(&owner, error_event(&operation_id, &e));
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
        request: Request<proto::EventsRequest>,
    ) -> Result<Response<Self::StreamEventsStream>, Status> {
        let owner = self.state.auth.check(request.metadata()).await?;
        let mine = owner.clone();
        let runs = BroadcastStream::new(self.state.pipeline.registry.subscribe_all()).filter_map(move |e| {
            let item = e
                .ok()
                .filter(|e| e.run.owner == mine && e.run.door == Door::Adapter)
                .and_then(|e| run_event(&e))
                .map(Ok);
            async move { item }
        });
        let notices = BroadcastStream::new(self.notices.subscribe()).filter_map(move |n| {
            let item = n.ok().filter(|(to, _)| *to == owner).map(|(_, e)| Ok(e));
            async move { item }
        });
        let events = futures_util::stream::select(runs, notices).take_until(self.state.closed());
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
