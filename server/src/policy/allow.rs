//! Where load may go: an allow-list of networks and host names, checked on the addresses a
//! target resolves to when a run is admitted, and again by the engine at connect time.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use loadgen::RunPlan;

/// Why a target is not allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowError {
    /// It resolves outside the list.
    Refused {
        /// The URL.
        target: String,
        /// Which address fell outside.
        reason: String,
    },
    /// Its host name does not resolve, so it cannot be judged.
    Unresolvable {
        /// The host.
        host: String,
        /// The resolver's error.
        reason: String,
    },
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
    pub async fn check_plan(&self, plan: &RunPlan) -> Result<(), AllowError> {
        for target in &plan.targets {
            let (host, port) = target.authority();
            self.check_host(&host, port, target.url.as_str()).await?;
        }
        Ok(())
    }

    async fn check_host(&self, host: &str, port: u16, url: &str) -> Result<(), AllowError> {
        let refuse = |reason: String| AllowError::Refused { target: url.to_string(), reason };
        if let Ok(ip) = host.parse::<IpAddr>() {
            return if self.allows_ip(ip) { Ok(()) } else { Err(refuse(format!("{ip} is outside {self}"))) };
        }
        if self.allows_host_name(host) {
            return Ok(());
        }
        let addrs = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| AllowError::Unresolvable { host: host.to_string(), reason: e.to_string() })?;
        let mut any = false;
        for addr in addrs {
            any = true;
            if !self.allows_ip(addr.ip()) {
                return Err(refuse(format!("{host} resolves to {} which is outside {self}", addr.ip())));
            }
        }
        if any { Ok(()) } else { Err(AllowError::Unresolvable { host: host.to_string(), reason: "no address".into() }) }
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

#[cfg(test)]
mod tests {
    use super::*;
    use loadgen::Target;

    fn entry(s: &str) -> AllowEntry {
        s.parse().unwrap()
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
        assert!(matches!(err, AllowError::Refused { .. }), "{err:?}");
        let named = AllowList::new(vec![entry("*.example.invalid")]);
        named.check_plan(&plan("http://svc.example.invalid/")).await.unwrap();
    }
}
