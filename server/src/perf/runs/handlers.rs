//! The REST door of runs: Meshery's run routes (a stored profile with query overrides, query
//! parameters alone, or an SMP body) translated into one run request and started through the
//! pipeline; events streamed as Meshery's server-sent events; runs listed, followed, cancelled.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use futures_util::Stream;
use loadgen::Field;
use serde::Serialize;
use smp::profile::TestProfile;
use smp::request::RunRequest;
use smp::stepped::StepRequest;
use tokio::sync::broadcast;

use super::events::{Door, EventKind, Progress, RunEvent, StepEvent, StepView};
use super::query;
use super::registry::Placement;
use super::stepped::SteppedRun;
use super::stepped_query;
use crate::error::ServiceError;
use crate::http::AppState;
use crate::http::input::{Body, Params, off_thread};
use crate::perf::pipeline::Start;
use crate::perf::profiles::model::{self as profile_model, camel};
use crate::perf::results::ResultView;
use crate::providers::Identity;
use crate::store::RunRow;

/// One server-sent event: Meshery's `{"status","message","result"}` plus meshperf's `runId`
/// and `progress`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct SseEvent {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<Arc<ResultView>>,
    run_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    progress: Option<Progress>,
    #[serde(skip_serializing_if = "Option::is_none")]
    step: Option<StepView>,
}

impl SseEvent {
    fn info(run_id: &str, message: impl Into<String>) -> Self {
        SseEvent {
            status: "info",
            message: Some(message.into()),
            result: None,
            run_id: run_id.into(),
            progress: None,
            step: None,
        }
    }
}

/// Meshery's sequence of events for one run event.
fn sse_events(event: &RunEvent) -> Vec<SseEvent> {
    let id = event.run.id.as_str();
    match &event.kind {
        EventKind::Queued => vec![SseEvent::info(id, "Initiating load test . . . ")],
        EventKind::Started { .. } => Vec::new(),
        EventKind::Progress { snapshot, .. } => {
            let p = Progress::of(snapshot);
            vec![SseEvent { progress: Some(p.clone()), ..SseEvent::info(id, p.message()) }]
        }
        EventKind::Cancelling { reason } => vec![SseEvent::info(id, format!("Cancelling the load test: {reason}"))],
        EventKind::Step(StepEvent::Started { index, rate }) => vec![SseEvent {
            step: Some(StepView::started(*index, *rate)),
            ..SseEvent::info(id, format!("Step {index}: {} req/s", smp::stepped::document::rate_text(*rate)))
        }],
        EventKind::Step(StepEvent::Finished(step)) => {
            let view = StepView::finished(step);
            vec![SseEvent { step: Some(view.clone()), ..SseEvent::info(id, view.message()) }]
        }
        EventKind::Finished(outcome) => {
            let mut out = vec![
                SseEvent::info(id, "Load test completed, fetching metadata now"),
                SseEvent::info(id, "Obtained the needed metadatas, attempting to persist the result"),
                SseEvent::info(id, "Done persisting the load test results."),
            ];
            out.push(SseEvent {
                status: "success",
                message: Some(outcome.message.clone()),
                result: outcome.stored.clone().map(|row| Arc::new(ResultView::from_row(row))),
                ..SseEvent::info(id, "")
            });
            out
        }
        EventKind::Ended { message, .. } => {
            vec![SseEvent { status: "error", message: Some(message.clone()), ..SseEvent::info(id, "") }]
        }
    }
}

