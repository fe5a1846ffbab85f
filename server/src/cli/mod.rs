//! The command line: `meshperf <command>`.
//!
//! Each subcommand lives in its own module with a `clap::Args` struct and an
//! `execute(args) -> Result<Exit, CliError>` function; this module only parses and dispatches.
//! Every error becomes one sentence on stderr and an exit code (see [`Exit`]).

use clap::{Parser, Subcommand};

pub mod api;
pub mod compare;
pub mod export;
pub mod login;
pub mod profile;
pub mod progress;
pub mod report;
pub mod result;
pub mod run;
pub mod run_plan;
pub mod serve;
pub mod signals;
pub mod summary;
pub mod worker;

/// Process exit codes, documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success; every gate passed.
    Ok = 0,
    /// A CI gate or regression check failed; without gates, no request got a successful
    /// response.
    GateFailed = 1,
    /// Bad usage or input (flags, files, values).
    Usage = 2,
    /// The command could not do its job (I/O, server unreachable, internal failure).
    Failure = 3,
    /// The result is partial: a distributed run lost a worker (the result was still written).
    Partial = 4,
    /// The run was cancelled (Ctrl-C, SIGINT or SIGTERM), as a shell reports SIGINT; what
    /// was measured was still written.
    Cancelled = 130,
}

/// An error a command ends with; its message is one sentence that names the bad input and the fix.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad flags, files or values: exit code 2.
    #[error("{0}")]
    Usage(String),
    /// Anything else that stopped the command: exit code 3.
    #[error("{0}")]
    Failure(String),
}

impl CliError {
    /// The exit code for this error.
    pub fn exit(&self) -> Exit {
        match self {
            CliError::Usage(_) => Exit::Usage,
            CliError::Failure(_) => Exit::Failure,
        }
    }
}

impl From<loadgen::PlanError> for CliError {
    fn from(e: loadgen::PlanError) -> Self {
        CliError::Usage(e.to_string())
    }
}

/// meshperf: load testing and performance management for cloud native services.
#[derive(Debug, Parser)]
#[command(name = "meshperf", version, about, propagate_version = true)]
pub struct Cli {
    /// Log filter (also `RUST_LOG`), for example `info` or `loadgen=debug`.
    #[arg(long, global = true, env = "MESHPERF_LOG", default_value = "warn")]
    pub log: String,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a load test against one or more URLs and print (or write) the result.
    Run(Box<run::RunArgs>),
    /// Serve the perf gRPC service and the Meshery adapter on port 10013 (a load worker).
    Worker(worker::WorkerArgs),
    /// Write a result in another format: smp-json, smp-yaml, fortio, csv or hdr-log.
    Export(export::ExportArgs),
    /// Summarise one or more results and chart them (percentile spectrum, latency, throughput).
    Report(report::ReportArgs),
    /// Compare a result against a baseline; exit 1 when a regression limit is exceeded.
    Compare(compare::CompareArgs),
    /// Serve the performance-management server: REST on PORT (9081), perf gRPC on 10013.
    Serve(serve::ServeArgs),
    /// Save a token for the server to $MESHPERF_HOME/auth.json.
    Login(login::LoginArgs),
    /// Performance profiles on a server: list, view, apply, delete, run.
    Profile(profile::ProfileArgs),
    /// Results on a server: list, view, export.
    Result(result::ResultArgs),
}

/// Parses the arguments, runs the command and returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { Exit::Usage as i32 } else { Exit::Ok as i32 };
            let _ = e.print();
            return code;
        }
    };
    init_tracing(&cli.log);
    let result = match cli.command {
        Command::Run(args) => run::execute(*args),
        Command::Worker(args) => worker::execute(args),
        Command::Export(args) => export::execute(args),
        Command::Report(args) => report::execute(args),
        Command::Compare(args) => compare::execute(args),
        Command::Serve(args) => serve::execute(args),
        Command::Login(args) => login::execute(args),
        Command::Profile(args) => profile::execute(args),
        Command::Result(args) => result::execute(args),
    };
    match result {
        Ok(exit) => exit as i32,
        Err(e) => {
            eprintln!("meshperf: {e}");
            e.exit() as i32
        }
    }
}

fn init_tracing(filter: &str) {
    // Meshery's `DEBUG=true` turns on debug logs unless RUST_LOG or MESHPERF_LOG say otherwise.
    let debug = std::env::var("DEBUG").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
    let filter = if debug && std::env::var_os("MESHPERF_LOG").is_none() { "debug" } else { filter };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(filter))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    // Colour only on a terminal: logs redirected to a file or a pipe stay plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi).try_init();
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// clap's own checks of every command and flag (unique short names, valid defaults, ...),
    /// which otherwise only fire when a user runs the command.
    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
