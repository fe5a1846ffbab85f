//! What keeps a worker from becoming an open relay: the shared token, the target allow-list
//! (checked on resolved addresses) and the ceilings on what one run may ask for.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use loadgen::{Load, RateShape, RunPlan};
use tonic::metadata::MetadataMap;

use super::error::WorkerError;

/// The worker's shared secret, compared in constant time.
#[derive(Clone)]
pub struct Token(String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

impl Token {
    /// A token; empty tokens are refused because they would let anyone in.
    pub fn new(secret: impl Into<String>) -> Result<Self, WorkerError> {
        let secret = secret.into();
        if secret.trim().is_empty() {
            return Err(WorkerError::invalid("--token", "the token is empty; give a long random secret"));
        }
        Ok(Token(secret))
    }

    /// Checks the `authorization: Bearer TOKEN` metadata of a call.
    pub fn check(&self, metadata: &MetadataMap) -> Result<(), WorkerError> {
        let value = metadata.get("authorization").ok_or(WorkerError::MissingToken)?;
        let text = value.to_str().map_err(|_| WorkerError::WrongToken)?;
        let given =
            text.strip_prefix("Bearer ").or_else(|| text.strip_prefix("bearer ")).ok_or(WorkerError::WrongToken)?;
        if constant_time_eq(given.trim().as_bytes(), self.0.as_bytes()) { Ok(()) } else { Err(WorkerError::WrongToken) }
    }

    /// The `authorization` header value a client sends.
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.0)
    }
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let len = a.len().max(b.len());
    let mut diff = u8::from(a.len() != b.len());
    for i in 0..len {
        diff |= a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0xff);
    }
    diff == 0
}

/// An IP network: an address and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// The network `addr/prefix`; the prefix must fit the address family.
    pub fn new(addr: IpAddr, prefix: u8) -> Option<Self> {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then_some(IpNet { addr: addr.to_canonical(), prefix })
    }

    /// Whether `ip` lies in this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => prefix_eq(&net.octets(), &ip.octets(), self.prefix),
            (IpAddr::V6(net), IpAddr::V6(ip)) => prefix_eq(&net.octets(), &ip.octets(), self.prefix),
            _ => false,
        }
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }
}

fn prefix_eq(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let full = usize::from(prefix / 8);
    let rest = prefix % 8;
    if a[..full] != b[..full] {
        return false;
    }
    rest == 0 || {
        let mask = 0xffu8 << (8 - rest);
        a[full] & mask == b[full] & mask
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// One allow-list entry: a network (`10.0.0.0/8`, `192.168.1.7`) or a host name
/// (`svc.example`, `*.cluster.local`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowEntry {
    /// Addresses in a network.
    Net(IpNet),
    /// A host name, matched on the URL's host; `*.` matches any subdomain.
    Host(String),
}

impl FromStr for AllowEntry {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if let Some((addr, prefix)) = text.split_once('/') {
            let addr: IpAddr = addr.parse().map_err(|_| format!("{text:?}: {addr:?} is not an IP address"))?;
            let prefix: u8 = prefix.parse().map_err(|_| format!("{text:?}: {prefix:?} is not a prefix length"))?;
            return IpNet::new(addr, prefix)
                .map(AllowEntry::Net)
                .ok_or_else(|| format!("{text:?}: prefix /{prefix} is too long for that address"));
        }
        if let Ok(addr) = text.trim_matches(['[', ']']).parse::<IpAddr>() {
            let prefix = if addr.is_ipv4() { 32 } else { 128 };
            return Ok(AllowEntry::Net(IpNet { addr: addr.to_canonical(), prefix }));
        }
        let host = text.to_ascii_lowercase();
        let bare = host.strip_prefix("*.").unwrap_or(&host);
        if bare.is_empty() || !bare.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.') {
            return Err(format!("{text:?} is neither a CIDR (10.0.0.0/8), an IP address nor a host name"));
        }
        Ok(AllowEntry::Host(host))
    }
}

impl fmt::Display for AllowEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AllowEntry::Net(n) => n.fmt(f),
            AllowEntry::Host(h) => f.write_str(h),
        }
    }
}

/// Networks refused unless an entry at least as specific allows them: link-local addresses,
/// where cloud metadata services live.
fn guarded() -> [IpNet; 2] {
    [
        IpNet { addr: IpAddr::from([169, 254, 0, 0]), prefix: 16 },
        IpNet { addr: IpAddr::from([0xfe80, 0, 0, 0, 0, 0, 0, 0]), prefix: 10 },
    ]
}

/// Which targets a worker may send load to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowList {
    entries: Vec<AllowEntry>,
}

