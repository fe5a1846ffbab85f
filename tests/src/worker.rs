//! Load workers for the distributed and adapter tests, on loopback: the library server on
//! port 0 in its own thread, or the real `meshperf worker` binary.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use server::cli::worker::WorkerConfig;
use server::policy::{AllowList, Ceilings, Policy, Token, WORKER_RULES};

/// The token the test workers use.
pub const TOKEN: &str = "test-token-0123456789";

/// A worker configuration for tests: [`TOKEN`], loopback only, default ceilings, one run at a
/// time, a 10 s shutdown grace.
pub fn config() -> WorkerConfig {
    WorkerConfig {
        token: Token::new(TOKEN).expect("token"),
        policy: Policy { allow: AllowList::default(), ceilings: Ceilings::default(), names: WORKER_RULES },
        max_runs: 1,
        grace: Duration::from_secs(10),
    }
}

/// The library worker server on 127.0.0.1:0, on its own thread and runtime; stops gracefully
/// when dropped.
pub struct InProcessWorker {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl InProcessWorker {
    /// Starts a worker with [`config`].
    pub fn start() -> Self {
        Self::with_config(config())
    }

    /// Starts a worker with `config`.
    pub fn with_config(config: WorkerConfig) -> Self {
        let (addr_tx, addr_rx) = mpsc::channel();
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
                addr_tx.send(listener.local_addr().expect("addr")).expect("send addr");
                let shutdown = async {
                    let _ = stop_rx.await;
                };
                let grace = config.grace;
                server::perf::grpc::serve(listener, config.state(), shutdown, grace).await.expect("worker serves");
            });
        });
        let addr = addr_rx.recv_timeout(Duration::from_secs(10)).expect("worker listening");
        InProcessWorker { addr, stop: Some(stop), thread: Some(thread) }
    }

    /// `host:port` for `--workers`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }
}

impl Drop for InProcessWorker {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A real `meshperf worker` process on 127.0.0.1 with a free port; killed when dropped.
pub struct WorkerProcess {
    /// Where it listens.
    pub addr: SocketAddr,
    child: Child,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl WorkerProcess {
    /// Starts `meshperf worker --listen 127.0.0.1:0 --token TOKEN EXTRA...` and waits (at most
    /// 60 s, the binary may still be building) for the line that gives its address.
    pub fn spawn(extra: &[&str]) -> Self {
        let mut child = Command::new(crate::bin::meshperf())
            .args(["worker", "--listen", "127.0.0.1:0", "--token", TOKEN])
            .args(extra)
            .env_remove("MESHPERF_WORKER_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("meshperf worker starts");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut text);
            text
        });
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("meshperf worker listening on ") {
                    let _ = tx.send(addr.trim().to_string());
                }
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(a) => a.parse().expect("a socket address"),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("meshperf worker did not start: {}", stderr.join().unwrap_or_default());
            }
        };
        WorkerProcess { addr, child, stderr: Some(stderr) }
    }

    /// `host:port` for `--workers`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the process at once (SIGKILL), as a crashed machine would vanish.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits (at most `limit`) for the exit; returns the exit code and stderr.
    pub fn terminate(mut self, limit: Duration) -> (Option<i32>, String) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let code = crate::wait_for(limit, || self.child.try_wait().ok().flatten());
        if code.is_none() {
            self.kill();
        }
        let stderr = self.stderr.take().and_then(|t| t.join().ok()).unwrap_or_default();
        (code.and_then(|c| c.code()), stderr)
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
