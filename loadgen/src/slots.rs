//! The request loops. A slot is one HTTP/1.1 connection or one HTTP/2 stream (a gRPC call is an
//! HTTP/2 request); it takes the next request (a due ticket in open loop, the next turn in
//! closed loop), sends it, and records the outcome into the worker's interval [`Stats`]. Two clock reads per request, no allocation on
//! the HTTP/1.1 path, nothing shared beyond the worker's thread.

use std::cell::{Cell, RefCell};
use std::pin::pin;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::conn::{Endpoint, H1Conn};
use crate::dispatch::Dispenser;
use crate::error::ErrorKind;
use crate::http2::{self, H2Conn, H2Request, Outcome};
use crate::local::Budget;
use crate::stats::Stats;
use crate::watchdog::Deadline;

/// What every slot of one worker shares (all on the worker's thread).
#[derive(Debug)]
pub(crate) struct Ctx {
    /// Samples whose reference time is earlier are warm-up and dropped.
    pub(crate) measure_from: Instant,
    /// End of the measured window (closed loop stops sending here).
    pub(crate) end: Option<Instant>,
    /// Measurements since the last snapshot.
    pub(crate) stats: RefCell<Stats>,
    /// Set on cancel or when the window closes.
    pub(crate) stop: Cell<bool>,
    /// Requests left to start (closed loop).
    pub(crate) budget: Rc<Budget>,
    /// Per-request timeout, from the send.
    pub(crate) timeout: Duration,
    /// Prebuilt HTTP/1.1 request bytes per target.
    pub(crate) h1: Vec<Bytes>,
    /// Whether each target's method is HEAD.
    pub(crate) head: Vec<bool>,
    /// Prepared HTTP/2 requests per target.
    pub(crate) h2: Vec<H2Request>,
    /// Completion time of the last request (for count-bounded runs).
    pub(crate) last_done: Cell<Option<Instant>>,
}

impl Ctx {
    #[inline]
    fn record_ok(
        &self,
        due: Option<Instant>,
        send: Instant,
        done: Instant,
        outcome: Outcome,
        sent: u64,
        received: u64,
    ) {
        self.last_done.set(Some(done));
        let reference = due.unwrap_or(send);
        if reference < self.measure_from {
            return;
        }
        let mut s = self.stats.borrow_mut();
        s.sent += 1;
        s.bytes_sent += sent;
        s.bytes_received += received;
        match outcome {
            Outcome::Http(status) => s.count_status(status),
            Outcome::Grpc(code, message) => {
                s.count_grpc(code);
                if let Some(m) = message.filter(|_| !s.grpc_messages.has(code)) {
                    s.grpc_messages.keep(code, &crate::grpc::decode_message(m.as_bytes()));
                }
            }
        }
        s.latency.record(done.saturating_duration_since(reference));
        s.service.record(done.saturating_duration_since(send));
        if let Some(due) = due {
            s.send_lag.record(send.saturating_duration_since(due));
        }
    }

    #[inline]
    fn record_err(&self, due: Option<Instant>, send: Instant, kind: ErrorKind, sent: bool) {
        self.last_done.set(Some(Instant::now()));
        if due.unwrap_or(send) < self.measure_from {
            return;
        }
        let mut s = self.stats.borrow_mut();
        s.sent += u64::from(sent);
        s.count_error(kind);
    }

    /// Takes what was measured since the last call.
    pub(crate) fn take_interval(&self) -> Stats {
        std::mem::take(&mut *self.stats.borrow_mut())
    }

    /// The next request in closed loop, or `None` when the slot should stop.
    #[inline]
    fn closed_turn(&self, now: Instant) -> Option<()> {
        if self.stop.get() || self.end.is_some_and(|e| now >= e) {
            return None;
        }
        if now >= self.measure_from && !self.budget.take() {
            return None;
        }
        Some(())
    }
}

/// Where a slot gets its requests from.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// Closed loop, round robin over these target indices.
    Closed(Rc<[usize]>),
    /// Open loop tickets.
    Open(Rc<Dispenser>),
}

