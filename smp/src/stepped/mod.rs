//! Stepped runs: the highest rate a service takes under its SLOs (a *search*), and its
//! latency-throughput curve (a *sweep*).
//!
//! A stepped run is a series of constant-rate steps against the same targets, each with its own
//! warm-up and measured window. What decides the next step lives here once, as a state machine
//! with no clock and no I/O ([`Stepper`]), so the command line, the server and distributed runs
//! drive the same algorithm and tests can drive it with a simulated service.
//!
//! # Search
//! An exponential climb then a bisection, as Nighthawk's adaptive load controller does
//! (`ExponentialSearchStepController`): the first step runs at `from`; while steps pass, the
//! next rate is the last one times `factor` (2), capped at `to`; the first failure brackets
//! the answer between the highest rate that passed and the lowest that failed, and each further
//! step runs at the middle of the bracket (rounded to three significant digits) until the
//! bracket is within `precision` (5%: failed ≤ 1.05 × passed). The answer is the highest rate
//! that passed. The search stops early when `from` fails (no rate passed), when `to` passes
//! (the service takes at least the search's upper bound), at `max_steps`, or when the next step
//! would not end within `max_time`.
//!
//! # When a step passes
//! A step passes when every SLO holds over its whole window *and* over its second half (the
//! settle check: a step that met the SLO only at its start, before queues built up, does not
//! pass), and when it achieved its rate: successful responses per second at least
//! `1 - rate_tolerance` of the target, over the whole window and the second half (a service
//! that sheds load with fast 503s, or that falls behind, does not pass however low its
//! latency). SLOs use the gate grammar ([`crate::gate`]): `p99<=20ms`, `errors<0.1%`,
//! `non-2xx<1%`. See [`judge`].
//!
//! # Sweep
//! One step per rate, lowest first; every step is judged against the SLOs too (if any), and
//! the curve's knee is marked ([`knee`]).
//!
//! # Layout
//! - [`spec`]: [`StepSpec`], what a stepped run asks for, and its checks.
//! - [`request`]: [`StepRequest`], a stepped run as a door gives it (text), and its one
//!   conversion to a spec with the defaults.
//! - [`stepper`]: [`Stepper`], the state machine that picks each next rate.
//! - [`step`]: [`Step`], one step's record, judged against the SLOs; [`SettleWindow`], the
//!   second half of a step from its snapshots.
//! - [`knee`]: where the latency-throughput curve turns.
//! - [`document`]: `details.stepped` in the result document ([`Stepped`]) and the sentences
//!   that report the answer.

pub mod document;
pub mod knee;
pub mod request;
pub mod spec;
pub mod step;
pub mod stepper;

pub use document::{Answer, Stepped};
pub use knee::{Knee, find_knee};
pub use request::{StepKind, StepRequest};
pub use spec::{Kind, SpecError, StepField, StepSpec, parse_rates, parse_share};
pub use step::{SettleWindow, Step, StepVerdict, judge};
pub use stepper::{Next, Stepper, Stop};

#[cfg(test)]
mod tests;
