//! `meshperf login`: save a token to `$MESHPERF_HOME/auth.json` (`{"token": "..."}`), where the
//! other commands find it, as mesheryctl keeps `~/.meshery/auth.json`.
//!
//! With the local provider the token is minted from the signing key the server keeps in the
//! same home: being able to read that file is what makes you the local user, so no network
//! endpoint ever hands tokens out. With a remote provider, pass the provider's token with
//! `--token`. Either way the token is checked against the server (`GET /api/user`) before it
//! is saved, unless `--no-verify`.

use std::path::Path;
use std::time::Duration;

use http::Method;

use super::api::{AUTH_FILE, Api, ServerArgs, home, runtime};
use super::{CliError, Exit};
use crate::providers::LocalProvider;

/// Arguments of `meshperf login`.
#[derive(Debug, clap::Args)]
pub struct LoginArgs {
    /// Server to check the token against, and token to save (remote providers).
    #[command(flatten)]
    pub server: ServerArgs,
    /// Lifetime of a minted local token.
    #[arg(long, default_value = "30d", value_parser = humantime::parse_duration)]
    pub ttl: Duration,
    /// Save without checking the token against the server.
    #[arg(long)]
    pub no_verify: bool,
}

/// Mints or takes the token, checks it, and writes the auth file.
pub fn execute(args: LoginArgs) -> Result<Exit, CliError> {
    let home = home()?;
    let token = match &args.server.token {
        Some(t) => t.clone(),
        None => LocalProvider::load(&home).map_err(|e| CliError::Usage(e.to_string()))?.mint(args.ttl),
    };
    if !args.no_verify {
        let server = ServerArgs { token: Some(token.clone()), ..args.server.clone() };
        let api = Api::new(&server)?;
        let who = runtime()?.block_on(api.json(Method::GET, "/api/user", None));
        match who {
            Ok(v) => eprintln!(
                "logged in as {} (provider {})",
                v["name"].as_str().unwrap_or("?"),
                v["provider"].as_str().unwrap_or("?")
            ),
            Err(e @ CliError::Failure(_)) if e.to_string().contains("cannot reach") => {
                eprintln!("warning: {e}; saving the token anyway");
            }
            Err(e) => return Err(e),
        }
    }
    let path = args.server.auth_file.unwrap_or_else(|| home.join(AUTH_FILE));
    write_auth(&path, &token)?;
    eprintln!("token saved to {}", path.display());
    Ok(Exit::Ok)
}

/// Writes `{"token": ...}` readable only by the owner (replacing any previous file atomically).
fn write_auth(path: &Path, token: &str) -> Result<(), CliError> {
    let fail = |e: std::io::Error| CliError::Failure(format!("cannot write {}: {e}", path.display()));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let body = serde_json::json!({ "token": token }).to_string();
    crate::providers::local::write_private(&tmp, body.as_bytes()).map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_auth_file_is_private_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.json");
        write_auth(&path, "one").unwrap();
        write_auth(&path, "two").unwrap();
        assert_eq!(super::super::api::read_auth_file(&path).unwrap(), "two");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
}
