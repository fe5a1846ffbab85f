//! System routes: version, health, readiness and the caller's identity.

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use http::StatusCode;

use super::AppState;
use crate::error::ErrorBody;
use crate::providers::Identity;

/// The server's version, in Meshery's keys plus meshperf's `name`.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Version {
    /// The build (the crate version).
    pub build: &'static str,
    /// The crate version.
    pub version: &'static str,
    /// The git commit it was built from, when known.
    pub commitsha: &'static str,
    /// Always `stable`.
    pub release_channel: &'static str,
    /// Always empty: meshperf does not look for newer releases.
    pub latest: &'static str,
    /// Always false.
    pub outdated: bool,
    /// `meshperf`.
    pub name: &'static str,
}

/// A health or readiness answer.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok` (alive), `ready`, `shutting down` or `store unavailable`.
    pub status: &'static str,
    /// The store's backend (`sqlite`, `postgres`), when ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub store: Option<&'static str>,
}

fn health(status: &'static str) -> Json<Health> {
    Json(Health { status, store: None })
}

/// Server version (Meshery's keys).
#[utoipa::path(get, path = "/api/system/version", operation_id = "getVersion",tag = "system", responses((status = 200, body = Version)))]
pub async fn version() -> Json<Version> {
    Json(Version {
        build: env!("CARGO_PKG_VERSION"),
        version: env!("CARGO_PKG_VERSION"),
        commitsha: option_env!("MESHPERF_GIT_SHA").unwrap_or(""),
        release_channel: "stable",
        latest: "",
        outdated: false,
        name: "meshperf",
    })
}

/// Liveness: the process serves requests.
#[utoipa::path(get, path = "/healthz", operation_id = "healthz",tag = "system", responses((status = 200, description = "Alive", body = Health)))]
pub async fn healthz() -> Json<Health> {
    health("ok")
}

/// Readiness: the store answers and the server is not shutting down.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",tag = "system",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "Shutting down, or the store does not answer", body = Health),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> Response {
    if state.shutting_down.load(Ordering::Acquire) {
        return (StatusCode::SERVICE_UNAVAILABLE, health("shutting down")).into_response();
    }
    match state.store.ping().await {
        Ok(()) => Json(Health { status: "ready", store: Some(state.store.backend()) }).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: the store does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, health("store unavailable")).into_response()
        }
    }
}

/// The caller's identity, as the token says.
#[utoipa::path(
    get,
    path = "/api/user",
    operation_id = "getUser",tag = "system",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "Who the token says the caller is", body = Identity),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
pub async fn user(Extension(identity): Extension<Identity>) -> Json<Identity> {
    Json(identity)
}
