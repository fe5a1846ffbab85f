//! The REST door of runs: Meshery's run routes (a stored profile with query overrides, query
//! parameters alone, or an SMP body) translated into one run request and started through the
//! pipeline; events streamed as Meshery's server-sent events; runs listed, followed, cancelled.

use std::convert::Infallible;

use axum::extract::{Path, RawQuery, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use futures_util::Stream;
use loadgen::Field;
use smp::profile::TestProfile;
use smp::request::RunRequest;
use tokio::sync::broadcast;

use super::events::{Door, RunEvent};
use super::query::{self, RunQuery};
use super::registry::Placement;
use super::views::{Cancelling, RunPage, RunView, SseEvent};
use crate::error::{ErrorBody, ServiceError};
use crate::http::AppState;
use crate::http::input::{Body, PageQuery, Params, off_thread};
use crate::perf::bodies::RunBody;
use crate::perf::pipeline::Start;
use crate::perf::profiles::model::{self as profile_model, camel};
use crate::providers::Identity;

/// The 200 answer of the routes that stream a run.
const SSE_DESCRIPTION: &str = "The run's events as server-sent events until it ends: each `data:` line is an \
    `SseEvent` (JSON). `info` events step through Meshery's messages (`Initiating load test . . . `, a progress line \
    about once a second, `Load test completed, fetching metadata now`, ...); the last event is `success` with the \
    stored result, or `error`.";
/// A 400 answer of the routes that start runs.
const BAD_RUN: &str = "A parameter or body field is wrong (`field` names it), or a target host does not resolve";
/// A 403 answer of the routes that start runs.
const REFUSED: &str = "A safety rule refused the run (`rule` names the setting): the target allow-list \
    (MESHPERF_ALLOW_TARGETS) or a ceiling (rate, connections, duration, wall time)";
/// A 429 answer of the routes that start runs.
const BUSY: &str = "Every run slot is taken and the queue is full (`rule` names the setting)";

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
                    let items: Vec<Result<Event, Infallible>> = SseEvent::of(&event)
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
    let submitted = state.pipeline.start(request, name, start).await?;
    let mut resp = sse(submitted.events);
    if let Ok(v) = http::HeaderValue::from_str(&submitted.run_id) {
        resp.headers_mut().insert("x-meshperf-run-id", v);
    }
    Ok(resp)
}

/// Runs a stored profile and streams the run's events.
///
/// Query parameters override the profile's values; the ones left out keep them. The run goes
/// on if the client goes away (follow it again with `/api/perf/runs/{id}/events`). Parameters
/// Meshery's clients also send (`uuid`, `contexts`, `cert`) are ignored.
#[utoipa::path(
    get,
    path = "/api/user/performance/profiles/{id}/run",
    operation_id = "runProfile",tag = "runs",
    params(
        ("id" = String, Path, format = "uuid", description = "The profile's id"),
        ("name" = Option<String>, Query, max_length = 255, example = "smoke",
            description = "The test's name (default: the profile's)"),
        ("url" = Option<String>, Query, format = "uri", max_length = 2048, example = "http://127.0.0.1:8080/",
            description = "The one URL to send load to, replacing the profile's endpoints"),
        RunQuery
    ),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = SSE_DESCRIPTION, content_type = "text/event-stream", body = String,
            headers(("x-meshperf-run-id" = String, description = "The run's id"))),
        (status = 400, description = BAD_RUN, body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = REFUSED, body = ErrorBody),
        (status = 404, description = "The caller has no profile with this id", body = ErrorBody),
        (status = 429, description = BUSY, body = ErrorBody),
        (status = 500, description = "The store failed", body = ErrorBody),
        (status = 503, description = "The server is shutting down", body = ErrorBody),
    )
)]
pub async fn run_profile(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ServiceError> {
    let row = state.store.get_profile(&me.user_id, &id).await?.ok_or(ServiceError::NotFound { what: "profile", id })?;
    let (test, mut request) = profile_model::request(&row)?;
    let over = query::request(&Params::parse(query.as_deref()), true)?;
    let given = over.clone();
    request.overlay(over);
    let name = move |f: Field| match query::name(f).filter(|_| given.sets(f)) {
        Some(param) => param.to_string(),
        None => profile_model::field_name(&test, f),
    };
    start(&state, &me, request, name, Some(row.id.clone())).await
}

/// An ad-hoc run from query parameters; streams the run's events.
///
/// `name` and `url` are required. The run goes on if the client goes away. Parameters
/// Meshery's clients also send (`uuid`, `contexts`) are ignored. A body, if one is sent, is
/// read as with `POST`.
#[utoipa::path(
    get,
    path = "/api/perf/profile",
    operation_id = "runFromQuery",tag = "runs",
    params(
        ("name" = String, Query, min_length = 1, max_length = 255, example = "smoke", description = "The test's name"),
        ("url" = String, Query, format = "uri", max_length = 2048, example = "http://127.0.0.1:8080/",
            description = "The URL to send load to"),
        RunQuery,
        ("cert" = Option<String>, Query, example = "false",
            description = "`true`: read the query parameters even when a body is sent")
    ),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = SSE_DESCRIPTION, content_type = "text/event-stream", body = String,
            headers(("x-meshperf-run-id" = String, description = "The run's id"))),
        (status = 400, description = BAD_RUN, body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = REFUSED, body = ErrorBody),
        (status = 413, description = "The body is larger than MESHPERF_MAX_BODY", body = ErrorBody),
        (status = 429, description = BUSY, body = ErrorBody),
        (status = 500, description = "The store failed", body = ErrorBody),
        (status = 503, description = "The server is shutting down", body = ErrorBody),
    )
)]
pub async fn run_query(
    state: State<AppState>,
    me: Extension<Identity>,
    query: RawQuery,
    body: Body,
) -> Result<Response, ServiceError> {
    run_adhoc(state, me, query, body).await
}

