//! System routes: version, health, readiness and the caller's identity.

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use http::StatusCode;

use super::AppState;
use crate::providers::Identity;

/// `GET /api/system/version`: Meshery's keys plus meshperf's.
pub async fn version() -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "build": env!("CARGO_PKG_VERSION"),
        "version": env!("CARGO_PKG_VERSION"),
        "commitsha": option_env!("MESHPERF_GIT_SHA").unwrap_or(""),
        "release_channel": "stable",
        "latest": "",
        "outdated": false,
        "name": "meshperf",
    }))
}

/// `GET /healthz`: the process is serving.
pub async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// `GET /readyz`: the store answers and the server is not shutting down.
pub async fn readyz(State(state): State<AppState>) -> Response {
    if state.shutting_down.load(Ordering::Acquire) {
        return (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({ "status": "shutting down" })))
            .into_response();
    }
    match state.store.ping().await {
        Ok(()) => Json(serde_json::json!({ "status": "ready", "store": state.store.backend() })).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: the store does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({ "status": "store unavailable" })))
                .into_response()
        }
    }
}

/// `GET /api/user`: who the token says you are.
pub async fn user(Extension(identity): Extension<Identity>) -> Json<Identity> {
    Json(identity)
}
