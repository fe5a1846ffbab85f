//! `meshperf profile list|view|apply|delete|run`: performance profiles on a server.
//!
//! Profiles are named by id or by exact name. `apply` takes a file (a Meshery profile, or an
//! SMP test config in any form `meshperf run --profile` reads) or flags, and updates the
//! profile of that name if there is one (like `kubectl apply`). `run` starts a stored profile
//! on the server and shows its progress live; Ctrl-C cancels it on the server (the partial
//! result is still stored).

use std::path::PathBuf;

use http::Method;
use serde_json::{Value, json};

use super::api::{Api, Output, ServerArgs, cell, print_table, print_value, runtime};
use super::{CliError, Exit};

/// Arguments of `meshperf profile`.
#[derive(Debug, clap::Args)]
pub struct ProfileArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: Action,
    /// Server and token.
    #[command(flatten)]
    pub server: ServerArgs,
    /// Output format: table, json or yaml.
    #[arg(short = 'f', long = "format", global = true, value_name = "FORMAT", default_value = "table")]
    pub format: String,
}

/// Profile subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// List profiles.
    List {
        /// Page, from 1.
        #[arg(short, long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
        page: u32,
        /// Only names containing this text.
        #[arg(long)]
        search: Option<String>,
        /// Sort: updated_at, created_at, name or last_run, then asc or desc.
        #[arg(long)]
        order: Option<String>,
    },
    /// Show one profile.
    View {
        /// Id or name.
        profile: String,
    },
    /// Create or update a profile from a file or flags.
    Apply(ApplyArgs),
    /// Delete a profile (its results stay).
    Delete {
        /// Id or name.
        profile: String,
    },
    /// Run a stored profile on the server with live progress.
    Run(RunArgs),
}

/// Arguments of `meshperf profile apply`.
#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// A Meshery profile or SMP test config (YAML or JSON); the flags below override it.
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Profile name (overrides the file's).
    #[arg(long)]
    pub name: Option<String>,
    /// Target URL (replaces the file's).
    #[arg(long, required_unless_present = "file")]
    pub url: Option<String>,
    /// Requests per second (0: unthrottled).
    #[arg(long)]
    pub qps: Option<u64>,
    /// Connections.
    #[arg(long = "concurrent-requests", short = 'c')]
    pub concurrent_requests: Option<u32>,
    /// Duration such as 30s.
    #[arg(long)]
    pub duration: Option<String>,
    /// Generator name recorded with results (meshperf, fortio, wrk2, nighthawk).
    #[arg(long = "load-generator")]
    pub load_generator: Option<String>,
    /// Service mesh label.
    #[arg(long)]
    pub mesh: Option<String>,
}

/// Arguments of `meshperf profile run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Id or name.
    pub profile: String,
    /// Send the load to this URL instead of the profile's.
    #[arg(long)]
    pub url: Option<String>,
    /// Override the duration (for example 10s).
    #[arg(long)]
    pub duration: Option<String>,
    /// Override the rate.
    #[arg(long)]
    pub qps: Option<f64>,
    /// Override the connections.
    #[arg(long = "concurrent-requests", short = 'c')]
    pub concurrent_requests: Option<u32>,
}

/// Runs the subcommand.
pub fn execute(args: ProfileArgs) -> Result<Exit, CliError> {
    let api = Api::new(&args.server)?;
    let output = Output::parse(&args.format)?;
    runtime()?.block_on(async move {
        match args.action {
            Action::List { page, search, order } => list(&api, page, search, order, output).await,
            Action::View { profile } => {
                let id = resolve(&api, &profile).await?;
                let p = api.json(Method::GET, &format!("/api/user/performance/profiles/{id}"), None).await?;
                show(&p, output);
                Ok(Exit::Ok)
            }
            Action::Apply(a) => apply(&api, a, output).await,
            Action::Delete { profile } => {
                let id = resolve(&api, &profile).await?;
                api.json(Method::DELETE, &format!("/api/user/performance/profiles/{id}"), None).await?;
                eprintln!("deleted profile {id}");
                Ok(Exit::Ok)
            }
            Action::Run(r) => run(&api, r, output).await,
        }
    })
}

