//! meshperf's server crate: the `meshperf` command line, the perf server and the load worker.
//!
//! # Layout
//! - [`cli`]: argument parsing and the subcommands (`run`, ...), each turning errors into one
//!   sentence and an exit code.

pub mod cli;
