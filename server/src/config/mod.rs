//! The server's configuration, read once from the environment and validated at start.
//!
//! Meshery's variables keep their names and meaning (`PORT`, `DEBUG`, `PROVIDER`,
//! `PROVIDER_BASE_URLS`, `KEYS_PATH`, `ADAPTER_URLS`, plus `DATABASE_URL` and `BROKER_URL`);
//! meshperf's own start with `MESHPERF_`. Every bad value is reported, one sentence each, before
//! anything starts. Meshery variables that mean nothing here (`SKIP_COMP_GEN`,
//! `DISABLE_OPERATOR`, `PLAYGROUND`, `OTEL_CONFIG`) are accepted and ignored.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `PORT` | 9081 | HTTP port (0 picks a free one) |
//! | `MESHPERF_BIND` | 127.0.0.1 | HTTP listen address |
//! | `DEBUG` | false | debug logging |
//! | `PROVIDER` | `None` (local) | `None` for the local provider, else the remote provider's name |
//! | `PROVIDER_BASE_URLS` | | remote provider base URLs, comma separated; keys at `<first>/keys` |
//! | `KEYS_PATH` | | file with the remote provider's public keys (JWKS JSON or PEM) |
//! | `ADAPTER_URLS` | | Meshery adapters, `host:port` separated by commas or spaces |
//! | `DATABASE_URL` | `sqlite:$MESHPERF_HOME/meshperf.db` | `sqlite:PATH` or `postgres://...` |
//! | `BROKER_URL` | | NATS broker, `nats://host:port` |
//! | `MESHPERF_HOME` | `$HOME/.meshperf` | keys, database, `auth.json` |
//! | `MESHPERF_ALLOW_TARGETS` | `127.0.0.0/8,::1,localhost` | where runs may send load |
//! | `MESHPERF_MAX_QPS` | 100000 | ceiling on a run's peak rate (constant, ramp or stages) |
//! | `MESHPERF_MAX_CONNECTIONS` | 1000 | ceiling on a run's connections |
//! | `MESHPERF_MAX_CLOSED_LOOP_CONNECTIONS` | 64 | ceiling on the connections of a closed-loop run (no rate; 0 refuses closed loop) |
//! | `MESHPERF_MAX_DURATION` | 10m | ceiling on a run's warm-up plus measured duration |
//! | `MESHPERF_MAX_WALL_TIME` | `MESHPERF_MAX_DURATION` + 1m | ceiling on a run's whole wall time (connecting, warm-up, window, last timeouts); the run is cancelled then |
//! | `MESHPERF_MAX_CONCURRENT_RUNS` | 1 | runs executing at once (every door) |
//! | `MESHPERF_RUN_QUEUE` | 16 | runs waiting for a slot before new ones are refused |
//! | `MESHPERF_MAX_RUNS_PER_USER` | 4 | runs one user may have queued or running |
//! | `MESHPERF_TOKEN_AUDIENCE` | `meshperf` | the `aud` a remote provider's tokens must carry |
//! | `MESHPERF_TOKEN_ISSUERS` | `PROVIDER_BASE_URLS` | the `iss` values accepted from a remote provider, comma separated |
//! | `MESHPERF_MAX_BODY` | 2097152 | largest request body accepted, bytes |
//! | `MESHPERF_SQLITE_SYNCHRONOUS` | full | SQLite `synchronous` pragma: `normal` or `full` |
//! | `MESHPERF_TOKEN_TTL` | 30d | lifetime of tokens the local provider issues |
//! | `MESHPERF_SHUTDOWN_GRACE` | 30s | how long in-flight requests may take after a signal |
//! | `MESHPERF_WORKER_TOKEN` | generated under the home | shared token of the gRPC perf service (and of `MESHPERF_WORKERS`) |
//! | `MESHPERF_WORKERS` | | load workers (`host:port`, comma separated) to run tests on instead of this process |

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::policy::{AllowEntry, AllowList, Ceilings};

/// Default HTTP port, Meshery's.
pub const DEFAULT_PORT: u16 = 9081;

/// Where the store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL (kept out of logs: it may carry a password).
    Postgres(String),
}

/// Which identity provider checks tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderConfig {
    /// The local provider: one local user, tokens signed with a key under the home.
    Local,
    /// A remote provider whose RS256/ES256 tokens are checked against its public keys.
    Remote {
        /// Its name (`PROVIDER`).
        name: String,
        /// Its base URLs; keys are fetched from `<first>/keys` unless `keys_path` is set.
        base_urls: Vec<url::Url>,
        /// A local file with its keys.
        keys_path: Option<PathBuf>,
        /// The `aud` its tokens must carry.
        audience: String,
        /// The `iss` values accepted.
        issuers: Vec<String>,
    },
}

