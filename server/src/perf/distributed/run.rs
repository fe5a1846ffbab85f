//! Running one plan over several workers: split, agree on a start instant, follow, merge.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use futures_util::future::join_all;
use loadgen::{Report, RunPlan, SecondStats, Snapshot, Stats, ValidatedPlan};
use smp::ResultDocument;
use smp::result::SeriesPoint;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::client::{self, BearerAuth, FromWorker, WorkerClient, WorkerResult};
use super::error::DistributedError;
use super::merge::ProgressMerger;
use super::report::{DistributedCancel, DistributedOptions, DistributedReport, WorkerOutcome, WorkerStatus};
use super::split::{endpoint_uri, share};
use crate::perf::grpc::{convert, proto};

/// How long a cancel call to a worker may take.
const CANCEL_TIMEOUT: Duration = Duration::from_secs(3);

/// Whether a snapshot belongs to the per-second series (as the engine builds it: what
/// finished after the window is not in the series).
fn in_series(s: &Snapshot) -> bool {
    s.in_series()
}

/// What is known about one worker while the run goes on.
#[derive(Debug)]
struct Follow {
    address: String,
    plan: RunPlan,
    received: Stats,
    series: Vec<SecondStats>,
    elapsed: Duration,
    end: Option<End>,
}

#[derive(Debug)]
enum End {
    Result(Box<WorkerResult>),
    Lost { reason: String, at: DateTime<Utc> },
}

/// Runs `plan` over `options.workers` and returns the merged result.
///
/// Every worker gets the whole rate shape with its own shard (so the rates add up exactly),
/// its part of the connections and of a request count, and one agreed start instant
/// (`start_delay` from now, as wall-clock time). `progress` is called with each merged
/// snapshot, aligned on the workers' own elapsed seconds. `cancel` stops the run on every
/// worker; the result still comes back, marked cancelled. A worker lost mid-run (its stream
/// breaks or stays silent) makes the result partial: it holds what the others measured plus
/// what the lost worker reported before it went. If any worker refuses the run, the others are
/// cancelled and the refusal is returned.
pub async fn run_distributed(
    plan: ValidatedPlan,
    options: DistributedOptions,
    cancel: DistributedCancel,
    mut progress: impl FnMut(&Snapshot),
) -> Result<DistributedReport, DistributedError> {
    if options.workers.is_empty() {
        return Err(DistributedError::NoWorkers);
    }
    let count = u32::try_from(options.workers.len()).map_err(|_| DistributedError::NoWorkers)?;
    for address in &options.workers {
        endpoint_uri(address)?;
    }
    for i in 0..count {
        share(&plan, i, count, SystemTime::now())?;
    }
    let auth = BearerAuth::new(&options.token)?;
    let clients: Vec<WorkerClient> =
        join_all(options.workers.iter().map(|a| client::connect(a, auth.clone(), options.connect_timeout)))
            .await
            .into_iter()
            .collect::<Result<_, _>>()?;

    let run_id = options.meta.id.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let start_at = SystemTime::now() + options.start_delay;
    let mut follows = Vec::with_capacity(clients.len());
    let mut requests = Vec::with_capacity(clients.len());
    for (i, address) in options.workers.iter().enumerate() {
        let part = share(&plan, i as u32, count, start_at)?;
        let mut labels: std::collections::HashMap<String, String> =
            options.meta.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        labels.insert("worker".into(), address.clone());
        requests.push(proto::RunRequest {
            run_id: format!("{run_id}-{i}"),
            plan: Some(convert::plan_to_proto(&part)),
            name: options.meta.name.clone(),
            labels,
        });
        follows.push(Follow {
            address: address.clone(),
            plan: part,
            received: Stats::new(),
            series: Vec::new(),
            elapsed: Duration::ZERO,
            end: None,
        });
    }
    let ids: Vec<String> = requests.iter().map(|r| r.run_id.clone()).collect();
    let accept_timeout = options.connect_timeout + options.start_delay;
    let started = join_all(clients.iter().zip(requests).map(|(c, req)| {
        let mut c = c.clone();
        async move {
            let mut stream = c.run(req).await?.into_inner();
            client::accepted(&mut stream, accept_timeout).await?;
            Ok::<_, tonic::Status>(stream)
        }
    }))
    .await;
    if let Some((i, status)) = started.iter().enumerate().find_map(|(i, s)| s.as_ref().err().map(|e| (i, e))) {
        let error = client::refused(&options.workers[i], status);
        cancel_all(&clients, &ids, &vec![false; clients.len()]).await;
        return Err(error);
    }

    let stall = options.stall_timeout.max(plan.timeout + Duration::from_secs(5));
    let wait = start_at.duration_since(SystemTime::now()).unwrap_or_default();
    let first_deadline = Instant::now() + wait + plan.warmup.min(Duration::from_secs(1)) + stall;
    let (tx, mut rx) = mpsc::unbounded_channel();
    for (w, stream) in started.into_iter().enumerate() {
        if let Ok(stream) = stream {
            tokio::spawn(client::follow(w, stream, first_deadline, stall, tx.clone()));
        }
    }
    drop(tx);

    let mut merger = ProgressMerger::new(follows.len());
    let mut series = Vec::new();
    let mut cancel_rx = cancel.subscribe();
    let mut cancel_sent = false;
    let mut emit = |snaps: Vec<Snapshot>, series: &mut Vec<SecondStats>| {
        for s in snaps {
            if in_series(&s) {
                series.push(SecondStats::from_snapshot(&s));
            }
            progress(&s);
        }
    };
    while follows.iter().any(|f| f.end.is_none()) {
        tokio::select! {
            msg = rx.recv() => {
                let Some((w, msg)) = msg else { break };
                let f = &mut follows[w];
                match msg {
                    FromWorker::Progress(seq, snap) => {
                        f.received.merge(&snap.interval);
                        f.elapsed = f.elapsed.max(snap.elapsed);
                        if in_series(&snap) {
                            f.series.push(SecondStats::from_snapshot(&snap));
                        }
                        emit(merger.add(w, seq, &snap), &mut series);
                    }
                    FromWorker::Result(r) => {
                        f.end = Some(End::Result(r));
                        emit(merger.retire(w), &mut series);
                    }
                    FromWorker::Lost(reason) => {
                        tracing::warn!(worker = %f.address, %reason, "worker lost; the result will be partial");
                        f.end = Some(End::Lost { reason, at: Utc::now() });
                        emit(merger.retire(w), &mut series);
                    }
                }
            }
            changed = cancel_rx.wait_for(|c| *c), if !cancel_sent => {
                cancel_sent = true;
                if changed.is_ok() {
                    let done: Vec<bool> = follows.iter().map(|f| f.end.is_some()).collect();
                    cancel_all(&clients, &ids, &done).await;
                }
            }
        }
    }
    finish(&plan, &options, start_at, follows, series)
}

