//! Talking to a meshperf (or Meshery) server from the CLI: the server address and token from
//! flags or `$MESHPERF_HOME/auth.json`, JSON calls, SSE streams, output as table, JSON or YAML.

use std::path::PathBuf;

use bytes::Bytes;
use http::{Method, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;

use super::CliError;
use crate::http::client::{Call, ClientError};

/// The auth file `meshperf login` writes under the home.
pub const AUTH_FILE: &str = "auth.json";
/// The server when none is given.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:9081";

/// Where the server is and how to authenticate.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerArgs {
    /// The server's base URL.
    #[arg(long, env = "MESHPERF_SERVER", default_value = DEFAULT_SERVER, value_name = "URL", global = true)]
    pub server: String,
    /// The token to send (default: from the auth file `meshperf login` wrote).
    #[arg(long, env = "MESHPERF_TOKEN", hide_env_values = true, value_name = "JWT", global = true)]
    pub token: Option<String>,
    /// The auth file to read the token from (default `$MESHPERF_HOME/auth.json`).
    #[arg(long = "auth-file", value_name = "FILE", global = true)]
    pub auth_file: Option<PathBuf>,
}

/// Output format of list and view commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// A table for people.
    Table,
    /// JSON, as the server sent it.
    Json,
    /// YAML.
    Yaml,
}

impl Output {
    /// Reads `--format` for a listing or a view: table, json or yaml.
    pub fn parse(text: &str) -> Result<Self, CliError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "table" => Ok(Output::Table),
            "json" => Ok(Output::Json),
            "yaml" | "yml" => Ok(Output::Yaml),
            _ => Err(CliError::Usage(format!("invalid value for --format: {text:?}; use table, json or yaml"))),
        }
    }
}

/// Format names that `-o`/`--output` would take for a file name by mistake.
const FORMAT_NAMES: [&str; 10] =
    ["table", "json", "yaml", "yml", "text", "csv", "fortio", "smp-json", "smp-yaml", "hdr-log"];

/// Checks an `-o`/`--output` file name: every command names its output file with `-o` and its
/// format with `-f`, so a bare format name (`-o json`) is the old habit and is refused with the
/// fix rather than written to a file called `json`.
pub fn output_file(path: Option<PathBuf>) -> Result<Option<PathBuf>, CliError> {
    if let Some(p) = &path {
        let text = p.to_string_lossy();
        if FORMAT_NAMES.contains(&text.as_ref()) {
            return Err(CliError::Usage(format!(
                "-o/--output names the file to write; to choose the format write `-f {text}` (or `-o ./{text}` \
                 for a file of that name)"
            )));
        }
    }
    Ok(path)
}

/// meshperf's home: `MESHPERF_HOME`, or `$HOME/.meshperf`.
pub fn home() -> Result<PathBuf, CliError> {
    match (std::env::var_os("MESHPERF_HOME"), std::env::var_os("HOME")) {
        (Some(h), _) if !h.is_empty() => Ok(PathBuf::from(h)),
        (_, Some(h)) if !h.is_empty() => Ok(PathBuf::from(h).join(".meshperf")),
        _ => Err(CliError::Usage("neither MESHPERF_HOME nor HOME is set; set MESHPERF_HOME".into())),
    }
}

/// The server's base URL, checked.
pub fn base_url(server: &str) -> Result<url::Url, CliError> {
    let url = url::Url::parse(server)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        .ok_or_else(|| {
            CliError::Usage(format!("--server {server:?} is not an http(s) URL such as {DEFAULT_SERVER}"))
        })?;
    Ok(url)
}

/// A connection to a server with a token.
#[derive(Debug, Clone)]
pub struct Api {
    base: url::Url,
    token: String,
}

impl Api {
    /// The server and token of `args`: `--token`, else the auth file.
    pub fn new(args: &ServerArgs) -> Result<Api, CliError> {
        let base = base_url(&args.server)?;
        let token = match &args.token {
            Some(t) => t.clone(),
            None => {
                let path = match &args.auth_file {
                    Some(p) => p.clone(),
                    None => home()?.join(AUTH_FILE),
                };
                read_auth_file(&path)?
            }
        };
        Ok(Api { base, token })
    }

    /// `path` (with its query) on the server.
    pub fn url(&self, path: &str) -> Result<url::Url, CliError> {
        self.base.join(path).map_err(|e| CliError::Usage(format!("bad path {path:?}: {e}")))
    }

    fn call(&self, method: Method, path: &str) -> Result<Call, CliError> {
        Ok(Call::new(method, self.url(path)?).bearer(&self.token))
    }