impl Default for AllowList {
    /// Loopback only: 127.0.0.0/8 and ::1.
    fn default() -> Self {
        AllowList {
            entries: vec![
                AllowEntry::Net(IpNet { addr: IpAddr::from([127, 0, 0, 0]), prefix: 8 }),
                AllowEntry::Net(IpNet { addr: IpAddr::from([0, 0, 0, 0, 0, 0, 0, 1]), prefix: 128 }),
            ],
        }
    }
}

impl AllowList {
    /// The list with these entries (in addition to nothing: give loopback yourself if wanted).
    pub fn new(entries: Vec<AllowEntry>) -> Self {
        AllowList { entries }
    }

    /// The entries, as given.
    pub fn entries(&self) -> &[AllowEntry] {
        &self.entries
    }

    /// Whether `ip` is allowed.
    pub fn allows_ip(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        let nets = self.entries.iter().filter_map(|e| match e {
            AllowEntry::Net(n) if n.contains(ip) => Some(n.prefix()),
            _ => None,
        });
        let best = nets.max();
        match guarded().iter().find(|g| g.contains(ip)) {
            Some(g) => best.is_some_and(|p| p >= g.prefix()),
            None => best.is_some(),
        }
    }

    fn allows_host_name(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        self.entries.iter().any(|e| match e {
            AllowEntry::Host(h) => match h.strip_prefix("*.") {
                Some(suffix) => host.ends_with(&format!(".{suffix}")),
                None => *h == host,
            },
            AllowEntry::Net(_) => false,
        })
    }

    /// Checks every target of `plan`: IP literals directly, host names by an entry naming them
    /// or else by every address they resolve to.
    pub async fn check_plan(&self, plan: &RunPlan) -> Result<(), WorkerError> {
        for target in &plan.targets {
            let (host, port) = target.authority();
            self.check_host(&host, port, target.url.as_str()).await?;
        }
        Ok(())
    }

    async fn check_host(&self, host: &str, port: u16, url: &str) -> Result<(), WorkerError> {
        let refuse = |reason: String| WorkerError::TargetRefused { target: url.to_string(), reason };
        if let Ok(ip) = host.parse::<IpAddr>() {
            return if self.allows_ip(ip) { Ok(()) } else { Err(refuse(format!("{ip} is outside {self}"))) };
        }
        if self.allows_host_name(host) {
            return Ok(());
        }
        let addrs = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| WorkerError::Unresolvable { host: host.to_string(), reason: e.to_string() })?;
        let mut any = false;
        for addr in addrs {
            any = true;
            if !self.allows_ip(addr.ip()) {
                return Err(refuse(format!("{host} resolves to {} which is outside {self}", addr.ip())));
            }
        }
        if any {
            Ok(())
        } else {
            Err(WorkerError::Unresolvable { host: host.to_string(), reason: "no address".into() })
        }
    }
}

/// At connect time the engine asks the same list, on the address it actually resolved.
impl loadgen::ConnectPolicy for AllowList {
    fn allows(&self, host: &str, ip: IpAddr) -> bool {
        self.allows_host_name(host) || self.allows_ip(ip)
    }
}

impl fmt::Display for AllowList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list: Vec<String> = self.entries.iter().map(ToString::to_string).collect();
        write!(f, "the allow-list [{}]", list.join(", "))
    }
}

/// Ceilings on what one run may ask of this worker.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Runs at once.
    pub max_runs: usize,
    /// Requests per second this worker sends (its share of the plan's rate).
    pub max_rate: f64,
    /// Connections this worker opens.
    pub max_connections: u32,
    /// Warm-up plus measured duration.
    pub max_duration: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_runs: 1, max_rate: 100_000.0, max_connections: 1_000, max_duration: Duration::from_secs(600) }
    }
}

