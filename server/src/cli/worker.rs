//! `meshperf worker`: serve the perf gRPC service and the Meshery adapter on port 10013.

use std::time::Duration;

use super::{CliError, Exit};
use crate::perf::grpc::{self, AllowEntry, AllowList, Limits, Token, WorkerConfig};

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
    /// Longest test (warm-up plus measured window).
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub max_duration: Duration,
}

fn parse_allow(text: &str) -> Result<AllowEntry, String> {
    text.parse()
}

fn parse_rate(text: &str) -> Result<f64, String> {
    loadgen::parse::rate("--max-rate", text).map_err(|e| e.to_string())
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    match loadgen::parse::duration("--max-duration", text) {
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
        let token = Token::new(token).map_err(|e| CliError::Usage(e.to_string()))?;
        let allow = if self.allow.is_empty() { AllowList::default() } else { AllowList::new(self.allow.clone()) };
        let limits = Limits {
            max_runs: self.max_runs as usize,
            max_rate: self.max_rate,
            max_connections: self.max_connections,
            max_duration: self.max_duration,
        };
        Ok(WorkerConfig { token, allow, limits })
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
        tracing::info!(%addr, allow = %config.allow, "worker ready");
        grpc::serve(listener, config, crate::serve::shutdown_signal())
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
        assert_eq!(c.allow.entries().len(), 2);
        assert_eq!((c.limits.max_runs, c.limits.max_rate), (2, 5000.0));
        assert_eq!(c.limits.max_duration, Duration::from_secs(60));
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