/// SQLite's `synchronous` setting, chosen explicitly (WAL mode is always on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synchronous {
    /// Durable across application crashes; may lose the last commits on power loss.
    Normal,
    /// Durable across power loss too.
    Full,
}

/// The validated configuration of `meshperf serve`.
#[derive(Debug, Clone)]
pub struct Config {
    /// HTTP listen address.
    pub bind: IpAddr,
    /// HTTP port.
    pub port: u16,
    /// Debug logging.
    pub debug: bool,
    /// The identity provider.
    pub provider: ProviderConfig,
    /// Meshery adapters to track (`host:port`).
    pub adapter_urls: Vec<String>,
    /// The store.
    pub database: DatabaseUrl,
    /// The NATS broker, if any (otherwise events stay in process).
    pub broker_url: Option<url::Url>,
    /// meshperf's home: keys, database, auth.json.
    pub home: PathBuf,
    /// Where runs may send load.
    pub allow: AllowList,
    /// Ceilings on one run.
    pub ceilings: Ceilings,
    /// Runs executing at once.
    pub max_concurrent_runs: usize,
    /// Runs waiting for a slot.
    pub run_queue: usize,
    /// Runs one user may have queued or running.
    pub max_runs_per_user: usize,
    /// Largest request body, bytes.
    pub max_body: usize,
    /// SQLite durability.
    pub synchronous: Synchronous,
    /// Lifetime of local tokens.
    pub token_ttl: Duration,
    /// Grace period for in-flight requests at shutdown.
    pub shutdown_grace: Duration,
    /// Shared token of the gRPC perf service (`None`: generated under the home).
    pub worker_token: Option<String>,
    /// Load workers runs are split over; empty runs them in this process.
    pub workers: Vec<String>,
}

