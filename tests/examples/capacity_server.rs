//! A server of known capacity on loopback, to try `meshperf search` and `meshperf sweep` by
//! hand (and to draw the sweep chart in `docs/`):
//!
//! ```sh
//! cargo run -p meshperf-e2e --example capacity_server -- worker 4ms   # D/D/1, 250 req/s
//! cargo run -p meshperf-e2e --example capacity_server -- shed 400     # 503 above 400 req/s
//! ```
//!
//! It prints its URL and serves until interrupted.

use std::time::Duration;

use meshperf_e2e::capacity::CapacityServer;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let server = match (args.first().map(String::as_str), args.get(1)) {
        (Some("worker"), Some(ms)) => match ms.trim_end_matches("ms").parse::<f64>() {
            Ok(ms) if ms > 0.0 => CapacityServer::single_worker(Duration::from_secs_f64(ms / 1000.0)),
            _ => usage(),
        },
        (Some("shed"), Some(rate)) => match rate.parse::<f64>() {
            Ok(rate) if rate > 0.0 => CapacityServer::shedding(rate),
            _ => usage(),
        },
        _ => usage(),
    };
    println!("{}", server.url());
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

fn usage() -> ! {
    eprintln!("usage: capacity_server worker SERVICE_MS | shed RATE");
    std::process::exit(2);
}