impl Limits {
    /// Checks `plan` against the ceilings and bounds its length: a plan without a duration
    /// (one that runs until a request count is reached) gets the duration ceiling as its cap.
    pub fn apply(&self, plan: &mut RunPlan) -> Result<(), WorkerError> {
        if plan.connections > self.max_connections {
            return Err(WorkerError::Ceiling {
                what: "connections",
                value: plan.connections.to_string(),
                limit: self.max_connections.to_string(),
                flag: "--max-connections",
            });
        }
        if let Load::Open(shape) = &plan.load {
            let peak = match shape {
                RateShape::Constant(r) => *r,
                RateShape::Ramp { from, to } => from.max(*to),
                RateShape::Stages(stages) => stages.iter().map(|s| s.rate).fold(0.0, f64::max),
            };
            let share = peak / f64::from(plan.shard.count.max(1));
            if share > self.max_rate {
                return Err(WorkerError::Ceiling {
                    what: "rate",
                    value: format!("{share:.0}/s"),
                    limit: format!("{:.0}/s", self.max_rate),
                    flag: "--max-rate",
                });
            }
        }
        let measured = plan.measured_duration();
        let total = measured.unwrap_or_default() + plan.warmup;
        if total > self.max_duration || (measured.is_none() && plan.warmup >= self.max_duration) {
            return Err(WorkerError::Ceiling {
                what: "duration",
                value: humantime::format_duration(total).to_string(),
                limit: humantime::format_duration(self.max_duration).to_string(),
                flag: "--max-duration",
            });
        }
        if measured.is_none() {
            plan.duration = Some(self.max_duration - plan.warmup);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use loadgen::Target;

    fn entry(s: &str) -> AllowEntry {
        s.parse().unwrap()
    }

    #[test]
    fn token_is_checked() {
        let token = Token::new("s3cret").unwrap();
        let mut md = MetadataMap::new();
        assert!(matches!(token.check(&md), Err(WorkerError::MissingToken)));
        md.insert("authorization", "Bearer nope".parse().unwrap());
        assert!(matches!(token.check(&md), Err(WorkerError::WrongToken)));
        md.insert("authorization", token.bearer().parse().unwrap());
        token.check(&md).unwrap();
        assert!(Token::new(" ").is_err());
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"\xff"));
    }

    #[test]
    fn entries_parse() {
        assert_eq!(entry("10.0.0.0/8").to_string(), "10.0.0.0/8");
        assert_eq!(entry("::1").to_string(), "::1/128");
        assert_eq!(entry("[::1]").to_string(), "::1/128");
        assert_eq!(entry("*.Cluster.local"), AllowEntry::Host("*.cluster.local".into()));
        assert!("10.0.0.0/33".parse::<AllowEntry>().is_err());
        assert!("http://x/".parse::<AllowEntry>().is_err());
    }

    #[test]
    fn default_is_loopback_only() {
        let list = AllowList::default();
        assert!(list.allows_ip("127.0.0.1".parse().unwrap()));
        assert!(list.allows_ip("127.9.9.9".parse().unwrap()));
        assert!(list.allows_ip("::1".parse().unwrap()));
        assert!(list.allows_ip("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!list.allows_ip("10.0.0.1".parse().unwrap()));
        assert!(!list.allows_ip("::2".parse().unwrap()));
    }

    #[test]
    fn link_local_needs_a_specific_entry() {
        let wide = AllowList::new(vec![entry("0.0.0.0/0")]);
        assert!(wide.allows_ip("8.8.8.8".parse().unwrap()));
        assert!(!wide.allows_ip("169.254.169.254".parse().unwrap()));
        let exact = AllowList::new(vec![entry("169.254.169.254")]);
        assert!(exact.allows_ip("169.254.169.254".parse().unwrap()));
    }

    #[tokio::test]
    async fn plans_are_checked_on_resolved_addresses() {
        let list = AllowList::default();
        let plan = |url: &str| RunPlan::new(vec![Target::get(url).unwrap()]);
        list.check_plan(&plan("http://127.0.0.1:1/")).await.unwrap();
        list.check_plan(&plan("http://localhost:1/")).await.unwrap();
        list.check_plan(&plan("http://[::1]:1/")).await.unwrap();
        let err = list.check_plan(&plan("http://10.1.2.3/")).await.unwrap_err();
        assert!(matches!(err, WorkerError::TargetRefused { .. }), "{err}");
        assert!(err.to_string().contains("--allow"), "{err}");
        let named = AllowList::new(vec![entry("*.example.invalid")]);
        named.check_plan(&plan("http://svc.example.invalid/")).await.unwrap();
    }

    #[test]
    fn ceilings() {
        let limits =
            Limits { max_runs: 1, max_rate: 100.0, max_connections: 10, max_duration: Duration::from_secs(60) };
        let mut plan = RunPlan::new(vec![Target::get("http://127.0.0.1/").unwrap()]);
        plan.connections = 11;
        assert!(matches!(limits.apply(&mut plan), Err(WorkerError::Ceiling { what: "connections", .. })));
        plan.connections = 10;
        plan.load = Load::Open(RateShape::Constant(300.0));
        plan.shard = loadgen::Shard { index: 0, count: 3 };
        limits.apply(&mut plan).unwrap();
        plan.shard = loadgen::Shard::default();
        let err = limits.apply(&mut plan).unwrap_err();
        assert!(err.to_string().contains("--max-rate"), "{err}");
        plan.load = Load::Closed;
        plan.duration = Some(Duration::from_secs(61));
        assert!(matches!(limits.apply(&mut plan), Err(WorkerError::Ceiling { what: "duration", .. })));
        plan.duration = None;
        plan.max_requests = Some(1000);
        limits.apply(&mut plan).unwrap();
        assert_eq!(plan.duration, Some(Duration::from_secs(60)));
    }
}