impl Source {
    /// The next `(due, target)`; `None` ends the slot.
    async fn next(&self, ctx: &Ctx, turn: &mut usize) -> Option<(Option<Instant>, usize, Instant)> {
        match self {
            Source::Open(d) => {
                let t = d.claim().await?;
                Some((Some(t.due), t.target, Instant::now()))
            }
            Source::Closed(targets) => {
                let now = Instant::now();
                ctx.closed_turn(now)?;
                *turn += 1;
                Some((None, targets[*turn % targets.len()], now))
            }
        }
    }
}

/// Pause after a failed connect in closed loop, so a dead target is not hammered in a tight loop.
async fn backoff(failures: &mut u32) {
    *failures += 1;
    tokio::time::sleep(Duration::from_millis(1 << (*failures).min(7))).await;
}

/// One HTTP/1.1 connection's loop.
pub(crate) async fn h1_slot(
    ctx: Rc<Ctx>,
    endpoint: Rc<Endpoint>,
    source: Source,
    mut conn: Option<H1Conn>,
    deadline: Rc<Deadline>,
    mut turn: usize,
) {
    let mut failures = 0;
    while let Some((due, target, mut send)) = source.next(&ctx, &mut turn).await {
        let limit = send + ctx.timeout;
        let c = match conn.as_mut() {
            Some(c) => c,
            // Boxed: reconnecting is rare, and the connect future (over 1 KB) would otherwise
            // sit in every slot's state for the whole run, 10 MB at 10,000 connections.
            None => match deadline.guard(limit, Box::pin(endpoint.connect())).await {
                Ok(Ok(io)) => {
                    failures = 0;
                    send = Instant::now();
                    conn.insert(H1Conn::new(io))
                }
                Ok(Err(kind)) => {
                    ctx.record_err(due, send, kind, false);
                    if due.is_none() {
                        backoff(&mut failures).await;
                    }
                    continue;
                }
                Err(_) => {
                    ctx.record_err(due, send, ErrorKind::Timeout, false);
                    continue;
                }
            },
        };
        let request = &ctx.h1[target];
        let result = deadline.guard(limit, pin!(c.exchange(request, ctx.head[target]))).await;
        let done = Instant::now();
        match result {
            Ok(Ok(ex)) => {
                ctx.record_ok(due, send, done, Outcome::Http(ex.status), request.len() as u64, ex.bytes);
                if !ex.keep_alive {
                    conn = None;
                }
            }
            Ok(Err(kind)) => {
                ctx.record_err(due, send, kind, true);
                conn = None;
            }
            Err(_) => {
                ctx.record_err(due, send, ErrorKind::Timeout, true);
                conn = None;
            }
        }
    }
}

/// One HTTP/2 stream slot's loop; several share one [`H2Conn`].
pub(crate) async fn h2_slot(ctx: Rc<Ctx>, conn: Rc<H2Conn>, source: Source, deadline: Rc<Deadline>, mut turn: usize) {
    let mut failures = 0;
    while let Some((due, target, mut send)) = source.next(&ctx, &mut turn).await {
        let limit = send + ctx.timeout;
        let was_open = conn.is_open();
        let mut sender = match deadline.guard(limit, pin!(conn.sender())).await {
            Ok(Ok(s)) => s,
            Ok(Err(kind)) => {
                ctx.record_err(due, send, kind, false);
                if due.is_none() {
                    backoff(&mut failures).await;
                }
                continue;
            }
            Err(_) => {
                ctx.record_err(due, send, ErrorKind::Timeout, false);
                continue;
            }
        };
        failures = 0;
        if !was_open {
            send = Instant::now();
        }
        let request = &ctx.h2[target];
        let result = deadline.guard(limit, pin!(http2::exchange(&mut sender, request))).await;
        let done = Instant::now();
        match result {
            Ok(Ok((outcome, bytes))) => ctx.record_ok(due, send, done, outcome, request.wire_bytes, bytes),
            Ok(Err(kind)) => {
                ctx.record_err(due, send, kind, true);
                if sender.is_closed() {
                    conn.reset_if_closed();
                }
            }
            Err(_) => ctx.record_err(due, send, ErrorKind::Timeout, true),
        }
    }
}
