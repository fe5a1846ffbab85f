//! Turns `meshperf run` flags into a validated [`RunPlan`] and the result's metadata.

use std::collections::BTreeMap;

use bytes::Bytes;
use loadgen::{HttpVersion, Load, RateShape, RunPlan, Target, TlsOptions, parse};
use smp::profile::Overrides;

use super::CliError;
use super::run::RunArgs;

/// The plans the flags (and `--profile`) describe, validated, and the result's metadata.
/// Without a profile there is one plan; a profile gives one per client.
pub fn build(args: &RunArgs) -> Result<(Vec<RunPlan>, smp::RunMeta), CliError> {
    let o = overrides(args)?;
    let labels = parse_labels(&args.labels)?;
    if let Some(path) = &args.profile {
        let profile = smp::profile::load(path).map_err(super::export::smp_error)?;
        let plans = profile.to_plans_with(&o).map_err(super::export::smp_error)?;
        let mut meta = profile.meta();
        if let Some(name) = &args.name {
            meta.name.clone_from(name);
        }
        meta.labels.extend(labels);
        return Ok((plans, meta));
    }
    if args.urls.is_empty() {
        return Err(CliError::Usage(
            "no target URL given: pass at least one URL, e.g. `meshperf run http://127.0.0.1:8080/`, or --profile FILE"
                .into(),
        ));
    }
    let targets = args.urls.iter().map(|u| Target::get(u)).collect::<Result<Vec<_>, _>>()?;
    let mut plan = RunPlan::new(targets);
    if o.max_requests.is_some() || matches!(o.load, Some(Load::Open(RateShape::Stages(_)))) {
        plan.duration = None;
    }
    o.apply_to(&mut plan).map_err(super::export::smp_error)?;
    plan.validate()?;
    let name = args.name.clone().unwrap_or_else(|| format!("meshperf run {}", args.urls.join(" ")));
    let mut meta = smp::RunMeta::new(name);
    meta.labels = labels;
    Ok((vec![plan], meta))
}

/// What the flags given on the command line set; anything not given is left to the profile
/// or the defaults.
pub fn overrides(args: &RunArgs) -> Result<Overrides, CliError> {
    let mut o = Overrides::default();
    if args.profile.is_some() {
        o.urls.clone_from(&args.urls);
    }
    if let Some(m) = &args.method {
        o.method = Some(
            http::Method::from_bytes(m.to_ascii_uppercase().as_bytes())
                .map_err(|_| CliError::Usage(format!("invalid value for --method: {m:?} is not an HTTP method")))?,
        );
    }
    o.body = match (&args.body, &args.body_file) {
        (Some(b), _) => Some(Bytes::from(b.clone())),
        (None, Some(path)) => Some(Bytes::from(std::fs::read(path).map_err(|e| {
            CliError::Usage(format!("cannot read --body-file {}: {e}; check the path", path.display()))
        })?)),
        (None, None) => None,
    };
    for h in &args.headers {
        let (name, value) = h
            .split_once(':')
            .ok_or_else(|| CliError::Usage(format!("invalid request for --header: {h:?} is not `Name: value`")))?;
        o.headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    if let Some(ct) = &args.content_type {
        o.headers.push(("content-type".into(), ct.clone()));
    }
    if !args.cookies.is_empty() {
        if let Some(c) = args.cookies.iter().find(|c| !c.contains('=')) {
            return Err(CliError::Usage(format!("invalid value for --cookie: {c:?} is not name=value")));
        }
        o.headers.push(("cookie".into(), args.cookies.join("; ")));
    }
    o.connections = args.connections;
    o.threads = args.threads;
    o.max_requests = args.requests.as_deref().map(|n| parse::count("--requests", n)).transpose()?;
    o.duration = args.duration.as_deref().map(|d| parse::duration("--duration", d)).transpose()?;
    o.load = match (&args.rate, &args.ramp, &args.stages) {
        (Some(r), _, _) => Some(Load::Open(RateShape::Constant(parse::rate("--rate", r)?))),
        (_, Some(r), _) => Some(Load::Open(parse::ramp("--ramp", r)?)),
        (_, _, Some(s)) => Some(Load::Open(parse::stages("--stages", s)?)),
        _ => None,
    };
    o.warmup = args.warmup.as_deref().map(|d| parse::duration("--warmup", d)).transpose()?;
    o.timeout = args.timeout.as_deref().map(|d| parse::duration("--timeout", d)).transpose()?;
    if args.http2 {
        o.http = Some(HttpVersion::Http2);
    }
    o.h2_streams = args.h2_streams;
    if args.cacert.is_some() || args.cert.is_some() || args.insecure {
        o.tls = Some(TlsOptions {
            ca_cert: args.cacert.clone(),
            client_cert: args.cert.clone(),
            client_key: args.key.clone(),
            insecure: args.insecure,
        });
    }
    Ok(o)
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

    fn build(a: &RunArgs) -> Result<RunPlan, CliError> {
        super::build(a).map(|(mut plans, _)| plans.remove(0))
    }

    #[test]
    fn builds_open_and_closed_plans() {
        let p = build(&args(&["-r", "5k", "-d", "30s", "-c", "10", "http://127.0.0.1:1/"])).unwrap();
        assert_eq!(p.load, Load::Open(RateShape::Constant(5000.0)));
        assert_eq!(p.duration, Some(Duration::from_secs(30)));
        let p = build(&args(&["-n", "10k", "http://127.0.0.1:1/"])).unwrap();
        assert_eq!((p.load, p.duration, p.max_requests), (Load::Closed, None, Some(10_000)));
        let p = build(&args(&["--stages", "1s@10,2s@20", "http://127.0.0.1:1/"])).unwrap();
        assert_eq!(p.measured_duration(), Some(Duration::from_secs(3)));
        let p = build(&args(&["http://127.0.0.1:1/"])).unwrap();
        assert_eq!((p.connections, p.duration, p.load), (50, Some(Duration::from_secs(10)), Load::Closed));
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
            (vec!["ftp://x/"], "scheme"),
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
    fn labels() {
        let l = parse_labels(&["a=1".into(), "b=x=y".into()]).unwrap();
        assert_eq!(l["b"], "x=y");
        assert!(parse_labels(&["=1".into()]).is_err());
    }
}