/// The events of a run as an SSE stream that ends after the final event. Dropping it (the
/// client went away) does not stop the run.
fn sse(events: broadcast::Receiver<RunEvent>) -> Response {
    let stream = futures_util::stream::unfold((events, false), |(mut rx, done)| async move {
        if done {
            return None;
        }
        loop {
            match rx.recv().await {
                Ok(event) => {
                    let last = event.is_final();
                    let items: Vec<Result<Event, Infallible>> = sse_events(&event)
                        .iter()
                        .map(|e| Ok(Event::default().data(serde_json::to_string(e).unwrap_or_default())))
                        .collect();
                    if items.is_empty() {
                        continue;
                    }
                    return Some((futures_util::stream::iter(items), (rx, last)));
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::debug!(skipped = n, "a slow SSE client skipped events");
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    sse_response(futures_util::StreamExt::flatten(stream))
}

fn sse_response(stream: impl Stream<Item = Result<Event, Infallible>> + Send + 'static) -> Response {
    let mut resp = Sse::new(stream).keep_alive(KeepAlive::default()).into_response();
    resp.headers_mut().insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-cache"));
    resp.headers_mut().insert("x-accel-buffering", http::HeaderValue::from_static("no"));
    resp
}

async fn start(
    state: &AppState,
    me: &Identity,
    request: RunRequest,
    stepped: Option<StepRequest>,
    name: impl Fn(Field) -> String,
    profile_id: Option<String>,
) -> Result<Response, ServiceError> {
    let start = Start {
        owner: me.user_id.clone(),
        door: Door::Rest,
        profile_id,
        client_id: None,
        may_queue: true,
        placement: Placement::Configured,
    };
    let submitted = match stepped {
        None => state.pipeline.start(request, name, start).await?,
        Some(step) => {
            let spec = step
                .into_spec(state.pipeline.default_stepped_time())
                .map_err(|e| ServiceError::invalid(stepped_query::name(e.field), e.reason))?;
            state.pipeline.start_stepped(SteppedRun { spec, request }, name, start).await?
        }
    };
    let mut resp = sse(submitted.events);
    if let Ok(v) = http::HeaderValue::from_str(&submitted.run_id) {
        resp.headers_mut().insert("x-meshperf-run-id", v);
    }
    Ok(resp)
}

/// `GET /api/user/performance/profiles/{id}/run`: runs a stored profile (query parameters
/// override its values) and streams the run's events; with `kind=search` or `kind=sweep` it
/// runs the profile step by step ([`stepped_query`]).
pub async fn run_profile(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ServiceError> {
    let row = state.store.get_profile(&me.user_id, &id).await?.ok_or(ServiceError::NotFound { what: "profile", id })?;
    let (test, mut request) = profile_model::request(&row)?;
    let params = Params::parse(query.as_deref());
    let stepped = stepped_query::request(&params)?;
    let over = query::request(&params, true)?;
    let given = over.clone();
    request.overlay(over);
    let name = move |f: Field| match query::name(f).filter(|_| given.sets(f)) {
        Some(param) => param.to_string(),
        None => profile_model::field_name(&test, f),
    };
    start(&state, &me, request, stepped, name, Some(row.id.clone())).await
}

/// `GET|POST /api/perf/profile`: an ad-hoc run from query parameters, or from an SMP test
/// config in the body (YAML, or JSON: `{test, mesh}`, a bare config or a Meshery profile).
pub async fn run_adhoc(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    RawQuery(query): RawQuery,
    body: Body,
) -> Result<Response, ServiceError> {
    let params = Params::parse(query.as_deref());
    let stepped = stepped_query::request(&params)?;
    if body.is_blank() || params.text(&["cert"]).as_deref() == Some("true") {
        let request = query::request(&params, false)?;
        let name = |f: Field| query::name(f).map_or_else(|| f.name(), String::from);
        return start(&state, &me, request, stepped, name, None).await;
    }
    let value = body.value().await?;
    let test = off_thread(move || TestProfile::from_value(value)).await?.map_err(|e| smp_body_error(&e))?;
    let mut requests = test.requests().map_err(|e| smp_body_error(&e))?;
    if requests.len() != 1 {
        return Err(ServiceError::invalid(
            "(body)",
            format!("the config has {} clients; a run takes one client", requests.len()),
        ));
    }
    let request = requests.remove(0);
    let name = move |f: Field| camel(&test.path_of(0, f));
    start(&state, &me, request, stepped, name, None).await
}

/// A profile reader's error in an SMP body, named by its path in the body.
fn smp_body_error(e: &smp::SmpError) -> ServiceError {
    profile_model::smp_error(e)
}

/// A run as the API returns it.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunView {
    /// Id.
    pub id: String,
    /// Test name.
    pub name: String,
    /// `queued`, `running`, `completed`, `failed`, `cancelled` or `interrupted`.
    pub state: String,
    /// The door it came in through: `rest`, `grpc` or `adapter`.
    pub door: String,
    /// Why it ended as it did.
    pub message: String,
    /// The profile it ran.
    pub profile_id: Option<String>,
    /// The generator the request named.
    pub requested_generator: String,
    /// What was asked (targets, rate, connections, duration).
    pub request: serde_json::Value,
    /// Its result, once stored.
    pub result_id: Option<String>,
    /// When it was asked for.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When it started.
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When it ended.
    pub ended_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<RunRow> for RunView {
    fn from(r: RunRow) -> Self {
        RunView {
            request: serde_json::from_str(&r.request).unwrap_or(serde_json::Value::Null),
            id: r.id,
            name: r.name,
            state: r.state,
            door: r.door,
            message: r.message,
            profile_id: r.profile_id,
            requested_generator: r.requested_generator,
            result_id: r.result_id,
            created_at: r.created_at,
            started_at: r.started_at,
            ended_at: r.ended_at,
        }
    }
}

/// `GET /api/perf/runs?page&pagesize`: the caller's runs, newest first.
pub async fn list(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    RawQuery(query): RawQuery,
) -> Result<Json<serde_json::Value>, ServiceError> {
    let req = crate::http::input::page_request(&Params::parse(query.as_deref()), false)?;
    let (rows, total) = state.store.list_runs(&me.user_id, req.page_size, req.offset()).await?;
    let runs: Vec<RunView> = rows.into_iter().map(RunView::from).collect();
    Ok(Json(serde_json::json!({ "page": req.page, "pageSize": req.page_size, "totalCount": total, "runs": runs })))
}

/// `GET /api/perf/runs/{id}`: one run.
pub async fn get(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(id): Path<String>,
) -> Result<Json<RunView>, ServiceError> {
    let row = state.store.get_run(&me.user_id, &id).await?.ok_or(ServiceError::NotFound { what: "run", id })?;
    Ok(Json(row.into()))
}

/// `GET /api/perf/runs/{id}/events`: follows a run in flight (SSE), from its next event.
pub async fn events(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(id): Path<String>,
) -> Result<Response, ServiceError> {
    match state.pipeline.registry.subscribe(&me.user_id, &id) {
        Some(rx) => Ok(sse(rx)),
        None => Err(ended_or_missing(&state, &me, id).await),
    }
}

/// `POST /api/perf/runs/{id}/cancel`: stops a queued or running run; its partial result is
/// stored. 202 when asked, 409 when the run has already ended.
pub async fn cancel(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(id): Path<String>,
) -> Result<Response, ServiceError> {
    if state.pipeline.registry.cancel(&me.user_id, &id, &format!("cancelled by {}", me.user_id)) {
        tracing::info!(run = %id, user = %me.user_id, "run cancellation asked");
        let body = Json(serde_json::json!({ "id": id, "state": "cancelling" }));
        return Ok((http::StatusCode::ACCEPTED, body).into_response());
    }
    Err(ended_or_missing(&state, &me, id).await)
}

async fn ended_or_missing(state: &AppState, me: &Identity, id: String) -> ServiceError {
    match state.store.get_run(&me.user_id, &id).await {
        Ok(Some(row)) => ServiceError::Conflict(format!("run {id} has already ended ({})", row.state)),
        Ok(None) => ServiceError::NotFound { what: "run", id },
        Err(e) => e.into(),
    }
}
