//! `meshperf worker`: serve the perf gRPC service and the Meshery adapter on port 10013, on
//! every interface by default (a worker is a remote load machine), and never without a token.
//! Its runs go through the same pipeline as the server's: one converter, one policy (with the
//! flags below as its ceilings and allow-list), one registry (in memory: the caller keeps the
//! results).

use std::sync::Arc;
use std::time::Duration;

use super::{CliError, Exit};
use crate::perf::grpc::{self, GrpcAuth, GrpcState};
use crate::perf::pipeline::Pipeline;
use crate::perf::runs::{Limits, LocalExecutor, RunRegistry};
use crate::policy::{AllowEntry, AllowList, Ceilings, Policy, Token, WORKER_RULES};

/// Arguments of `meshperf worker`.
#[derive(Debug, clap::Args)]
pub struct WorkerArgs {
    /// Address to listen on.
    #[arg(long, default_value = grpc::DEFAULT_LISTEN, value_name = "ADDR")]
    pub listen: String,
    /// Shared token callers must send (`meshperf run --workers ... --token`); required.
    #[arg(long, env = "MESHPERF_WORKER_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Targets load may go to: a CIDR (10.0.0.0/8), an IP or a host name (`*.svc.local`);
    /// repeatable. Default: loopback only (127.0.0.0/8 and ::1). Checked on resolved addresses.
    #[arg(long = "allow", value_name = "CIDR|HOST", value_parser = parse_allow)]
    pub allow: Vec<AllowEntry>,
    /// Most tests run at once; more are refused.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub max_runs: u32,
    /// Highest rate this worker sends, requests per second (its share of a distributed rate).
    #[arg(long, default_value = "100k", value_parser = parse_rate)]
    pub max_rate: f64,
    /// Most connections one test may open on this worker.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_connections: u32,
    /// Most connections of a closed-loop test (no rate: as fast as they allow); 0 refuses
    /// closed loop.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub max_closed_loop_connections: u32,
    /// Longest test (warm-up plus measured window).
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub max_duration: Duration,
    /// Longest a test may take from its start to its end, connecting and draining included;
    /// it is cancelled then [default: --max-duration + 1m].
    #[arg(long, value_parser = parse_duration)]
    pub max_wall_time: Option<Duration>,
    /// How long runs and calls may take to end after SIGINT or SIGTERM.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub shutdown_grace: Duration,
}

/// What a worker enforces and how it shuts down.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// The shared token.
    pub token: Token,
    /// The rules.
    pub policy: Policy,
    /// Runs at once.
    pub max_runs: usize,
    /// Shutdown grace.
    pub grace: Duration,
}

impl WorkerConfig {
    /// The gRPC state of a worker with this configuration.
    pub fn state(&self) -> Arc<GrpcState> {
        let limits = Limits {
            max_concurrent: self.max_runs,
            queue: 0,
            per_user: self.max_runs,
            grace: self.grace,
            names: WORKER_RULES,
        };
        let registry = RunRegistry::new(None, Arc::new(LocalExecutor), Arc::new(LocalExecutor), limits);
        let pipeline = Pipeline { policy: Arc::new(self.policy.clone()), registry };
        GrpcState::new(pipeline, GrpcAuth::new(self.token.clone(), None, "worker"))
    }
}

fn parse_allow(text: &str) -> Result<AllowEntry, String> {
    text.parse()
}

fn parse_rate(text: &str) -> Result<f64, String> {
    loadgen::parse::rate(text).map_err(|e| e.to_string())
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    match loadgen::parse::duration(text) {
        Ok(d) if d.is_zero() => Err("must be above 0".into()),
        other => other.map_err(|e| e.to_string()),
    }
}

impl WorkerArgs {
    /// The worker configuration these arguments describe.
    pub fn config(&self) -> Result<WorkerConfig, CliError> {
        let token = self.token.clone().ok_or_else(|| {
            CliError::Usage(
                "a worker needs a shared token so it is not an open relay: give --token or set MESHPERF_WORKER_TOKEN"
                    .into(),
            )
        })?;
        let token = Token::new(token).map_err(|e| CliError::Usage(format!("--token: {e}")))?;
        let allow = if self.allow.is_empty() { AllowList::default() } else { AllowList::new(self.allow.clone()) };
        let max_wall_time = self.max_wall_time.unwrap_or(self.max_duration + Duration::from_secs(60));
        if max_wall_time < self.max_duration {
            return Err(CliError::Usage(
                "--max-wall-time is shorter than --max-duration; give at least as much".into(),
            ));
        }
        let ceilings = Ceilings {
            max_rate: self.max_rate,
            max_connections: self.max_connections,
            max_closed_loop_connections: self.max_closed_loop_connections,
            max_duration: self.max_duration,
            max_wall_time,
        };
        Ok(WorkerConfig {
            token,
            policy: Policy { allow, ceilings, names: WORKER_RULES },
            max_runs: self.max_runs as usize,
            grace: self.shutdown_grace,
        })
    }
}

/// Serves until SIGINT or SIGTERM, then shuts down gracefully.
pub fn execute(args: WorkerArgs) -> Result<Exit, CliError> {
    let config = args.config()?;
    let listen = args.listen;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("meshperf-worker")
        .enable_all()
        .build()
        .map_err(|e| CliError::Failure(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let listener = grpc::bind(&listen).await.map_err(|e| CliError::Usage(e.to_string()))?;
        let addr = listener.local_addr().map_err(|e| CliError::Failure(e.to_string()))?;
        // One line on stdout so scripts and tests learn the port when listening on port 0.
        println!("meshperf worker listening on {addr}");
        tracing::info!(%addr, allow = %config.policy.allow, "worker ready");
        grpc::serve(listener, config.state(), crate::serve::shutdown_signal(), config.grace)
            .await
            .map_err(|e| CliError::Failure(e.to_string()))
    })?;
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cmd {
        #[command(flatten)]
        args: WorkerArgs,
    }

    #[test]
    fn flags_parse_into_a_config() {
        let cmd = Cmd::try_parse_from([
            "w",
            "--token",
            "t",
            "--allow",
            "10.0.0.0/8",
            "--allow",
            "svc.local",
            "--max-runs",
            "2",
            "--max-rate",
            "5k",
            "--max-duration",
            "1m",
        ])
        .unwrap();
        let c = cmd.args.config().unwrap();
        assert_eq!(c.policy.allow.entries().len(), 2);
        assert_eq!((c.max_runs, c.policy.ceilings.max_rate), (2, 5000.0));
        assert_eq!(c.policy.ceilings.max_duration, Duration::from_secs(60));
        assert_eq!(c.policy.ceilings.max_wall_time, Duration::from_secs(120));
        assert_eq!(cmd.args.listen, "0.0.0.0:10013");
    }

    #[test]
    fn a_token_is_required() {
        if std::env::var_os("MESHPERF_WORKER_TOKEN").is_some() {
            return;
        }
        let cmd = Cmd::try_parse_from(["w"]).unwrap();
        let err = cmd.args.config().unwrap_err();
        assert!(err.to_string().contains("--token"), "{err}");
        assert!(Cmd::try_parse_from(["w", "--allow", "10.0.0.0/99"]).is_err());
        assert!(Cmd::try_parse_from(["w", "--max-runs", "0"]).is_err());
    }
}
