//! Counters and histograms a worker fills while it runs, and that merge exactly.

use crate::error::{ErrorKind, ErrorMessages};
use crate::grpc::{Code, GrpcMessages};
use crate::histogram::LatencyHistogram;

/// Highest status code counted individually; anything else lands in slot 0.
const STATUS_SLOTS: usize = 600;

/// What a run (or an interval of it) measured. Nothing per request is kept.
///
/// Every request sent ends as one response or one error. A response is an HTTP response,
/// counted by its status code, or a gRPC call's answer, counted by its gRPC status code; it is
/// *successful* when its HTTP status is 2xx or 3xx, or its gRPC status is `OK`.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    /// Latency from the due time (open loop) or from the send (closed loop), µs.
    pub latency: LatencyHistogram,
    /// Service time: from the actual send to the end of the response, µs.
    pub service: LatencyHistogram,
    /// How late each send was against its due time (open loop only), µs.
    pub send_lag: LatencyHistogram,
    /// Requests sent.
    pub sent: u64,
    /// Responses received, whatever their status (HTTP responses and gRPC calls' answers).
    pub responses: u64,
    /// Failed requests by [`ErrorKind`] (index = `kind as usize`).
    pub errors: [u64; ErrorKind::ALL.len()],
    /// Responses by status code (slot 0: codes outside 100..600).
    status: Vec<u64>,
    /// gRPC calls' answers by status code (index: the code's wire value).
    grpc: [u64; Code::ALL.len()],
    /// The first `grpc-message` of each non-OK gRPC status (why calls failed).
    pub grpc_messages: GrpcMessages,
    /// Request bytes written (headers and body).
    pub bytes_sent: u64,
    /// Response bytes read (headers and body).
    pub bytes_received: u64,
    /// Open loop: requests that were due in the window but never sent before it ended. Each is
    /// also in `latency` at its age when the window closed (a lower bound of its latency).
    pub unsent: u64,
    /// Of the finished requests, those that finished after the measured window closed: they are
    /// in the histograms and the counts, but not in the rates (which count the window only).
    pub after_window: u64,
    /// Of `after_window`, the successful responses (status 2xx or 3xx, or gRPC `OK`).
    pub after_window_successful: u64,
    /// The first message seen for each error kind (why requests failed).
    pub messages: ErrorMessages,
}

impl Default for Stats {
    fn default() -> Self {
        Self::new()
    }
}

impl Stats {
    /// Empty statistics.
    pub fn new() -> Self {
        Stats {
            latency: LatencyHistogram::new(),
            service: LatencyHistogram::new(),
            send_lag: LatencyHistogram::new(),
            sent: 0,
            responses: 0,
            errors: [0; ErrorKind::ALL.len()],
            status: vec![0; STATUS_SLOTS],
            grpc: [0; Code::ALL.len()],
            grpc_messages: GrpcMessages::default(),
            bytes_sent: 0,
            bytes_received: 0,
            unsent: 0,
            after_window: 0,
            after_window_successful: 0,
            messages: ErrorMessages::default(),
        }
    }

    /// Counts one response with `status`.
    #[inline]
    pub fn count_status(&mut self, status: u16) {
        self.responses += 1;
        let slot = usize::from(status);
        self.status[if (100..STATUS_SLOTS).contains(&slot) { slot } else { 0 }] += 1;
    }

    /// Counts one gRPC call answered with `code`.
    #[inline]
    pub fn count_grpc(&mut self, code: Code) {
        self.responses += 1;
        self.grpc[code as usize] += 1;
    }

    /// `(code, count)` for every gRPC status seen, in wire order.
    pub fn grpc_codes(&self) -> Vec<(Code, u64)> {
        Code::ALL.into_iter().map(|c| (c, self.grpc[c as usize])).filter(|(_, n)| *n > 0).collect()
    }

    /// Adds a count for a gRPC status directly (used when reading stored results).
    pub fn add_grpc(&mut self, code: Code, count: u64) {
        self.grpc[code as usize] += count;
    }

    /// Counts one failed request.
    #[inline]
    pub fn count_error(&mut self, kind: ErrorKind) {
        self.errors[kind.index()] += 1;
    }

    /// Failed requests of every kind.
    pub fn error_total(&self) -> u64 {
        self.errors.iter().sum()
    }

    /// Requests that finished: responses plus errors.
    pub fn finished(&self) -> u64 {
        self.responses + self.error_total()
    }

    /// Failed requests of one kind.
    pub fn errors_of(&self, kind: ErrorKind) -> u64 {
        self.errors[kind.index()]
    }

    /// `(kind, count)` for every kind with a non-zero count.
    pub fn error_kinds(&self) -> Vec<(ErrorKind, u64)> {
        ErrorKind::ALL.iter().map(|k| (*k, self.errors_of(*k))).filter(|(_, n)| *n > 0).collect()
    }

