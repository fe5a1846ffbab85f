//! Splitting one plan into per-worker shares, and worker addresses.

use std::time::SystemTime;

use loadgen::{RunPlan, Shard};

use super::error::DistributedError;

/// The port a worker listens on when an address names none.
pub const DEFAULT_WORKER_PORT: u16 = 10013;

/// The gRPC endpoint URI for a worker address (`host:port`, `host`, `[::1]:port`, or an
/// `http://` URI); the port defaults to [`DEFAULT_WORKER_PORT`].
pub fn endpoint_uri(address: &str) -> Result<String, DistributedError> {
    let bad = |why: &str| DistributedError::BadWorker { address: address.to_string(), reason: why.to_string() };
    let a = address.trim();
    if a.is_empty() {
        return Err(bad("it is empty"));
    }
    if a.starts_with("https://") {
        return Err(bad("workers speak plain gRPC; write host:port"));
    }
    let authority = a.strip_prefix("http://").unwrap_or(a).trim_end_matches('/');
    if authority.is_empty() || authority.contains('/') {
        return Err(bad("write host:port, for example 10.0.0.5:10013"));
    }
    let has_port = match authority.rfind(']') {
        Some(end) => authority[end..].contains(':'),
        None => authority.matches(':').count() == 1,
    };
    let uri =
        if has_port { format!("http://{authority}") } else { format!("http://{authority}:{DEFAULT_WORKER_PORT}") };
    http::Uri::try_from(uri.as_str()).map_err(|e| bad(&e.to_string()))?;
    Ok(uri)
}

/// Worker `index`'s share of `plan` among `count` workers, starting at `start_at`.
///
/// The rate is not divided: every worker gets the whole rate shape with shard `index/count`
/// and sends the global request indices `i % count == index`, so the shares add up to the
/// rate exactly. Connections and a request count are split as evenly as possible; threads are
/// left to each worker (its cores).
pub fn share(plan: &RunPlan, index: u32, count: u32, start_at: SystemTime) -> Result<RunPlan, DistributedError> {
    let mut p = plan.clone();
    p.shard = Shard { index, count };
    p.connections = loadgen::plan::split(plan.connections, count, index);
    if p.connections == 0 {
        return Err(DistributedError::TooFew {
            what: "connections",
            given: u64::from(plan.connections),
            workers: count,
        });
    }
    if let Some(n) = plan.max_requests {
        let k = u64::from(count);
        let mine = n / k + u64::from(u64::from(index) < n % k);
        if mine == 0 {
            return Err(DistributedError::TooFew { what: "requests", given: n, workers: count });
        }
        p.max_requests = Some(mine);
    }
    p.threads = 0;
    p.start_at = Some(start_at);
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use loadgen::{Load, RateShape, Target};

    #[test]
    fn addresses() {
        assert_eq!(endpoint_uri("127.0.0.1:7000").unwrap(), "http://127.0.0.1:7000");
        assert_eq!(endpoint_uri("worker-1").unwrap(), "http://worker-1:10013");
        assert_eq!(endpoint_uri("[::1]:9").unwrap(), "http://[::1]:9");
        assert_eq!(endpoint_uri("[::1]").unwrap(), "http://[::1]:10013");
        assert_eq!(endpoint_uri("http://h:1/").unwrap(), "http://h:1");
        assert!(endpoint_uri("").is_err());
        assert!(endpoint_uri("https://h:1").is_err());
        assert!(endpoint_uri("h:1/path").is_err());
    }

    #[test]
    fn shares_add_up() {
        let mut plan = RunPlan::new(vec![Target::get("http://127.0.0.1/").unwrap()]);
        plan.connections = 10;
        plan.max_requests = Some(1001);
        plan.load = Load::Open(RateShape::Constant(300.0));
        let at = SystemTime::now();
        let shares: Vec<RunPlan> = (0..3).map(|i| share(&plan, i, 3, at).unwrap()).collect();
        assert_eq!(shares.iter().map(|p| p.connections).sum::<u32>(), 10);
        assert_eq!(shares.iter().map(|p| p.max_requests.unwrap()).sum::<u64>(), 1001);
        for (i, p) in shares.iter().enumerate() {
            assert_eq!(p.shard, Shard { index: i as u32, count: 3 });
            assert_eq!(p.load, plan.load);
            assert_eq!(p.start_at, Some(at));
        }
        plan.connections = 2;
        assert!(matches!(share(&plan, 2, 3, at), Err(DistributedError::TooFew { what: "connections", .. })));
    }
}