/// Bad configuration: every bad value, one sentence each.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n  {}", .0.join("\n  "))]
pub struct ConfigError(pub Vec<String>);

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(|k| std::env::var(k).ok())
    }

    /// Reads the configuration from `get` (a variable lookup; tests pass a map).
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |k: &str| get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let mut errors = Vec::new();

        let mut port = DEFAULT_PORT;
        push(&mut errors, parse_into(&get, "PORT", &mut port, "a port number from 0 to 65535"));
        let mut bind: IpAddr = [127, 0, 0, 1].into();
        push(&mut errors, parse_into(&get, "MESHPERF_BIND", &mut bind, "an IP address such as 127.0.0.1 or 0.0.0.0"));
        let mut debug = false;
        push(&mut errors, bool_into(&get, "DEBUG", &mut debug));
        for ignored in ["SKIP_COMP_GEN", "DISABLE_OPERATOR", "PLAYGROUND"] {
            push(&mut errors, bool_into(&get, ignored, &mut false));
        }

        let home = match get("MESHPERF_HOME") {
            Some(h) => PathBuf::from(h),
            None => match get("HOME") {
                Some(h) => PathBuf::from(h).join(".meshperf"),
                None => {
                    errors.push(
                        "neither MESHPERF_HOME nor HOME is set; set MESHPERF_HOME to a writable directory".into(),
                    );
                    PathBuf::from(".meshperf")
                }
            },
        };
        if home.is_relative() && get("MESHPERF_HOME").is_some() {
            errors.push(format!("MESHPERF_HOME={} is relative; give an absolute path", home.display()));
        }

        let provider = provider(&get).unwrap_or_else(|e| {
            errors.extend(e);
            ProviderConfig::Local
        });

        let adapter_urls: Vec<String> = get("ADAPTER_URLS").map(|v| split_list(&v)).unwrap_or_default();
        for a in &adapter_urls {
            if !valid_host_port(a) {
                errors.push(format!("ADAPTER_URLS has {a:?}, which is not host:port (for example localhost:10013)"));
            }
        }

        let database = match get("DATABASE_URL") {
            None => DatabaseUrl::Sqlite(home.join("meshperf.db")),
            Some(u) => database_url(&u).unwrap_or_else(|e| {
                errors.push(e);
                DatabaseUrl::Sqlite(home.join("meshperf.db"))
            }),
        };

        let broker_url = get("BROKER_URL").and_then(|u| match url::Url::parse(&u) {
            Ok(url) if matches!(url.scheme(), "nats" | "tls") && url.host_str().is_some() => Some(url),
            _ => {
                errors.push(format!("BROKER_URL={u:?} is not a NATS URL; write nats://host:4222"));
                None
            }
        });

        let allow = match get("MESHPERF_ALLOW_TARGETS") {
            None => default_allow(),
            Some(v) => {
                let mut entries = Vec::new();
                for item in split_list(&v) {
                    match item.parse::<AllowEntry>() {
                        Ok(e) => entries.push(e),
                        Err(e) => errors.push(format!("MESHPERF_ALLOW_TARGETS: {e}")),
                    }
                }
                AllowList::new(entries)
            }
        };

        let mut ceilings = Ceilings::default();
        push(
            &mut errors,
            parse_into(&get, "MESHPERF_MAX_QPS", &mut ceilings.max_rate, "a positive number of requests per second"),
        );
        if !(ceilings.max_rate.is_finite() && ceilings.max_rate > 0.0) {
            errors.push("MESHPERF_MAX_QPS must be above 0".into());
        }
        push(
            &mut errors,
            parse_into(&get, "MESHPERF_MAX_CONNECTIONS", &mut ceilings.max_connections, "a whole number above 0"),
        );
        push(
            &mut errors,
            parse_into(
                &get,
                "MESHPERF_MAX_CLOSED_LOOP_CONNECTIONS",
                &mut ceilings.max_closed_loop_connections,
                "a whole number (0 refuses closed-loop runs)",
            ),
        );
        push(&mut errors, duration_into(&get, "MESHPERF_MAX_DURATION", &mut ceilings.max_duration));
        ceilings.max_wall_time = ceilings.max_duration + Duration::from_secs(60);
        push(&mut errors, duration_into(&get, "MESHPERF_MAX_WALL_TIME", &mut ceilings.max_wall_time));
        if ceilings.max_wall_time < ceilings.max_duration {
            errors.push(format!(
                "MESHPERF_MAX_WALL_TIME ({}) is shorter than MESHPERF_MAX_DURATION ({}); give at least as much",
                humantime::format_duration(ceilings.max_wall_time),
                humantime::format_duration(ceilings.max_duration)
            ));
        }
        let mut max_concurrent_runs = 1usize;
        push(
            &mut errors,
            parse_into(&get, "MESHPERF_MAX_CONCURRENT_RUNS", &mut max_concurrent_runs, "a whole number above 0"),
        );
        let mut run_queue = 16usize;
        push(
            &mut errors,
            parse_into(
                &get,
                "MESHPERF_RUN_QUEUE",
                &mut run_queue,
                "a whole number (0 refuses runs while all slots are busy)",
            ),
        );
        let mut max_runs_per_user = 4usize;
        push(
            &mut errors,
            parse_into(&get, "MESHPERF_MAX_RUNS_PER_USER", &mut max_runs_per_user, "a whole number above 0"),
        );
        let mut max_body = 2 * 1024 * 1024usize;
        push(&mut errors, parse_into(&get, "MESHPERF_MAX_BODY", &mut max_body, "a number of bytes above 0"));
        for (name, zero) in [
            ("MESHPERF_MAX_CONNECTIONS", ceilings.max_connections == 0),
            ("MESHPERF_MAX_CONCURRENT_RUNS", max_concurrent_runs == 0),
            ("MESHPERF_MAX_RUNS_PER_USER", max_runs_per_user == 0),
            ("MESHPERF_MAX_BODY", max_body == 0),
            ("MESHPERF_MAX_DURATION", ceilings.max_duration.is_zero()),
        ] {
            if zero {
                errors.push(format!("{name} must be above 0"));
            }
        }

        let synchronous = match get("MESHPERF_SQLITE_SYNCHRONOUS").map(|s| s.to_ascii_lowercase()).as_deref() {
            None | Some("full") => Synchronous::Full,
            Some("normal") => Synchronous::Normal,
            Some(other) => {
                errors.push(format!("MESHPERF_SQLITE_SYNCHRONOUS={other:?} is not `normal` or `full`"));
                Synchronous::Full
            }
        };
        let mut token_ttl = Duration::from_secs(30 * 24 * 3600);
        push(&mut errors, duration_into(&get, "MESHPERF_TOKEN_TTL", &mut token_ttl));
        let mut shutdown_grace = Duration::from_secs(30);
        push(&mut errors, duration_into(&get, "MESHPERF_SHUTDOWN_GRACE", &mut shutdown_grace));
        let workers: Vec<String> = get("MESHPERF_WORKERS").map(|v| split_list(&v)).unwrap_or_default();
        for w in &workers {
            let host = w.rsplit_once(':').map_or(w.as_str(), |(h, p)| if p.parse::<u16>().is_ok() { h } else { "" });
            if host.is_empty() {
                errors.push(format!(
                    "MESHPERF_WORKERS has {w:?}, which is not host or host:port (for example 127.0.0.1:10013)"
                ));
            }
        }
        if !workers.is_empty() && get("MESHPERF_WORKER_TOKEN").is_none() {
            errors.push("MESHPERF_WORKERS needs MESHPERF_WORKER_TOKEN, the workers' shared token".into());
        }
        if let Some(otel) = get("OTEL_CONFIG") {
            tracing::debug!(otel, "OTEL_CONFIG is accepted for Meshery compatibility and not used");
        }

        if !errors.is_empty() {
            return Err(ConfigError(errors));
        }
        Ok(Config {
            bind,
            port,
            debug,
            provider,
            adapter_urls,
            database,
            broker_url,
            home,
            allow,
            ceilings,
            max_concurrent_runs,
            run_queue,
            max_runs_per_user,
            max_body,
            synchronous,
            token_ttl,
            shutdown_grace,
            worker_token: get("MESHPERF_WORKER_TOKEN"),
            workers,
        })
    }

    /// A configuration with defaults for everything but the home (tests and embedding).
    pub fn for_home(home: impl Into<PathBuf>) -> Result<Self, ConfigError> {
        let home = home.into().display().to_string();
        Self::from_vars(|k| (k == "MESHPERF_HOME").then(|| home.clone()))
    }
}