/// Asks every worker not yet done to cancel its run.
async fn cancel_all(clients: &[WorkerClient], ids: &[String], done: &[bool]) {
    let calls = clients.iter().zip(ids).zip(done).filter(|(_, d)| !**d).map(|((c, id), _)| {
        let mut c = c.clone();
        let req = proto::CancelRequest { run_id: id.clone() };
        async move {
            let _ = tokio::time::timeout(CANCEL_TIMEOUT, c.cancel(req)).await;
        }
    });
    join_all(calls).await;
}

/// Builds the merged report and document from what every worker sent.
fn finish(
    plan: &RunPlan,
    options: &DistributedOptions,
    start_at: SystemTime,
    follows: Vec<Follow>,
    series: Vec<SecondStats>,
) -> Result<DistributedReport, DistributedError> {
    let mut docs = Vec::with_capacity(follows.len());
    let mut outcomes = Vec::with_capacity(follows.len());
    let mut stats = Stats::new();
    let mut lost = BTreeMap::new();
    for (i, f) in follows.into_iter().enumerate() {
        let end = f.end.unwrap_or_else(|| End::Lost { reason: "it never reported".into(), at: Utc::now() });
        let (mut doc, status, part) = match end {
            End::Result(r) => {
                let status = if r.cancelled { WorkerStatus::Cancelled } else { WorkerStatus::Finished };
                (r.doc, status, r.stats)
            }
            End::Lost { reason, at } => {
                let opened =
                    DateTime::<Utc>::from(start_at) + chrono::Duration::from_std(plan.warmup).unwrap_or_default();
                let report = Report {
                    plan: f.plan.clone(),
                    started_at: opened,
                    ended_at: at.max(opened),
                    elapsed: f.elapsed,
                    stats: f.received.clone(),
                    series: f.series,
                    planned: None,
                    cancelled: false,
                };
                let mut doc = ResultDocument::from_report(&report, &options.meta);
                doc.details.partial = true;
                lost.insert(f.address.clone(), reason.clone());
                (doc, WorkerStatus::Lost { reason }, f.received)
            }
        };
        doc.labels.insert("worker".into(), f.address.clone());
        stats.merge(&part);
        outcomes.push(WorkerOutcome {
            address: f.address,
            index: i as u32,
            status,
            requests: part.finished(),
            stats: part,
        });
        docs.push(doc);
    }
    if lost.len() == docs.len() {
        let reasons: Vec<String> = lost.iter().map(|(a, r)| format!("{a}: {r}")).collect();
        return Err(DistributedError::AllLost { reasons: reasons.join("; ") });
    }
    let mut document = smp::result::merge(&docs, &options.meta)?;
    document.details.series = series.iter().map(SeriesPoint::from).collect();
    let partial = !lost.is_empty();
    document.details.partial = partial;
    if partial {
        let names: Vec<&str> = lost.keys().map(String::as_str).collect();
        document.labels.insert("lost_workers".into(), names.join(" "));
    }
    let report = Report {
        plan: plan.clone(),
        started_at: document.start_time,
        ended_at: document.end_time,
        elapsed: Duration::from_secs_f64(document.details.duration_s.max(0.0)),
        stats,
        series,
        planned: document.details.planned,
        cancelled: document.details.cancelled,
    };
    Ok(DistributedReport { report, document, workers: outcomes, partial })
}

/// [`run_distributed`] on a runtime of its own, for callers outside any async runtime (the
/// CLI). Must not be called from inside a tokio runtime.
pub fn run_distributed_blocking(
    plan: ValidatedPlan,
    options: DistributedOptions,
    cancel: DistributedCancel,
    progress: impl FnMut(&Snapshot),
) -> Result<DistributedReport, DistributedError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("meshperf-distributed")
        .enable_all()
        .build()
        .map_err(DistributedError::Runtime)?;
    runtime.block_on(run_distributed(plan, options, cancel, progress))
}