/// An ad-hoc run from an SMP test config in the body; streams the run's events.
///
/// The body is YAML or JSON: mesheryctl's `{test, mesh}` envelope, a bare SMP test config or
/// a Meshery profile, with one client. With an empty body or `cert=true`, the query
/// parameters are read instead, as with `GET` (then `name` and `url` are required).
#[utoipa::path(
    post,
    path = "/api/perf/profile",
    operation_id = "runFromBody",tag = "runs",
    params(
        ("name" = Option<String>, Query, max_length = 255, example = "smoke",
            description = "The test's name; required when the body is empty"),
        ("url" = Option<String>, Query, format = "uri", max_length = 2048, example = "http://127.0.0.1:8080/",
            description = "The URL to send load to; required when the body is empty"),
        RunQuery,
        ("cert" = Option<String>, Query, example = "false",
            description = "`true`: read the query parameters and ignore the body")
    ),
    request_body(
        description = "The test to run (optional: without it, the query parameters describe the run)",
        content(
            (RunBody = "application/yaml", example = json!({"test": {"name": "smoke", "duration": "5s",
                "clients": [{"endpoint_urls": ["http://127.0.0.1:8080/"], "connections": 2, "rps": 10}]}, "mesh": "istio"})),
            (RunBody = "application/json")
        )
    ),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = SSE_DESCRIPTION, content_type = "text/event-stream", body = String,
            headers(("x-meshperf-run-id" = String, description = "The run's id"))),
        (status = 400, description = BAD_RUN, body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = REFUSED, body = ErrorBody),
        (status = 413, description = "The body is larger than MESHPERF_MAX_BODY", body = ErrorBody),
        (status = 429, description = BUSY, body = ErrorBody),
        (status = 500, description = "The store failed", body = ErrorBody),
        (status = 503, description = "The server is shutting down", body = ErrorBody),
    )
)]
pub async fn run_adhoc(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    RawQuery(query): RawQuery,
    body: Body,
) -> Result<Response, ServiceError> {
    let params = Params::parse(query.as_deref());
    let cert = params.text(&["cert"]).as_deref() == Some("true");
    if body.is_blank() || cert {
        let request = query::request(&params, false)?;
        let name = |f: Field| query::name(f).map_or_else(|| f.name(), String::from);
        return start(&state, &me, request, name, None).await;
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
    start(&state, &me, request, name, None).await
}

/// A profile reader's error in an SMP body, named by its path in the body.
fn smp_body_error(e: &smp::SmpError) -> ServiceError {
    profile_model::smp_error(e)
}

/// The caller's runs from every door, newest first; `search` keeps those whose name contains it.
#[utoipa::path(
    get,
    path = "/api/perf/runs",
    operation_id = "listRuns",tag = "runs",
    params(PageQuery),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "A page of runs", body = RunPage),
        (status = 400, description = "A parameter is wrong; `field` names it", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 500, description = "The store failed", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    RawQuery(query): RawQuery,
) -> Result<Json<RunPage>, ServiceError> {
    let req = crate::http::input::page_request(&Params::parse(query.as_deref()), false)?;
    let (rows, total) = state.store.list_runs(&me.user_id, &req).await?;
    let runs: Vec<RunView> = rows.into_iter().map(RunView::from).collect();
    Ok(Json(RunPage { page: req.page, page_size: req.page_size, total_count: total, runs }))
}

/// One run and its state.
#[utoipa::path(
    get,
    path = "/api/perf/runs/{id}",
    operation_id = "getRun",tag = "runs",
    params(("id" = String, Path, description = "The run's id")),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The run", body = RunView),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "The caller has no run with this id", body = ErrorBody),
        (status = 500, description = "The store failed", body = ErrorBody),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(id): Path<String>,
) -> Result<Json<RunView>, ServiceError> {
    let row = state.store.get_run(&me.user_id, &id).await?.ok_or(ServiceError::NotFound { what: "run", id })?;
    Ok(Json(row.into()))
}

/// Follows a run in flight, from its next event.
#[utoipa::path(
    get,
    path = "/api/perf/runs/{id}/events",
    operation_id = "followRun",tag = "runs",
    params(("id" = String, Path, description = "The run's id")),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = SSE_DESCRIPTION, content_type = "text/event-stream", body = String),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "The caller has no run with this id", body = ErrorBody),
        (status = 409, description = "The run has ended; read it with `GET /api/perf/runs/{id}`", body = ErrorBody),
        (status = 500, description = "The store failed", body = ErrorBody),
    )
)]
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

/// Stops a queued or running run; its partial result is stored.
#[utoipa::path(
    post,
    path = "/api/perf/runs/{id}/cancel",
    operation_id = "cancelRun",tag = "runs",
    params(("id" = String, Path, description = "The run's id")),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 202, description = "The run is stopping", body = Cancelling),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "The caller has no run with this id", body = ErrorBody),
        (status = 409, description = "The run has already ended", body = ErrorBody),
        (status = 500, description = "The store failed", body = ErrorBody),
    )
)]
pub async fn cancel(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(id): Path<String>,
) -> Result<Response, ServiceError> {
    if state.pipeline.registry.cancel(&me.user_id, &id, &format!("cancelled by {}", me.user_id)) {
        tracing::info!(run = %id, user = %me.user_id, "run cancellation asked");
        let body = Json(Cancelling { id, state: "cancelling" });
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