    /// A call answering JSON.
    pub async fn json(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value, CliError> {
        let mut call = self.call(method, path)?;
        if let Some(b) = body {
            call = call.json(b);
        }
        let (status, _, bytes) = call.fetch().await.map_err(|e| unreachable_server(&self.base, &e))?;
        check(status, &bytes)?;
        serde_json::from_slice(&bytes)
            .map_err(|e| CliError::Failure(format!("the server sent JSON that does not parse: {e}")))
    }

    /// A call answering anything; returns the body.
    pub async fn bytes(&self, path: &str) -> Result<Bytes, CliError> {
        let (status, _, bytes) =
            self.call(Method::GET, path)?.fetch().await.map_err(|e| unreachable_server(&self.base, &e))?;
        check(status, &bytes)?;
        Ok(bytes)
    }

    /// Reads a server-sent-event stream, calling `on_event` with each event's JSON data until
    /// the stream ends or `on_event` returns false. `interrupt` resolving first lets the caller
    /// react (for example by cancelling the run) and the stream is read on.
    pub async fn stream(
        &self,
        path: &str,
        mut on_event: impl FnMut(Value) -> bool,
        interrupt: impl std::future::Future<Output = ()>,
        on_interrupt: impl std::future::Future<Output = ()>,
    ) -> Result<(), CliError> {
        let resp = self.call(Method::GET, path)?.send().await.map_err(|e| unreachable_server(&self.base, &e))?;
        let (parts, mut body) = resp.into_parts();
        if !parts.status.is_success() {
            let bytes = body.collect().await.map(|c| c.to_bytes()).unwrap_or_default();
            check(parts.status, &bytes)?;
            return Ok(());
        }
        let mut buffer = Vec::new();
        tokio::pin!(interrupt);
        let mut on_interrupt = Some(Box::pin(on_interrupt));
        loop {
            let frame = tokio::select! {
                f = body.frame() => f,
                () = &mut interrupt, if on_interrupt.is_some() => {
                    if let Some(f) = on_interrupt.take() {
                        f.await;
                    }
                    continue;
                }
            };
            let Some(frame) = frame else { return Ok(()) };
            let frame = frame.map_err(|e| CliError::Failure(format!("the event stream broke: {e}")))?;
            let Ok(data) = frame.into_data() else { continue };
            buffer.extend_from_slice(&data);
            while let Some(end) = find_event_end(&buffer) {
                let event: Vec<u8> = buffer.drain(..end).collect();
                for line in String::from_utf8_lossy(&event).lines() {
                    let Some(json) = line.strip_prefix("data:") else { continue };
                    if let Ok(v) = serde_json::from_str::<Value>(json.trim()) {
                        if !on_event(v) {
                            return Ok(());
                        }
                    }
                }
            }
        }
    }
}

fn find_event_end(buf: &[u8]) -> Option<usize> {
    buf.windows(2).position(|w| w == b"\n\n").map(|i| i + 2)
}

/// Reads `{"token": "..."}`.
pub fn read_auth_file(path: &std::path::Path) -> Result<String, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        CliError::Usage(format!(
            "cannot read the token from {} ({e}); run `meshperf login` or give --token",
            path.display()
        ))
    })?;
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| CliError::Usage(format!("{} is not JSON ({e}); run `meshperf login` again", path.display())))?;
    v.get("token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(String::from)
        .ok_or_else(|| CliError::Usage(format!("{} has no \"token\"; run `meshperf login` again", path.display())))
}

fn unreachable_server(base: &url::Url, e: &ClientError) -> CliError {
    CliError::Failure(format!(
        "cannot reach the server at {base} ({e}); start it with `meshperf serve` or give --server"
    ))
}

/// Maps an error status to a CLI error with the server's message.
fn check(status: StatusCode, body: &[u8]) -> Result<(), CliError> {
    if status.is_success() {
        return Ok(());
    }
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let message = v["message"]
        .as_str()
        .map(String::from)
        .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(300).collect());
    Err(match status {
        StatusCode::UNAUTHORIZED => CliError::Failure(format!("the server refused the token: {message}")),
        s if s.is_client_error() => CliError::Usage(format!("the server refused the request: {message}")),
        s => CliError::Failure(format!("the server failed ({s}): {message}")),
    })
}

/// Prints a value as JSON or YAML.
pub fn print_value(v: &Value, output: Output) {
    match output {
        Output::Yaml => print!("{}", serde_yaml::to_string(v).unwrap_or_default()),
        _ => println!("{}", serde_json::to_string_pretty(v).unwrap_or_default()),
    }
}

/// Prints rows under a header, columns padded to their widest cell.
pub fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header.iter().map(|h| h.to_string()).collect());
    for row in rows {
        line(row.clone());
    }
}

/// A JSON value as table text: strings bare, null empty.
pub fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Writes `bytes` to `path`, or to stdout.
pub fn write_out(path: Option<&std::path::Path>, bytes: &[u8]) -> Result<(), CliError> {
    use std::io::Write;
    match path {
        Some(p) => {
            std::fs::write(p, bytes).map_err(|e| CliError::Failure(format!("cannot write {}: {e}", p.display())))
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes)
                .and_then(|()| out.flush())
                .map_err(|e| CliError::Failure(format!("cannot write to stdout: {e}")))
        }
    }
}

/// A runtime for one CLI command.
pub fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Failure(format!("cannot start the async runtime: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_file_errors_say_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.json");
        assert!(read_auth_file(&path).unwrap_err().to_string().contains("meshperf login"));
        std::fs::write(&path, r#"{"token":"abc"}"#).unwrap();
        assert_eq!(read_auth_file(&path).unwrap(), "abc");
        std::fs::write(&path, r#"{"token":""}"#).unwrap();
        assert!(read_auth_file(&path).is_err());
    }

    #[test]
    fn statuses_map_to_exit_codes() {
        assert!(check(StatusCode::OK, b"").is_ok());
        let e = check(StatusCode::BAD_REQUEST, br#"{"message":"qps: bad"}"#).unwrap_err();
        assert_eq!((e.exit(), e.to_string().contains("qps: bad")), (super::super::Exit::Usage, true));
        assert_eq!(check(StatusCode::UNAUTHORIZED, b"{}").unwrap_err().exit(), super::super::Exit::Failure);
        assert_eq!(find_event_end(b"data: 1\n\ndata: 2"), Some(9));
    }
}