fn query(pairs: &[(&str, String)]) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        q.append_pair(k, v);
    }
    q.finish()
}

async fn list(
    api: &Api,
    page: u32,
    search: Option<String>,
    order: Option<String>,
    output: Output,
) -> Result<Exit, CliError> {
    let mut pairs = vec![("page", (page - 1).to_string()), ("pagesize", "25".into())];
    pairs.extend(search.map(|s| ("search", s)));
    pairs.extend(order.map(|o| ("order", o)));
    let v = api.json(Method::GET, &format!("/api/user/performance/profiles?{}", query(&pairs)), None).await?;
    if output != Output::Table {
        print_value(&v, output);
        return Ok(Exit::Ok);
    }
    let rows: Vec<Vec<String>> = v["profiles"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .map(|p| {
                    vec![
                        cell(&p["name"]),
                        cell(&p["id"]),
                        cell(&p["totalResults"]),
                        cell(&p["loadGenerators"][0]),
                        cell(&p["lastRun"]),
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    print_table(&["NAME", "ID", "RESULTS", "LOAD-GENERATOR", "LAST-RUN"], &rows);
    eprintln!("page {page}, {} profile(s) in all", cell(&v["totalCount"]));
    Ok(Exit::Ok)
}

fn show(p: &Value, output: Output) {
    if output != Output::Table {
        print_value(p, output);
        return;
    }
    for (label, key) in [
        ("Name", "name"),
        ("ID", "id"),
        ("Total Results", "totalResults"),
        ("Endpoints", "endpoints"),
        ("Load Generators", "loadGenerators"),
        ("Duration", "duration"),
        ("QPS", "qps"),
        ("Concurrent Requests", "concurrentRequest"),
        ("Service Mesh", "serviceMesh"),
        ("Last Run", "lastRun"),
    ] {
        println!("{label:<20} {}", cell(&p[key]));
    }
}

/// The id of a profile given by id or exact name.
async fn resolve(api: &Api, profile: &str) -> Result<String, CliError> {
    if uuid::Uuid::parse_str(profile).is_ok() {
        return Ok(profile.to_string());
    }
    let found = find_by_name(api, profile).await?;
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(CliError::Usage(format!("no profile is named {profile:?}; see `meshperf profile list`"))),
        many => Err(CliError::Usage(format!(
            "{} profiles are named {profile:?}; give the id: {}",
            many.len(),
            many.join(", ")
        ))),
    }
}

async fn find_by_name(api: &Api, name: &str) -> Result<Vec<String>, CliError> {
    let q = query(&[("search", name.to_string()), ("pagesize", "1000".into())]);
    let v = api.json(Method::GET, &format!("/api/user/performance/profiles?{q}"), None).await?;
    Ok(v["profiles"]
        .as_array()
        .map(|ps| ps.iter().filter(|p| p["name"] == name).filter_map(|p| p["id"].as_str().map(String::from)).collect())
        .unwrap_or_default())
}

/// The profile body for a file: a Meshery profile as it is, an SMP test config converted.
fn body_from_file(path: &std::path::Path) -> Result<Value, CliError> {
    let profile = smp::profile::load(path)
        .map_err(|e| if e.is_input() { CliError::Usage(e.to_string()) } else { CliError::Failure(e.to_string()) })?;
    if profile.source == smp::profile::Source::MesheryProfile {
        let text = std::fs::read_to_string(path).map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?;
        return serde_yaml::from_str(&text).map_err(|e| CliError::Usage(format!("{}: {e}", path.display())));
    }
    let client = profile.test.clients.first().cloned().unwrap_or_default();
    let mesh = profile.mesh.as_ref().map(smp::profile::Mesh::name).unwrap_or_default();
    let generator = if client.load_generator.is_empty() { "meshperf".to_string() } else { client.load_generator };
    Ok(json!({
        "name": profile.test.name,
        "endpoints": client.endpoint_urls,
        "loadGenerators": [generator],
        "concurrentRequest": client.connections.max(1),
        "qps": client.rps,
        "duration": profile.test.duration,
        "requestHeaders": client.headers,
        "requestCookies": client.cookies,
        "requestBody": client.body,
        "contentType": client.content_type,
        "serviceMesh": mesh,
        "metadata": if client.additional_options.is_empty() { json!({}) } else { json!({"additional_options": client.additional_options}) },
    }))
}

async fn apply(api: &Api, a: ApplyArgs, output: Output) -> Result<Exit, CliError> {
    let mut body = match &a.file {
        Some(path) => body_from_file(path)?,
        None => json!({ "loadGenerators": ["meshperf"] }),
    };
    let set = |body: &mut Value, key: &str, v: Value| body[key] = v;
    if let Some(n) = a.name {
        set(&mut body, "name", json!(n));
    }
    if let Some(u) = a.url {
        set(&mut body, "endpoints", json!([u]));
    }
    if let Some(q) = a.qps {
        set(&mut body, "qps", json!(q));
    }
    if let Some(c) = a.concurrent_requests {
        set(&mut body, "concurrentRequest", json!(c));
    }
    if let Some(d) = a.duration {
        set(&mut body, "duration", json!(d));
    }
    if let Some(g) = a.load_generator {
        set(&mut body, "loadGenerators", json!([g]));
    }
    if let Some(m) = a.mesh {
        set(&mut body, "serviceMesh", json!(m));
    }
    let name = body["name"].as_str().unwrap_or_default().to_string();
    if name.is_empty() {
        return Err(CliError::Usage("the profile needs a name: give --name".into()));
    }
    if body.get("id").is_none_or(Value::is_null) {
        match find_by_name(api, &name).await?.as_slice() {
            [] => {}
            [id] => body["id"] = json!(id),
            many => {
                return Err(CliError::Usage(format!(
                    "{} profiles are named {name:?}; delete the extras first",
                    many.len()
                )));
            }
        }
    }
    let saved = api.json(Method::POST, "/api/user/performance/profiles", Some(&body)).await?;
    eprintln!("profile {name:?} saved as {}", cell(&saved["id"]));
    if output != Output::Table {
        print_value(&saved, output);
    }
    Ok(Exit::Ok)
}

async fn run(api: &Api, r: RunArgs, output: Output) -> Result<Exit, CliError> {
    let id = resolve(api, &r.profile).await?;
    let mut pairs = Vec::new();
    if let Some(u) = r.url {
        pairs.push(("url", u));
    }
    if let Some(d) = r.duration {
        pairs.push(("t", d));
    }
    if let Some(q) = r.qps {
        pairs.push(("qps", q.to_string()));
    }
    if let Some(c) = r.concurrent_requests {
        pairs.push(("c", c.to_string()));
    }
    let path = format!("/api/user/performance/profiles/{id}/run?{}", query(&pairs));
    let run_id = std::cell::RefCell::new(None::<String>);
    let mut outcome: Option<Result<Value, String>> = None;
    let cancel = async {
        let run = run_id.borrow().clone();
        if let Some(run) = run {
            eprintln!("cancelling run {run} (its partial result is kept)");
            if let Err(e) = api.json(Method::POST, &format!("/api/perf/runs/{run}/cancel"), None).await {
                eprintln!("warning: {e}");
            }
        }
    };
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    api.stream(
        &path,
        |event| {
            if let Some(r) = event["runId"].as_str() {
                run_id.borrow_mut().get_or_insert_with(|| r.to_string());
            }
            let message = event["message"].as_str().unwrap_or_default();
            match event["status"].as_str() {
                Some("success") => {
                    outcome = Some(Ok(event["result"].clone()));
                    false
                }
                Some("error") => {
                    outcome = Some(Err(message.to_string()));
                    false
                }
                _ => {
                    eprintln!("{message}");
                    true
                }
            }
        },
        interrupt,
        cancel,
    )
    .await?;
    match outcome {
        Some(Ok(result)) => {
            if output == Output::Table {
                super::result::summary(&result);
            } else {
                print_value(&result, output);
            }
            Ok(Exit::Ok)
        }
        Some(Err(message)) => Err(CliError::Failure(format!("the run failed: {message}"))),
        None => Err(CliError::Failure("the server closed the event stream before the run ended".into())),
    }
}