fn push(errors: &mut Vec<String>, r: Result<(), String>) {
    if let Err(e) = r {
        errors.push(e);
    }
}

/// The default allow-list: loopback and `localhost`.
pub fn default_allow() -> AllowList {
    let mut entries = AllowList::default().entries().to_vec();
    entries.push(AllowEntry::Host("localhost".into()));
    AllowList::new(entries)
}

fn split_list(v: &str) -> Vec<String> {
    v.split([',', ' ', '\t', '\n']).map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
}

fn valid_host_port(s: &str) -> bool {
    match s.rsplit_once(':') {
        Some((host, port)) => !host.is_empty() && port.parse::<u16>().is_ok(),
        None => false,
    }
}

fn parse_into<T: std::str::FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    name: &str,
    into: &mut T,
    what: &str,
) -> Result<(), String> {
    if let Some(v) = get(name) {
        *into = v.parse().map_err(|_| format!("{name}={v:?} is not valid; give {what}"))?;
    }
    Ok(())
}

fn bool_into(get: &impl Fn(&str) -> Option<String>, name: &str, into: &mut bool) -> Result<(), String> {
    if let Some(v) = get(name) {
        *into = match v.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => true,
            "0" | "false" | "no" | "off" => false,
            _ => return Err(format!("{name}={v:?} is not a boolean; use true or false")),
        };
    }
    Ok(())
}

fn duration_into(get: &impl Fn(&str) -> Option<String>, name: &str, into: &mut Duration) -> Result<(), String> {
    if let Some(v) = get(name) {
        *into = humantime::parse_duration(&v)
            .map_err(|e| format!("{name}={v:?} is not a duration ({e}); write for example 30s, 10m or 2h"))?;
    }
    Ok(())
}

fn provider(get: &impl Fn(&str) -> Option<String>) -> Result<ProviderConfig, Vec<String>> {
    let name = get("PROVIDER").unwrap_or_else(|| "None".into());
    if name.eq_ignore_ascii_case("none") || name.eq_ignore_ascii_case("local") {
        return Ok(ProviderConfig::Local);
    }
    let mut errors = Vec::new();
    let mut base_urls = Vec::new();
    for u in get("PROVIDER_BASE_URLS").map(|v| split_list(&v)).unwrap_or_default() {
        match url::Url::parse(&u) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => base_urls.push(url),
            _ => errors.push(format!("PROVIDER_BASE_URLS has {u:?}, which is not an http(s) URL")),
        }
    }
    let keys_path = get("KEYS_PATH").map(PathBuf::from);
    if let Some(p) = &keys_path {
        if !p.is_file() {
            errors.push(format!(
                "KEYS_PATH={} is not a readable file; give the provider's JWKS or PEM public key",
                p.display()
            ));
        }
    }
    if base_urls.is_empty() && keys_path.is_none() {
        errors.push(format!(
            "PROVIDER={name:?} is a remote provider but neither PROVIDER_BASE_URLS nor KEYS_PATH says where its keys are; set one, or PROVIDER=None for the local provider"
        ));
    }
    let audience = get("MESHPERF_TOKEN_AUDIENCE").unwrap_or_else(|| "meshperf".into());
    let issuers: Vec<String> = match get("MESHPERF_TOKEN_ISSUERS") {
        Some(v) => split_list(&v),
        None => base_urls
            .iter()
            .flat_map(|u| {
                let text = u.as_str().trim_end_matches('/').to_string();
                [text.clone(), format!("{text}/")]
            })
            .collect(),
    };
    if issuers.is_empty() && errors.is_empty() {
        errors.push(
            "a remote provider's tokens are checked for their issuer: set MESHPERF_TOKEN_ISSUERS (or PROVIDER_BASE_URLS)"
                .into(),
        );
    }
    if errors.is_empty() {
        Ok(ProviderConfig::Remote { name, base_urls, keys_path, audience, issuers })
    } else {
        Err(errors)
    }
}

