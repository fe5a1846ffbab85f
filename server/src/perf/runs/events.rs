//! The one event type of a run, which every listener reads: the SSE stream, the perf gRPC
//! stream, Meshery's adapter events (and next the broker and GraphQL subscriptions).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use loadgen::{SecondStats, Snapshot, Stats};
use smp::ResultDocument;

use crate::store::{ResultRow, RunState};

/// The door a run came in through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Door {
    /// Meshery's REST API (profiles run, ad-hoc runs, SMP bodies).
    Rest,
    /// meshperf's perf gRPC service (a share of a distributed run, or a direct call).
    Grpc,
    /// Meshery's adapter protocol (`ApplyOperation`).
    Adapter,
}

impl Door {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Door::Rest => "rest",
            Door::Grpc => "grpc",
            Door::Adapter => "adapter",
        }
    }
}

/// Who a run belongs to and what it is called; shared by all its events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunInfo {
    /// Its id.
    pub id: String,
    /// Its user.
    pub owner: String,
    /// Its door.
    pub door: Door,
    /// The test's name.
    pub name: String,
    /// The profile it ran, if any.
    pub profile_id: Option<String>,
    /// The caller's own id for it (a share id, Meshery's operation id), if any.
    pub client_id: Option<String>,
}

/// One event of a run.
#[derive(Debug, Clone)]
pub struct RunEvent {
    /// The run.
    pub run: Arc<RunInfo>,
    /// What happened.
    pub kind: EventKind,
}

/// What happened to a run.
#[derive(Debug, Clone)]
pub enum EventKind {
    /// Recorded and waiting for a run slot.
    Queued,
    /// The engine started; measuring starts at `start_at`.
    Started {
        /// When measuring time starts.
        start_at: SystemTime,
        /// Worker threads.
        threads: u32,
    },
    /// The `seq`-th snapshot (from 1): that second's exact deltas and the totals.
    Progress {
        /// Its number.
        seq: u64,
        /// The snapshot.
        snapshot: Arc<Snapshot>,
    },
    /// The run was asked to stop; its partial result follows.
    Cancelling {
        /// Why (a user, the wall-time ceiling, shutdown, the caller went away).
        reason: String,
    },
    /// The end, with a result (stored first when the registry has a store).
    Finished(Arc<Outcome>),
    /// The end without a result.
    Ended {
        /// `failed` or `cancelled` (before it started).
        state: RunState,
        /// Why.
        message: String,
    },
}

impl RunEvent {
    /// Whether this is a run's last event.
    pub fn is_final(&self) -> bool {
        matches!(self.kind, EventKind::Finished(_) | EventKind::Ended { .. })
    }
}

/// A finished run.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// `completed` or `cancelled`.
    pub state: RunState,
    /// Why it ended as it did.
    pub message: String,
    /// The result document (header values redacted).
    pub document: ResultDocument,
    /// The engine's exact totals and histograms (runs on this process's engine).
    pub stats: Option<Stats>,
    /// The measured window.
    pub elapsed: Duration,
    /// Whether it stopped before its end.
    pub cancelled: bool,
    /// The stored result row.
    pub stored: Option<ResultRow>,
}

/// A progress line's figures, about once a second.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    /// Seconds since the measured window opened.
    pub elapsed_s: f64,
    /// Requests finished since the window opened.
    pub requests: u64,
    /// Errors since the window opened.
    pub errors: u64,
    /// Requests per second over the last interval.
    pub rate: f64,
    /// Median latency over the last interval, ms.
    pub p50_ms: f64,
    /// 99th percentile over the last interval, ms.
    pub p99_ms: f64,
}

impl Progress {
    /// The figures of a snapshot.
    pub fn of(snapshot: &Snapshot) -> Self {
        let s = SecondStats::from_snapshot(snapshot);
        Progress {
            elapsed_s: snapshot.elapsed.as_secs_f64(),
            requests: snapshot.total_responses + snapshot.total_errors,
            errors: snapshot.total_errors,
            rate: s.rate,
            p50_ms: s.p50_us as f64 / 1000.0,
            p99_ms: s.p99_us as f64 / 1000.0,
        }
    }

    /// A one-line summary.
    pub fn message(&self) -> String {
        format!(
            "{:.0}s: {} requests, {:.1} req/s, p50 {:.2} ms, p99 {:.2} ms, {} errors",
            self.elapsed_s, self.requests, self.rate, self.p50_ms, self.p99_ms, self.errors
        )
    }
}
