//! Handlers that start runs (streaming server-sent events) and look at or cancel them.

use std::convert::Infallible;

use axum::extract::{Path, RawQuery, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use futures_util::Stream;
use tokio::sync::broadcast;

use super::manager::RunEvent;
use super::model::RunSpec;
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::input::{Body, Params};
use crate::providers::Identity;
use crate::store::RunRow;

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
                    let data = serde_json::to_string(&event).unwrap_or_default();
                    return Some((Ok::<_, Infallible>(Event::default().data(data)), (rx, last)));
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::debug!(skipped = n, "a slow SSE client skipped events");
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    sse_response(stream)
}

fn sse_response(stream: impl Stream<Item = Result<Event, Infallible>> + Send + 'static) -> Response {
    let mut resp = Sse::new(stream).keep_alive(KeepAlive::default()).into_response();
    resp.headers_mut().insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-cache"));
    resp.headers_mut().insert("x-accel-buffering", http::HeaderValue::from_static("no"));
    resp
}

async fn start(state: &AppState, me: &Identity, mut spec: RunSpec) -> Result<Response, ApiError> {
    spec.check_policy(&state.config).await?;
    spec.plan.connect_policy = Some(std::sync::Arc::new(state.config.allow.clone()));
    let submitted = state.runs.submit(&me.user_id, spec).await?;
    let mut resp = sse(submitted.events);
    if let Ok(v) = http::HeaderValue::from_str(&submitted.run_id) {
        resp.headers_mut().insert("x-meshperf-run-id", v);
    }
    Ok(resp)
}

/// `GET /api/user/performance/profiles/{id}/run`: runs a stored profile (query parameters
/// override its values) and streams the run's events.
pub async fn run_profile(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let profile = state.store.get_profile(&me.user_id, &id).await?.ok_or(ApiError::NotFound { what: "profile", id })?;
    let spec = RunSpec::from_query(&Params::parse(query.as_deref()), Some(&profile))?;
    start(&state, &me, spec).await
}

/// `GET|POST /api/perf/profile`: an ad-hoc run from query parameters, or from an SMP test
/// config in the body (YAML, or JSON with `Content-Type: application/json`).
pub async fn run_adhoc(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    RawQuery(query): RawQuery,
    body: Body,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    let spec = if !body.is_blank() && params.text(&["cert"]).as_deref() != Some("true") {
        let text = std::str::from_utf8(&body.bytes).map_err(|_| ApiError::invalid("(body)", "is not UTF-8 text"))?;
        RunSpec::from_smp_body(text)?
    } else {
        RunSpec::from_query(&params, None)?
    };
    start(&state, &me, spec).await
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
) -> Result<Json<serde_json::Value>, ApiError> {
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
) -> Result<Json<RunView>, ApiError> {
    let row = state.store.get_run(&me.user_id, &id).await?.ok_or(ApiError::NotFound { what: "run", id })?;
    Ok(Json(row.into()))
}

/// `GET /api/perf/runs/{id}/events`: follows a run in flight (SSE), from its next event.
pub async fn events(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    match state.runs.subscribe(&me.user_id, &id) {
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
) -> Result<Response, ApiError> {
    if state.runs.cancel(&me.user_id, &id) {
        tracing::info!(run = %id, user = %me.user_id, "run cancellation asked");
        let body = Json(serde_json::json!({ "id": id, "state": "cancelling" }));
        return Ok((http::StatusCode::ACCEPTED, body).into_response());
    }
    Err(ended_or_missing(&state, &me, id).await)
}

async fn ended_or_missing(state: &AppState, me: &Identity, id: String) -> ApiError {
    match state.store.get_run(&me.user_id, &id).await {
        Ok(Some(row)) => ApiError::Conflict(format!("run {id} has already ended ({})", row.state)),
        Ok(None) => ApiError::NotFound { what: "run", id },
        Err(e) => e.into(),
    }
}
