//! Turns `meshperf run` flags into a validated [`RunPlan`] and the result's metadata.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use loadgen::{HttpVersion, Load, RateShape, RunPlan, Target, TlsOptions, parse};

use super::CliError;
use super::run::RunArgs;

/// The plan the flags describe, validated.
pub fn build(args: &RunArgs) -> Result<RunPlan, CliError> {
    if args.urls.is_empty() {
        return Err(CliError::Usage(
            "no target URL given: pass at least one URL, e.g. `meshperf run http://127.0.0.1:8080/`".into(),
        ));
    }
    let method = http::Method::from_bytes(args.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| CliError::Usage(format!("invalid value for --method: {:?} is not an HTTP method", args.method)))?;
    let body = match (&args.body, &args.body_file) {
        (Some(b), _) => Bytes::from(b.clone()),
        (None, Some(path)) => Bytes::from(std::fs::read(path).map_err(|e| {
            CliError::Usage(format!("cannot read --body-file {}: {e}; check the path", path.display()))
        })?),
        (None, None) => Bytes::new(),
    };
    let mut targets = Vec::with_capacity(args.urls.len());
    for url in &args.urls {
        let mut t = Target::get(url)?;
        t.method = method.clone();
        t.body = body.clone();
        for h in &args.headers {
            t.add_header_line(h)?;
        }
        if let Some(ct) = &args.content_type {
            t.add_header("content-type", ct)?;
        }
        if !args.cookies.is_empty() {
            for c in &args.cookies {
                if !c.contains('=') {
                    return Err(CliError::Usage(format!("invalid value for --cookie: {c:?} is not name=value")));
                }
            }
            t.add_header("cookie", &args.cookies.join("; "))?;
        }
        targets.push(t);
    }
    let mut plan = RunPlan::new(targets);
    plan.connections = args.connections;
    if let Some(t) = args.threads {
        plan.threads = t;
    }
    plan.max_requests = args.requests.as_deref().map(|n| parse::count("--requests", n)).transpose()?;
    plan.duration = match (&args.duration, plan.max_requests, &args.stages) {
        (Some(d), _, _) => Some(parse::duration("--duration", d)?),
        (None, Some(_), _) | (None, None, Some(_)) => None,
        (None, None, None) => Some(Duration::from_secs(10)),
    };
    plan.load = match (&args.rate, &args.ramp, &args.stages) {
        (Some(r), _, _) => Load::Open(RateShape::Constant(parse::rate("--rate", r)?)),
        (_, Some(r), _) => Load::Open(parse::ramp("--ramp", r)?),
        (_, _, Some(s)) => Load::Open(parse::stages("--stages", s)?),
        _ => Load::Closed,
    };
    plan.warmup = parse::duration("--warmup", &args.warmup)?;
    plan.timeout = parse::duration("--timeout", &args.timeout)?;
    if args.http2 {
        plan.http = HttpVersion::Http2;
    }
    plan.h2_streams = args.h2_streams;
    plan.tls = TlsOptions {
        ca_cert: args.cacert.clone(),
        client_cert: args.cert.clone(),
        client_key: args.key.clone(),
        insecure: args.insecure,
    };
    plan.validate()?;
    Ok(plan)
}

/// The name and labels the result carries.
pub fn meta(args: &RunArgs) -> Result<smp::result::RunMeta, CliError> {
    let name = args.name.clone().unwrap_or_else(|| format!("meshperf run {}", args.urls.join(" ")));
    let mut meta = smp::result::RunMeta::new(name);
    meta.labels = parse_labels(&args.labels)?;
    Ok(meta)
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

    fn args(line: &[&str]) -> RunArgs {
        #[derive(Parser)]
        struct W {
            #[command(flatten)]
            a: RunArgs,
        }
        W::try_parse_from(std::iter::once("run").chain(line.iter().copied())).unwrap().a
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
        let p = build(&args(&[
            "-m", "post", "-H", "X-A: 1", "--cookie", "a=1", "--cookie", "b=2", "-b", "hi", "--content-type",
            "text/plain", "http://127.0.0.1:1/",
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
