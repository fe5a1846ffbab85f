//! The one path of a run through the server: a door's [`RunRequest`] becomes a validated plan
//! (the one converter, `smp::request`), is admitted (the one [`Policy`]) and registered (the one
//! [`RunRegistry`]). Doors only translate their input and name fields their own way.
//!
//! A stepped run (a search or a sweep, [`Pipeline::start_stepped`]) takes the same path: its
//! highest-rate step is converted and admitted before it is registered (so a run the rules
//! refuse fails at once), and the registry admits each step again as it comes.
//!
//! A gRPC call given without `.proto` text gets its descriptors from the target's reflection
//! service here, before the conversion, over connections the allow-list permits; the server
//! never reads a `.proto` file on a caller's behalf.

use std::sync::Arc;

use loadgen::{ConnectPolicy, Field};
use smp::request::RunRequest;

use super::runs::{Door, Placement, RunKind, RunRegistry, SteppedRun, SteppedSubmission, Submission, Submitted};
use crate::error::ServiceError;
use crate::policy::{Admitted, Policy};

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
        self.submit(admitted, RunKind::Single, start).await
    }

    /// Converts and admits the highest-rate step of a stepped run (`run.spec` checked by the
    /// door) and registers the run, whose whole wall time is bounded by the wall-time ceiling.
    /// `name` words a plan error's field as the door's caller names it.
    pub async fn start_stepped(
        &self,
        run: SteppedRun,
        name: impl Fn(Field) -> String,
        start: Start,
    ) -> Result<Submitted, ServiceError> {
        if self.registry.is_closing() {
            return Err(ServiceError::ShuttingDown);
        }
        let ceiling = self.policy.ceilings.max_wall_time;
        if run.spec.max_time > ceiling {
            return Err(ServiceError::Refused {
                rule: self.policy.names.wall_time,
                detail: format!(
                    "a stepped run of up to {} exceeds the wall-time ceiling of {}",
                    humantime::format_duration(run.spec.max_time),
                    humantime::format_duration(ceiling)
                ),
            });
        }
        let peak = run.spec.step_request(&run.request, run.spec.peak_rate());
        let peak = peak.into_run().map_err(|e| ServiceError::invalid(name(e.field), e.reason))?;
        let admitted = self.policy.admit(peak).await?;
        let admitted = Admitted { run: admitted.run, wall_limit: ceiling };
        let stepped = SteppedSubmission { run, policy: self.policy.clone() };
        self.submit(admitted, RunKind::Stepped(Box::new(stepped)), start).await
    }

    /// The longest a stepped run may take when its caller gives no limit: the default, or the
    /// wall-time ceiling when that is lower.
    pub fn default_stepped_time(&self) -> std::time::Duration {
        smp::stepped::spec::DEFAULT_MAX_TIME.min(self.policy.ceilings.max_wall_time)
    }

    async fn submit(&self, admitted: Admitted, kind: RunKind, start: Start) -> Result<Submitted, ServiceError> {
        self.registry
            .submit(Submission {
                owner: start.owner,
                door: start.door,
                admitted,
                profile_id: start.profile_id,
                client_id: start.client_id,
                may_queue: start.may_queue,
                placement: start.placement,
                kind,
            })
            .await
    }
}
