//! `meshperf search` (the highest rate a service takes under its SLOs) and `meshperf sweep`
//! (its latency-throughput curve): their own flags; everything else is in [`super::stepped`].

use smp::stepped::{StepKind, StepRequest};

use super::stepped::{self, StepArgs};
use super::{CliError, Exit};

/// Arguments of `meshperf search`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "The search climbs from --from, doubling the rate while steps pass, then bisects between the highest rate that passed and the lowest that failed until they are within --precision. A step passes when every --slo holds over the whole step and over its second half, and when it achieves its rate within --rate-tolerance.\n\nExit codes: 0 a rate passed (at least --min), 1 no rate passed or less than --min, 2 bad usage, 3 a step could not run, 4 a step lost a worker, 130 cancelled.\n\nExamples:\n  meshperf search --slo 'p99<=20ms' --slo 'errors<0.1%' http://127.0.0.1:8080/\n  meshperf search --from 1k --to 50k --step-duration 5s --slo 'p99<=50ms' --min 5k URL\n  meshperf search --format json -o search.json --slo 'non-2xx<1%' URL",
    mut_arg("rate", |a| a.hide(true)),
    mut_arg("ramp", |a| a.hide(true)),
    mut_arg("stages", |a| a.hide(true)),
    mut_arg("duration", |a| a.hide(true)),
    mut_arg("requests", |a| a.hide(true)),
    mut_arg("gates", |a| a.hide(true)),
    mut_arg("summary", |a| a.hide(true)),
    mut_arg("junit", |a| a.hide(true))
)]
pub struct SearchArgs {
    /// The first step's rate [default: 100].
    #[arg(long = "from", value_name = "RATE")]
    pub from: Option<String>,
    /// The highest rate to try [default: 100k].
    #[arg(long = "to", value_name = "RATE")]
    pub to: Option<String>,
    /// Stop when the lowest failed rate is within this share above the highest passed [default: 5%].
    #[arg(long = "precision", value_name = "PERCENT")]
    pub precision: Option<String>,
    /// Multiply the rate by this after each passed step of the climb [default: 2].
    #[arg(long = "factor", value_name = "X")]
    pub factor: Option<String>,
    /// SLOs, step length, limits, and `meshperf run`'s target flags.
    #[command(flatten)]
    pub step: StepArgs,
}

/// Arguments of `meshperf sweep`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "One step per rate, lowest first. The knee is the step where the curve of corrected p99 against the achieved rate turns (Kneedle on linear rate and log latency, below the first step that did not keep up); `meshperf report RESULT --chart curve.svg` draws the curve.\n\nExit codes: 0 a step passed (at least --min), 1 none did or less than --min, 2 bad usage, 3 a step could not run, 4 a step lost a worker, 130 cancelled.\n\nExamples:\n  meshperf sweep --rates 1k..20k/10 http://127.0.0.1:8080/\n  meshperf sweep --rates 100,500,1k,2k --slo 'p99<=20ms' --format json -o sweep.json URL",
    mut_arg("rate", |a| a.hide(true)),
    mut_arg("ramp", |a| a.hide(true)),
    mut_arg("stages", |a| a.hide(true)),
    mut_arg("duration", |a| a.hide(true)),
    mut_arg("requests", |a| a.hide(true)),
    mut_arg("gates", |a| a.hide(true)),
    mut_arg("summary", |a| a.hide(true)),
    mut_arg("junit", |a| a.hide(true))
)]
pub struct SweepArgs {
    /// The rates: FROM..TO/N (N evenly spaced, both ends included) or a list 100,500,1k.
    #[arg(long = "rates", value_name = "RATES", required = true)]
    pub rates: String,
    /// SLOs, step length, limits, and `meshperf run`'s target flags.
    #[command(flatten)]
    pub step: StepArgs,
}

/// Searches for the highest rate under the SLOs.
pub fn search(args: SearchArgs) -> Result<Exit, CliError> {
    let request = StepRequest {
        kind: StepKind::Search,
        from: args.from,
        to: args.to,
        precision: args.precision,
        factor: args.factor,
        ..StepRequest::default()
    };
    stepped::execute(request, args.step)
}

/// Sweeps the rates, one step each.
pub fn sweep(args: SweepArgs) -> Result<Exit, CliError> {
    let request = StepRequest { kind: StepKind::Sweep, rates: Some(args.rates), ..StepRequest::default() };
    stepped::execute(request, args.step)
}
