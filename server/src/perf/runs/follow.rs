//! Following one execution to its end: its progress, a cancel request, and its wall-time
//! limit. The registry follows a run this way, and a stepped run each of its steps.

use std::sync::Arc;
use std::time::Duration;

use loadgen::Snapshot;
use tokio::sync::watch;
use tokio::time::Instant;

use super::executor::{Executed, Execution};

/// How long a cancelled engine may take to hand its result over before the run is given up.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// What happens while an execution is followed.
#[derive(Debug)]
pub enum Followed {
    /// A snapshot, about once a second.
    Progress(Arc<Snapshot>),
    /// The execution was asked to stop, for this reason; its partial result follows.
    Cancelling(String),
}

/// Why an execution stopped before its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stopped {
    /// Someone asked (a user, shutdown, the caller went away).
    Asked(String),
    /// It reached its wall-time limit.
    Wall(String),
}

impl Stopped {
    /// The sentence that says why.
    pub fn reason(&self) -> &str {
        match self {
            Stopped::Asked(r) | Stopped::Wall(r) => r,
        }
    }
}

/// Follows `exec` until its load stops and its result (or why there is none) arrives. A
/// request on `cancel` or reaching `wall` (`wall_reason` says why in words) cancels it once;
/// `on` hears every snapshot and the cancel. `done_limit` bounds the wait for the result
/// once the load has stopped.
pub async fn follow(
    mut exec: Execution,
    cancel: &mut watch::Receiver<Option<String>>,
    wall: Instant,
    wall_reason: impl Fn() -> String,
    done_limit: Duration,
    mut on: impl FnMut(Followed),
) -> (Result<Executed, String>, Option<Stopped>) {
    let mut stopped = cancel.borrow().clone().map(Stopped::Asked);
    if stopped.is_some() {
        (exec.cancel)();
    }
    loop {
        tokio::select! {
            p = exec.progress.recv() => match p {
                Some(snapshot) => on(Followed::Progress(snapshot)),
                None => break,
            },
            changed = cancel.changed(), if stopped.is_none() => {
                let asked = cancel.borrow().clone();
                if changed.is_err() || asked.is_some() {
                    let why = asked.unwrap_or_else(|| "the registry went away".into());
                    (exec.cancel)();
                    on(Followed::Cancelling(why.clone()));
                    stopped = Some(Stopped::Asked(why));
                }
            }
            () = tokio::time::sleep_until(wall), if stopped.is_none() => {
                let why = wall_reason();
                (exec.cancel)();
                on(Followed::Cancelling(why.clone()));
                stopped = Some(Stopped::Wall(why));
            }
        }
    }
    let done = match tokio::time::timeout(done_limit, exec.done).await {
        Ok(done) => done,
        Err(_) => Err("the engine did not hand its result over in time".into()),
    };
    (done, stopped)
}
