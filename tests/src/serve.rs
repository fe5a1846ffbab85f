//! `meshperf serve` for end-to-end tests: the real binary on a free port with a temporary
//! home, on SQLite or on a fresh PostgreSQL database, plus an HTTP client for its API and a
//! runner for the CLI commands that talk to it.
//!
//! PostgreSQL is the server on 127.0.0.1:5432 (user `postgres` or `root`, database `test`;
//! `MESHPERF_TEST_PG` overrides the admin URL). Each [`PgDatabase`] is created for one test
//! and dropped afterwards.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use http::Method;
use serde_json::Value;
use server::http::client::Call;

use crate::bin::meshperf;

/// Which store a server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `$MESHPERF_HOME/meshperf.db`.
    Sqlite,
    /// A fresh PostgreSQL database.
    Postgres,
}

/// A throwaway database on the local PostgreSQL server.
pub struct PgDatabase {
    admin: String,
    name: String,
    /// Its URL, for `DATABASE_URL`.
    pub url: String,
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime").block_on(f)
}

impl PgDatabase {
    /// Creates a database with a unique name.
    pub fn create() -> PgDatabase {
        use sqlx::Connection;
        let candidates = match std::env::var("MESHPERF_TEST_PG") {
            Ok(url) => vec![url],
            Err(_) => ["postgres", "root"].iter().map(|u| format!("postgres://{u}@127.0.0.1:5432/test")).collect(),
        };
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let name = format!("meshperf_e2e_{}_{nanos}", std::process::id());
        for admin in candidates {
            let created = block_on(async {
                let mut conn = sqlx::PgConnection::connect(&admin).await.ok()?;
                // The name is made here from numbers, never from input.
                sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.ok()
            });
            if created.is_some() {
                let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b).to_string();
                return PgDatabase { url: format!("{base}/{name}"), admin, name };
            }
        }
        panic!("PostgreSQL on 127.0.0.1:5432 is not reachable as postgres or root (set MESHPERF_TEST_PG)");
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        use sqlx::Connection;
        let (admin, name) = (self.admin.clone(), self.name.clone());
        // A thread of its own: the drop may happen inside a runtime.
        let _ = std::thread::spawn(move || {
            block_on(async {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                    let _ =
                        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn).await;
                }
            });
        })
        .join();
    }
}

/// Where a server keeps its state: a temporary home and, for PostgreSQL, a database. Survives
/// server restarts.
pub struct ServerHome {
    /// The home directory (`MESHPERF_HOME`).
    pub dir: tempfile::TempDir,
    /// The PostgreSQL database, if any.
    pub pg: Option<PgDatabase>,
    /// Extra environment for the server.
    pub env: Vec<(String, String)>,
}

impl ServerHome {
    /// A new home for `backend`.
    pub fn new(backend: Backend) -> ServerHome {
        let pg = (backend == Backend::Postgres).then(PgDatabase::create);
        ServerHome { dir: tempfile::tempdir().expect("tempdir"), pg, env: Vec::new() }
    }

    /// The home's path.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Starts `meshperf serve` on this home.
    pub fn start(&self) -> ServerProcess {
        let mut cmd = Command::new(meshperf());
        cmd.args(["serve", "--grpc-listen", "127.0.0.1:0"])
            .env("MESHPERF_HOME", self.path())
            .env("PORT", "0")
            .env("MESHPERF_SHUTDOWN_GRACE", "5s")
            .env("MESHPERF_LOG", "info")
            .env_remove("DATABASE_URL")
            .env_remove("PROVIDER")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(pg) = &self.pg {
            cmd.env("DATABASE_URL", &pg.url);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("meshperf serve starts");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let log_path = self.path().join(format!("serve-{}.log", child.id()));
        let log = log_path.clone();
        std::thread::spawn(move || {
            let mut out = std::fs::File::create(&log).ok();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(f) = out.as_mut() {
                    use std::io::Write;
                    let _ = writeln!(f, "{line}");
                }
            }
        });
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let grpc_off = self.env.iter().any(|(k, _)| k == "MESHPERF_TEST_GRPC_OFF");
        let (mut url, mut grpc) = (None, None);
        let url = loop {
            if let (Some(u), true) = (&url, grpc.is_some() || grpc_off) {
                break String::clone(u);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(u) = line.strip_prefix("meshperf server listening on ") {
                        url = Some(u.trim().to_string());
                    }
                    if let Some(a) = line.strip_prefix("meshperf perf gRPC listening on ") {
                        grpc = Some(a.trim().to_string());
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                    panic!("meshperf serve did not start:\n{log}");
                }
            }
        };
        ServerProcess { child, url, grpc, home: self.path().to_path_buf(), log: log_path }
    }

    /// Runs a CLI command against `server` with this home (for `auth.json`).
    pub fn cli(&self, server: &ServerProcess, args: &[&str]) -> Output {
        let mut child = Command::new(meshperf())
            .args(args)
            .env("MESHPERF_HOME", self.path())
            .env("MESHPERF_SERVER", &server.url)
            .env_remove("MESHPERF_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("meshperf starts");
        let deadline = Instant::now() + Duration::from_secs(120);
        while child.try_wait().expect("wait").is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("meshperf {args:?} did not finish");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        child.wait_with_output().expect("output")
    }
}

/// A running `meshperf serve`.
pub struct ServerProcess {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Where the gRPC doors listen (`127.0.0.1:PORT`).
    pub grpc: Option<String>,
    home: PathBuf,
    log: PathBuf,
}

/// A response: status and body.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The body.
    pub body: bytes::Bytes,
}

impl Reply {
    /// The body as JSON (null when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The `data:` events of an SSE body, as JSON.
    pub fn events(&self) -> Vec<Value> {
        self.text()
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .filter_map(|d| serde_json::from_str(d.trim()).ok())
            .collect()
    }
}

impl ServerProcess {
    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The shared token of the gRPC doors, as the server created it under its home.
    pub fn worker_token(&self) -> String {
        std::fs::read_to_string(self.home.join("worker-token")).expect("worker token file").trim().to_string()
    }

    /// A token for the local user, minted from the home's key (what `meshperf login` does).
    pub fn local_token(&self) -> String {
        server::providers::LocalProvider::load(&self.home).expect("local key").mint(Duration::from_secs(3600))
    }

    /// Sends a request; `token` goes in a Bearer header; waits for the whole body.
    pub fn request(&self, method: Method, path: &str, body: Option<&str>, token: Option<&str>) -> Reply {
        let url = url::Url::parse(&format!("{}{path}", self.url)).expect("url");
        let mut call = Call::new(method, url);
        if let Some(t) = token {
            call = call.bearer(t);
        }
        if let Some(b) = body {
            call.headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
            call.body = bytes::Bytes::from(b.to_string());
        }
        let (status, _, body) = block_on(async {
            tokio::time::timeout(Duration::from_secs(120), call.fetch()).await.expect("reply in time").expect("request")
        });
        Reply { status: status.as_u16(), body }
    }

    /// `GET path` with `token`, as JSON.
    pub fn get(&self, path: &str, token: &str) -> Reply {
        self.request(Method::GET, path, None, Some(token))
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        self.wait_exit(Duration::from_secs(30))
    }

    /// Kills the process with SIGKILL (a crash) and reaps it.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn wait_exit(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                return s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("meshperf serve did not exit after SIGTERM:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The URL-encoded form of `text`.
pub fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
