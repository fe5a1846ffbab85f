//! `meshperf run`: a load test from the command line (being written).

use super::{CliError, Exit};

/// Arguments of `meshperf run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Target URLs, used round robin.
    pub urls: Vec<String>,
}

/// Runs the load test.
pub fn execute(_args: RunArgs) -> Result<Exit, CliError> {
    Err(CliError::Failure("being written".into()))
}
