//! `meshperf run`'s door: flags (over `--profile` when given) as one run request, through the
//! one converter to validated plans, with errors worded in flags (`--connections`) or, for
//! values that come from the profile, in the profile's own paths.

use std::collections::BTreeMap;

use bytes::Bytes;
use loadgen::{Field, Load, RateShape, parse};
use smp::request::{GrpcRequest, PemSource, ProtoSource, RequestMeta, RunRequest, TlsRequest, ValidRun};

use super::CliError;
use super::run::RunArgs;

/// The runs the flags (and `--profile`) describe, validated. Without a profile there is one;
/// a profile gives one per client.
pub fn build(args: &RunArgs) -> Result<Vec<ValidRun>, CliError> {
    let flags = request(args)?;
    if let Some(path) = &args.profile {
        let profile = smp::profile::load(path).map_err(super::export::smp_error)?;
        let requests = profile.requests().map_err(super::export::smp_error)?;
        return requests
            .into_iter()
            .enumerate()
            .map(|(i, mut r)| {
                r.overlay(flags.clone());
                finish(r, &flags, |f| profile.path_of(i, f))
            })
            .collect();
    }
    if args.urls.is_empty() {
        return Err(CliError::Usage(
            "no target URL given: pass at least one URL, e.g. `meshperf run http://127.0.0.1:8080/`, or --profile FILE"
                .into(),
        ));
    }
    let run = finish(flags.clone(), &flags, |f| flag(f).to_string())?;
    Ok(vec![run])
}

/// Reads the TLS and `.proto` files the request names (the user's own files), fetches a gRPC
/// call's descriptors from the target's reflection service when no `.proto` is given, and
/// converts it; an error names the flag when a flag set the value, else the profile's path.
fn finish(r: RunRequest, flags: &RunRequest, profile: impl Fn(Field) -> String) -> Result<ValidRun, CliError> {
    let (_, run) = read_and_check(r, flags, profile, Clone::clone)?;
    Ok(run)
}

/// Reads the request's files and converts `probe` of it, naming a bad value as [`finish`] does.
fn read_and_check(
    mut r: RunRequest,
    flags: &RunRequest,
    profile: impl Fn(Field) -> String,
    probe: impl Fn(&RunRequest) -> RunRequest,
) -> Result<(RunRequest, ValidRun), CliError> {
    let name = |f: Field| if flags.sets(f) { flag(f).to_string() } else { profile(f) };
    r.read_files().map_err(|(f, reason)| CliError::Usage(format!("invalid value for {}: {reason}", name(f))))?;
    if r.needs_reflection() {
        r.fetch_descriptors(None).map_err(|e| match e.field {
            // Nothing named the descriptors: say where they were looked for and how to give them.
            Field::Proto => CliError::Usage(format!("{} (--proto FILE)", e.reason)),
            f => CliError::Usage(format!("invalid value for {}: {}", name(f), e.reason)),
        })?;
    }
    let run = probe(&r)
        .into_run()
        .map_err(|e| CliError::Usage(format!("invalid value for {}: {}", name(e.field), e.reason)))?;
    Ok((r, run))
}

/// The one request the flags (over `--profile`'s one client) describe, with its files read,
/// for commands that set the load themselves (`meshperf search`, `meshperf sweep`): `probe`
/// gives the request of a step, which is converted to check every value (errors named as for
/// `meshperf run`). Returns the request and the probe's validated run.
pub fn base(args: &RunArgs, probe: impl Fn(&RunRequest) -> RunRequest) -> Result<(RunRequest, ValidRun), CliError> {
    let flags = request(args)?;
    if let Some(path) = &args.profile {
        let profile = smp::profile::load(path).map_err(super::export::smp_error)?;
        let mut requests = profile.requests().map_err(super::export::smp_error)?;
        if requests.len() != 1 {
            return Err(CliError::Usage(format!(
                "{} has {} clients; a stepped run takes one: keep one client in the profile",
                path.display(),
                requests.len()
            )));
        }
        let mut r = requests.remove(0);
        r.overlay(flags.clone());
        return read_and_check(r, &flags, |f| profile.path_of(0, f), probe);
    }
    if args.urls.is_empty() {
        return Err(CliError::Usage(
            "no target URL given: pass at least one URL, e.g. http://127.0.0.1:8080/, or --profile FILE".into(),
        ));
    }
    read_and_check(flags.clone(), &flags, |f| flag(f).to_string(), probe)
}