    /// `(status, count)` for every status seen, lowest first; status 0 collects odd codes.
    pub fn status_codes(&self) -> Vec<(u16, u64)> {
        self.status.iter().enumerate().filter(|(_, n)| **n > 0).map(|(s, n)| (s as u16, *n)).collect()
    }

    /// Adds a count for a status code directly (used when reading stored results).
    pub fn add_status(&mut self, status: u16, count: u64) {
        let slot = usize::from(status);
        self.status[if (100..STATUS_SLOTS).contains(&slot) { slot } else { 0 }] += count;
    }

    /// Responses whose status is not 2xx or 3xx (gRPC: not `OK`).
    pub fn non_success(&self) -> u64 {
        self.responses.saturating_sub(self.successful())
    }

    /// Successful responses: HTTP status 2xx or 3xx, or gRPC status `OK`.
    pub fn successful(&self) -> u64 {
        self.status[200..400].iter().sum::<u64>() + self.grpc[Code::Ok as usize]
    }

    /// Requests that finished inside the measured window: the basis of every rate.
    pub fn finished_in_window(&self) -> u64 {
        self.finished().saturating_sub(self.after_window)
    }

    /// Successful responses that finished inside the measured window.
    pub fn successful_in_window(&self) -> u64 {
        self.successful().saturating_sub(self.after_window_successful)
    }

    /// Marks everything finished in these stats as finished after the window.
    pub fn mark_after_window(&mut self) {
        self.after_window = self.finished();
        self.after_window_successful = self.successful();
    }

    /// Whether nothing at all was recorded.
    pub fn is_empty(&self) -> bool {
        self.sent == 0 && self.finished() == 0 && self.latency.is_empty() && self.unsent == 0
    }

    /// Adds everything from `other` (exact: histogram buckets and counters add).
    pub fn merge(&mut self, other: &Stats) {
        self.latency.merge(&other.latency);
        self.service.merge(&other.service);
        self.send_lag.merge(&other.send_lag);
        self.sent += other.sent;
        self.responses += other.responses;
        for (a, b) in self.errors.iter_mut().zip(other.errors) {
            *a += b;
        }
        for (a, b) in self.status.iter_mut().zip(&other.status) {
            *a += b;
        }
        for (a, b) in self.grpc.iter_mut().zip(other.grpc) {
            *a += b;
        }
        self.grpc_messages.merge(&other.grpc_messages);
        self.bytes_sent += other.bytes_sent;
        self.bytes_received += other.bytes_received;
        self.unsent += other.unsent;
        self.after_window += other.after_window;
        self.after_window_successful += other.after_window_successful;
        self.messages.merge(&other.messages);
    }

    /// Empties everything, keeping allocations.
    pub fn reset(&mut self) {
        self.latency.reset();
        self.service.reset();
        self.send_lag.reset();
        self.sent = 0;
        self.responses = 0;
        self.errors = [0; ErrorKind::ALL.len()];
        self.status.iter_mut().for_each(|s| *s = 0);
        self.grpc = [0; Code::ALL.len()];
        self.grpc_messages = GrpcMessages::default();
        self.bytes_sent = 0;
        self.bytes_received = 0;
        self.unsent = 0;
        self.after_window = 0;
        self.after_window_successful = 0;
        self.messages = ErrorMessages::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_adds_everything() {
        let mut a = Stats::new();
        a.count_status(200);
        a.count_status(503);
        a.count_error(ErrorKind::Timeout);
        a.latency.record_us(100);
        a.count_grpc(Code::Ok);
        a.count_grpc(Code::Unavailable);
        a.grpc_messages.keep(Code::Unavailable, "shedding");
        let mut b = Stats::new();
        b.count_status(200);
        b.count_status(42);
        b.count_error(ErrorKind::Reset);
        b.latency.record_us(300);
        b.count_grpc(Code::Unavailable);
        b.grpc_messages.keep(Code::Unavailable, "later");
        a.merge(&b);
        assert_eq!(a.responses, 7);
        assert_eq!(a.status_codes(), vec![(0, 1), (200, 2), (503, 1)]);
        assert_eq!(a.grpc_codes(), vec![(Code::Ok, 1), (Code::Unavailable, 2)]);
        assert_eq!(a.grpc_messages.get(Code::Unavailable), Some("shedding"));
        assert_eq!(a.error_total(), 2);
        assert_eq!(a.finished(), 9);
        assert_eq!(a.non_success(), 4);
        assert_eq!(a.successful(), 3);
        let mut late = Stats::new();
        late.count_status(200);
        late.count_grpc(Code::Ok);
        late.count_error(ErrorKind::Reset);
        late.mark_after_window();
        a.merge(&late);
        assert_eq!((a.finished(), a.finished_in_window()), (12, 9));
        assert_eq!((a.successful(), a.successful_in_window()), (5, 3));
        assert_eq!(a.latency.len(), 2);
        a.reset();
        assert_eq!(a, Stats::new());
    }
}