fn database_url(u: &str) -> Result<DatabaseUrl, String> {
    if u.starts_with("postgres://") || u.starts_with("postgresql://") {
        return url::Url::parse(u)
            .ok()
            .filter(|p| p.host_str().is_some())
            .map(|_| DatabaseUrl::Postgres(u.to_string()))
            .ok_or_else(|| "DATABASE_URL is not a valid postgres:// URL; write postgres://user@host:5432/db".into());
    }
    let path = u.strip_prefix("sqlite://").or_else(|| u.strip_prefix("sqlite:"));
    match path {
        Some(p) if !p.is_empty() && p != ":memory:" => {
            Ok(DatabaseUrl::Sqlite(PathBuf::from(p.split('?').next().unwrap_or(p))))
        }
        _ => Err(format!(
            "DATABASE_URL={:?} is neither sqlite:PATH nor postgres://...; an in-memory database would lose runs",
            u.split('@').next_back().unwrap_or(u)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_vars(|k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
    }

    #[test]
    fn defaults_follow_meshery_and_stay_on_loopback() {
        let c = cfg(&[("HOME", "/home/u")]).unwrap();
        assert_eq!(c.port, 9081);
        assert_eq!(c.bind, IpAddr::from([127, 0, 0, 1]));
        assert_eq!(c.provider, ProviderConfig::Local);
        assert_eq!(c.home, PathBuf::from("/home/u/.meshperf"));
        assert_eq!(c.database, DatabaseUrl::Sqlite(PathBuf::from("/home/u/.meshperf/meshperf.db")));
        assert!(c.allow.allows_ip("127.0.0.1".parse().unwrap()));
        assert!(!c.allow.allows_ip("10.0.0.1".parse().unwrap()));
        assert_eq!(c.synchronous, Synchronous::Full);
    }

    #[test]
    fn every_bad_value_gets_its_own_sentence() {
        let e = cfg(&[
            ("HOME", "/h"),
            ("PORT", "http"),
            ("DEBUG", "maybe"),
            ("DATABASE_URL", "mysql://x"),
            ("MESHPERF_MAX_DURATION", "forever"),
            ("MESHPERF_ALLOW_TARGETS", "10.0.0.0/99"),
            ("ADAPTER_URLS", "localhost"),
            ("BROKER_URL", "http://x"),
        ])
        .unwrap_err();
        assert_eq!(e.0.len(), 7, "{e}");
        for needle in [
            "PORT",
            "DEBUG",
            "DATABASE_URL",
            "MESHPERF_MAX_DURATION",
            "MESHPERF_ALLOW_TARGETS",
            "ADAPTER_URLS",
            "BROKER_URL",
        ] {
            assert!(e.0.iter().any(|err| err.starts_with(needle)), "{needle}: {e}");
        }
    }

    #[test]
    fn remote_provider_needs_keys() {
        let e = cfg(&[("HOME", "/h"), ("PROVIDER", "Layer5")]).unwrap_err();
        assert!(e.0[0].contains("PROVIDER_BASE_URLS"), "{e}");
        let c = cfg(&[("HOME", "/h"), ("PROVIDER", "Layer5"), ("PROVIDER_BASE_URLS", "http://127.0.0.1:1")]).unwrap();
        assert!(matches!(c.provider, ProviderConfig::Remote { .. }));
    }

    #[test]
    fn database_urls() {
        assert_eq!(database_url("sqlite:/tmp/a.db").unwrap(), DatabaseUrl::Sqlite("/tmp/a.db".into()));
        assert_eq!(database_url("sqlite:///tmp/a.db").unwrap(), DatabaseUrl::Sqlite("/tmp/a.db".into()));
        assert!(matches!(database_url("postgres://postgres@127.0.0.1:5432/test").unwrap(), DatabaseUrl::Postgres(_)));
        let e = database_url("mysql://user:secret@h/db").unwrap_err();
        assert!(!e.contains("secret"), "{e}");
    }
}