/// The flag behind a plan field.
pub fn flag(field: Field) -> &'static str {
    match field {
        Field::Targets | Field::Url(_) => "URL",
        Field::Method => "--method",
        Field::Header => "--header",
        Field::Cookies => "--cookie",
        Field::ContentType => "--content-type",
        Field::Body => "--body",
        Field::Connections => "--connections",
        Field::Threads => "--threads",
        Field::H2Streams => "--h2-streams",
        Field::Rate => "--rate",
        Field::Ramp => "--ramp",
        Field::Stages => "--stages",
        Field::Duration => "--duration",
        Field::Requests => "--requests",
        Field::Warmup => "--warmup",
        Field::Timeout => "--timeout",
        Field::CaCert => "--cacert",
        Field::ClientCert => "--cert",
        Field::ClientKey => "--key",
        Field::Call => "--call",
        Field::Data => "--data",
        Field::Metadata => "--metadata",
        Field::Proto => "--proto",
        Field::Shard => "shard",
        Field::StartAt => "start_at",
    }
}

fn usage(field: Field, e: loadgen::ValueError) -> CliError {
    CliError::Usage(format!("invalid value for {}: {e}", flag(field)))
}

/// What the flags given on the command line set; anything not given is left to the profile
/// or the defaults.
pub fn request(args: &RunArgs) -> Result<RunRequest, CliError> {
    let method = args
        .method
        .as_ref()
        .map(|m| {
            http::Method::from_bytes(m.to_ascii_uppercase().as_bytes())
                .map_err(|_| CliError::Usage(format!("invalid value for --method: {m:?} is not an HTTP method")))
        })
        .transpose()?;
    let body = match (&args.body, &args.body_file) {
        (Some(b), _) => Some(Bytes::from(b.clone())),
        (None, Some(path)) => Some(Bytes::from(std::fs::read(path).map_err(|e| {
            CliError::Usage(format!("cannot read --body-file {}: {e}; check the path", path.display()))
        })?)),
        (None, None) => None,
    };
    let mut headers = Vec::with_capacity(args.headers.len());
    for h in &args.headers {
        let (name, value) = h
            .split_once(':')
            .ok_or_else(|| CliError::Usage(format!("invalid value for --header: {h:?} is not `Name: value`")))?;
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let mut cookies = Vec::with_capacity(args.cookies.len());
    for c in &args.cookies {
        let (name, value) = c
            .split_once('=')
            .ok_or_else(|| CliError::Usage(format!("invalid value for --cookie: {c:?} is not name=value")))?;
        cookies.push((name.trim().to_string(), value.to_string()));
    }
    let grpc = grpc_request(args)?;
    let load = match (&args.rate, &args.ramp, &args.stages) {
        (Some(r), _, _) => Some(Load::Open(RateShape::Constant(parse::rate(r).map_err(|e| usage(Field::Rate, e))?))),
        (_, Some(r), _) => Some(Load::Open(parse::ramp(r).map_err(|e| usage(Field::Ramp, e))?)),
        (_, _, Some(s)) => Some(Load::Open(parse::stages(s).map_err(|e| usage(Field::Stages, e))?)),
        _ => None,
    };
    let duration = |text: &Option<String>, field| {
        text.as_deref().map(|d| parse::duration(d).map_err(|e| usage(field, e))).transpose()
    };
    let tls = TlsRequest {
        ca_certs: args.cacert.clone().map(PemSource::File),
        client_cert: args.cert.clone().map(PemSource::File),
        client_key: args.key.clone().map(PemSource::File),
        insecure: args.insecure.then_some(true),
    };
    Ok(RunRequest {
        urls: args.urls.clone(),
        method,
        headers,
        cookies,
        body,
        content_type: args.content_type.clone(),
        connections: args.connections,
        threads: args.threads,
        load,
        duration: duration(&args.duration, Field::Duration)?,
        max_requests: args
            .requests
            .as_deref()
            .map(|n| parse::count(n).map_err(|e| usage(Field::Requests, e)))
            .transpose()?,
        warmup: duration(&args.warmup, Field::Warmup)?,
        timeout: duration(&args.timeout, Field::Timeout)?,
        http2: args.http2.then_some(true),
        h2_streams: args.h2_streams,
        tls,
        grpc,
        shard: None,
        start_at: None,
        meta: RequestMeta { name: args.name.clone(), labels: parse_labels(&args.labels)?, ..RequestMeta::default() },
    })
}

/// The gRPC call the flags describe: given when a gRPC flag is, or a URL is `grpc://` or
/// `grpcs://` (its path may name the call).
fn grpc_request(args: &RunArgs) -> Result<Option<GrpcRequest>, CliError> {
    let grpc_urls = args.urls.iter().any(|u| {
        u.split_once("://")
            .is_some_and(|(scheme, _)| loadgen::grpc::is_grpc_scheme(&scheme.trim().to_ascii_lowercase()))
    });
    let flags = args.call.is_some() || args.data.is_some() || !args.metadata.is_empty() || !args.proto.is_empty();
    if !flags && !grpc_urls {
        return Ok(None);
    }
    let mut metadata = Vec::with_capacity(args.metadata.len());
    for m in &args.metadata {
        let (name, value) = m.split_once('=').filter(|(n, _)| !n.trim().is_empty()).ok_or_else(|| {
            CliError::Usage(format!("invalid value for --metadata: {m:?} is not name=value, e.g. x-tenant=a"))
        })?;
        metadata.push((name.trim().to_string(), value.to_string()));
    }
    Ok(Some(GrpcRequest {
        call: args.call.clone(),
        data: args.data.clone(),
        metadata,
        proto: (!args.proto.is_empty())
            .then(|| ProtoSource::Files { files: args.proto.clone(), import_paths: args.import_paths.clone() }),
    }))
}

/// Parses `key=value` labels.
pub fn parse_labels(labels: &[String]) -> Result<BTreeMap<String, String>, CliError> {
    labels
        .iter()
        .map(|l| match l.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
            _ => Err(CliError::Usage(format!("invalid value for --label: {l:?} is not key=value"))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use std::time::Duration;

    fn args(line: &[&str]) -> RunArgs {
        #[derive(Parser)]
        struct W {
            #[command(flatten)]
            a: RunArgs,
        }
        W::try_parse_from(std::iter::once("run").chain(line.iter().copied())).unwrap().a
    }

    fn build(a: &RunArgs) -> Result<loadgen::ValidatedPlan, CliError> {
        super::build(a).map(|mut runs| runs.remove(0).plan)
    }

    #[test]
    fn builds_open_and_closed_plans() {
        let p = build(&args(&["-r", "5k", "-d", "30s", "-c", "10", "http://127.0.0.1:1/"])).unwrap();
        assert_eq!(p.load, Load::Open(RateShape::Constant(5000.0)));
        let missing = build(&args(&["--cacert", "/nonexistent/ca.pem", "https://127.0.0.1:1/"])).unwrap_err();
        assert!(
            missing.to_string().starts_with("invalid value for --cacert: cannot read /nonexistent/ca.pem"),
            "{missing}"
        );
        assert_eq!(p.duration, Some(Duration::from_secs(30)));
        let p = build(&args(&["-n", "10k", "http://127.0.0.1:1/"])).unwrap();
        assert_eq!((p.load.clone(), p.duration, p.max_requests), (Load::Closed, None, Some(10_000)));
        let p = build(&args(&["--stages", "1s@10,2s@20", "http://127.0.0.1:1/"])).unwrap();
        assert_eq!(p.measured_duration(), Some(Duration::from_secs(3)));
        let p = build(&args(&["http://127.0.0.1:1/"])).unwrap();
        assert_eq!((p.connections, p.duration, p.load.clone()), (50, Some(Duration::from_secs(30)), Load::Closed));
        let p = build(&args(&[
            "-m",
            "post",
            "-H",
            "X-A: 1",
            "--cookie",
            "a=1",
            "--cookie",
            "b=2",
            "-b",
            "hi",
            "--content-type",
            "text/plain",
            "http://127.0.0.1:1/",
        ]))
        .unwrap();
        let t = &p.targets[0];
        assert_eq!(t.method, http::Method::POST);
        assert_eq!(t.headers.iter().find(|(n, _)| n == "cookie").unwrap().1, "a=1; b=2");
        assert_eq!(&t.body[..], b"hi");
    }

    #[test]
    fn bad_input_is_one_sentence() {
        for (line, needle) in [
            (vec![] as Vec<&str>, "no target URL"),
            (vec!["ftp://x/"], "invalid value for URL: invalid URL \"ftp://x/\": scheme"),
            (vec!["-c", "0", "http://127.0.0.1/"], "--connections"),
            (vec!["-r", "0", "http://127.0.0.1/"], "--rate"),
            (vec!["-d", "ten", "http://127.0.0.1/"], "--duration"),
            (vec!["-H", "nocolon", "http://127.0.0.1/"], "--header"),
            (vec!["--cookie", "x", "http://127.0.0.1/"], "--cookie"),
            (vec!["-m", "B@D", "http://127.0.0.1/"], "--method"),
        ] {
            let err = build(&args(&line)).unwrap_err();
            assert!(matches!(err, CliError::Usage(_)));
            assert!(err.to_string().contains(needle), "{line:?}: {err}");
        }
    }

    #[test]
    fn grpc_flags_make_calls() {
        let p = build(&args(&["--call", "grpc.health.v1.Health/Check", "--metadata", "x-a=1", "grpc://127.0.0.1:1"]))
            .unwrap();
        assert!(p.is_grpc());
        assert_eq!((p.http, p.targets[0].url.path()), (loadgen::HttpVersion::Http2, "/grpc.health.v1.Health/Check"));
        assert_eq!(p.targets[0].headers.iter().find(|(n, _)| n == "x-a").unwrap().1, "1");
        let p = build(&args(&["grpc://127.0.0.1:1/grpc.health.v1.Health/Check"])).unwrap();
        assert_eq!(p.targets[0].method, http::Method::POST);
        for (line, needle) in [
            (vec!["--metadata", "x", "--call", "grpc.health.v1.Health/Check", "grpc://127.0.0.1:1"], "--metadata"),
            (vec!["--call", "grpc.health.v1.Health/Watch", "grpc://127.0.0.1:1"], "--call"),
            (vec!["--call", "a.B/C", "--proto", "/nonexistent/a.proto", "grpc://127.0.0.1:1"], "--proto"),
            (vec!["--call", "grpc.health.v1.Health/Check", "--data", "[1]", "grpc://127.0.0.1:1"], "--data"),
        ] {
            let err = build(&args(&line)).unwrap_err().to_string();
            assert!(err.starts_with(&format!("invalid value for {needle}")), "{line:?}: {err}");
        }
    }

    #[test]
    fn labels() {
        let l = parse_labels(&["a=1".into(), "b=x=y".into()]).unwrap();
        assert_eq!(l["b"], "x=y");
        assert!(parse_labels(&["=1".into()]).is_err());
    }
}
