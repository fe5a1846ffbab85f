//! The one path of a run through the server: a door's [`RunRequest`] becomes a validated plan
//! (the one converter, `smp::request`), is admitted (the one [`Policy`]) and registered (the one
//! [`RunRegistry`]). Doors only translate their input and name fields their own way.
//!
//! A gRPC call given without `.proto` text gets its descriptors from the target's reflection
//! service here, before the conversion, over connections the allow-list permits; the server
//! never reads a `.proto` file on a caller's behalf.

use std::sync::Arc;

use loadgen::{ConnectPolicy, Field};
use smp::request::RunRequest;

use super::runs::{Door, Placement, RunRegistry, Submission, Submitted};
use crate::error::ServiceError;
use crate::policy::Policy;

/// Admission and registry, shared by every door of a process.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// The rules.
    pub policy: Arc<Policy>,
    /// The runs.
    pub registry: Arc<RunRegistry>,
}

/// Who starts a run, through which door, and how it may wait.
#[derive(Debug, Clone)]
pub struct Start {
    /// The caller.
    pub owner: String,
    /// The door.
    pub door: Door,
    /// The profile it runs, if any.
    pub profile_id: Option<String>,
    /// The caller's own id for the run, if any.
    pub client_id: Option<String>,
    /// Whether it may wait for a slot.
    pub may_queue: bool,
    /// Where it executes.
    pub placement: Placement,
}

impl Pipeline {
    /// Converts, admits and registers `request`. `name` words a plan error's field the way
    /// the door's caller names it.
    pub async fn start(
        &self,
        request: RunRequest,
        name: impl Fn(Field) -> String,
        start: Start,
    ) -> Result<Submitted, ServiceError> {
        if self.registry.is_closing() {
            return Err(ServiceError::ShuttingDown);
        }
        let run = if request.grpc.is_some() {
            // A gRPC call's message is encoded against descriptors compiled here, or fetched
            // from the target's reflection service (connecting only where the allow-list lets
            // the load go): CPU work and a network exchange, so on a blocking thread.
            let allow: Arc<dyn ConnectPolicy> = Arc::new(self.policy.allow.clone());
            tokio::task::spawn_blocking(move || {
                let mut request = request;
                if request.needs_reflection() {
                    request.fetch_descriptors(Some(allow))?;
                }
                request.into_run()
            })
            .await
            .map_err(ServiceError::internal)?
        } else {
            request.into_run()
        };
        let run = run.map_err(|e| ServiceError::invalid(name(e.field), e.reason))?;
        let admitted = self.policy.admit(run).await?;
        self.registry
            .submit(Submission {
                owner: start.owner,
                door: start.door,
                admitted,
                profile_id: start.profile_id,
                client_id: start.client_id,
                may_queue: start.may_queue,
                placement: start.placement,
            })
            .await
    }
}
