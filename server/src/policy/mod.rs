//! The server's rules, below every door: one admission for every run, whichever way it came in.
//!
//! [`Policy::admit`] takes a validated run and checks it against the [`Ceilings`] (peak rate of
//! any shape, closed-loop connections, connections, window) and the [`AllowList`] (on the
//! addresses the targets resolve to, and again by the engine at connect time), and gives the
//! run its wall-time limit. Refusals name the setting that controls the rule, as the process
//! was configured: environment variables for `meshperf serve`, flags for `meshperf worker`.
//!
//! # Layout
//! - [`allow`]: [`AllowList`], where load may go.
//! - [`ceilings`]: [`Ceilings`], how much one run may ask for.
//! - [`token`]: [`Token`], the shared secret of the gRPC doors.

pub mod allow;
pub mod ceilings;
pub mod token;

use std::sync::Arc;
use std::time::Duration;

use smp::request::ValidRun;

pub use allow::{AllowEntry, AllowError, AllowList, IpNet};
pub use ceilings::Ceilings;
pub use token::Token;

use crate::error::ServiceError;

/// The names of the settings behind each rule, for refusals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleNames {
    /// The target allow-list.
    pub allow: &'static str,
    /// The rate ceiling.
    pub rate: &'static str,
    /// The connection ceiling.
    pub connections: &'static str,
    /// The closed-loop connection ceiling.
    pub closed_loop: &'static str,
    /// The window ceiling.
    pub duration: &'static str,
    /// The wall-time ceiling.
    pub wall_time: &'static str,
    /// Runs executing at once.
    pub runs: &'static str,
    /// Runs waiting for a slot.
    pub queue: &'static str,
    /// Runs one user may have queued or running.
    pub per_user: &'static str,
}

/// `meshperf serve`'s settings (environment variables).
pub const SERVER_RULES: RuleNames = RuleNames {
    allow: "MESHPERF_ALLOW_TARGETS",
    rate: "MESHPERF_MAX_QPS",
    connections: "MESHPERF_MAX_CONNECTIONS",
    closed_loop: "MESHPERF_MAX_CLOSED_LOOP_CONNECTIONS",
    duration: "MESHPERF_MAX_DURATION",
    wall_time: "MESHPERF_MAX_WALL_TIME",
    runs: "MESHPERF_MAX_CONCURRENT_RUNS",
    queue: "MESHPERF_RUN_QUEUE",
    per_user: "MESHPERF_MAX_RUNS_PER_USER",
};

/// `meshperf worker`'s settings (flags).
pub const WORKER_RULES: RuleNames = RuleNames {
    allow: "meshperf worker --allow",
    rate: "meshperf worker --max-rate",
    connections: "meshperf worker --max-connections",
    closed_loop: "meshperf worker --max-closed-loop-connections",
    duration: "meshperf worker --max-duration",
    wall_time: "meshperf worker --max-wall-time",
    runs: "meshperf worker --max-runs",
    queue: "meshperf worker --max-runs",
    per_user: "meshperf worker --max-runs",
};

/// Where load may go and how much of it one run may ask for.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Where load may go.
    pub allow: AllowList,
    /// How much one run may ask for.
    pub ceilings: Ceilings,
    /// The settings' names, for refusals.
    pub names: RuleNames,
}

/// A run the policy let in: its plan may only connect to allowed addresses, and it must end
/// within `wall_limit` of its start.
#[derive(Debug, Clone)]
pub struct Admitted {
    /// The run.
    pub run: ValidRun,
    /// The most wall time it may take; the registry cancels it then.
    pub wall_limit: Duration,
}

impl Policy {
    /// Checks `run` against the ceilings and the allow-list.
    pub async fn admit(&self, mut run: ValidRun) -> Result<Admitted, ServiceError> {
        let wall_limit = self.ceilings.check(&run.plan, &self.names)?;
        self.allow.check_plan(&run.plan).await.map_err(|e| match e {
            AllowError::Refused { target, reason } => ServiceError::Refused {
                rule: self.names.allow,
                detail: format!("target {target} is not allowed: {reason}"),
            },
            AllowError::Unresolvable { host, reason } => ServiceError::Unresolvable { host, reason },
        })?;
        run.plan.set_connect_policy(Arc::new(self.allow.clone()));
        Ok(Admitted { run, wall_limit })
    }
}

#[cfg(test)]
mod tests {
    use smp::request::RunRequest;

    use super::*;

    #[tokio::test]
    async fn admission_names_the_setting() {
        let policy = Policy { allow: AllowList::default(), ceilings: Ceilings::default(), names: WORKER_RULES };
        let run = |url: &str| RunRequest { connections: Some(2), ..RunRequest::for_urls([url]) }.into_run().unwrap();
        let ok = policy.admit(run("http://127.0.0.1:1/")).await.unwrap();
        assert!(ok.run.plan.connect_policy.is_some());
        match policy.admit(run("http://10.1.2.3/")).await {
            Err(ServiceError::Refused { rule, detail }) => {
                assert_eq!(rule, "meshperf worker --allow");
                assert!(detail.contains("10.1.2.3"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
    }
}
