//! Shared helpers for the end-to-end tests: test servers on loopback (HTTP/1.1, h2c, TLS with
//! ALPN, mTLS) that can freeze or hang on demand, and the real `meshperf` binary.
//!
//! # Layout
//! - [`server`]: the in-process hyper test server and its knobs.
//! - [`tls`]: a throwaway CA, server and client certificates written to a temp dir.
//! - [`bin`]: builds `meshperf` once and runs it.
//! - [`capacity`]: servers of known capacity (shedding with 503, or one worker with a fixed
//!   service time) for searches and sweeps.
//! - [`grpc`]: a tonic gRPC server (a greeter, health, reflection) for the gRPC load tests.
//! - [`serve`]: the real `meshperf serve` on SQLite or a fresh PostgreSQL database, and its API.
//! - [`worker`]: load workers on loopback, in process or as the real `meshperf worker`.
//! - [`silent`]: a target that accepts and never answers, counting connections.

pub mod bin;
pub mod capacity;
pub mod grpc;
pub mod serve;
pub mod server;
pub mod silent;
pub mod tls;
pub mod worker;

use std::time::{Duration, Instant};

/// Polls `check` every 20 ms until it returns `Some` or `limit` passes.
pub fn wait_for<T>(limit: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
