//! The HTTP side of `meshperf serve`: the router factory [`app`], shared state, errors,
//! input parsing, authentication, metrics, health and the OpenAPI document.
//!
//! # Layout
//! - errors are [`crate::error::ServiceError`], the taxonomy every door answers with.
//! - [`input`]: bodies and query strings read with errors that name the field.
//! - [`auth`]: the token middleware; [`system`]: version, health, readiness, identity.
//! - [`metrics`]: Prometheus counters and `/metrics`; [`openapi`]: `/api/openapi.json`, generated from the handlers.
//! - [`client`]: a small HTTP client (the CLI, the remote provider's key fetch).
//!
//! Routes that need a token sit behind [`auth::require_token`]; `/healthz`, `/readyz`,
//! `/metrics`, `/api/system/version` and `/api/openapi.json` carry no user data and do not.

pub mod auth;
pub mod client;
pub mod input;
pub mod metrics;
pub mod openapi;
pub mod system;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use crate::config::Config;
use crate::perf::pipeline::Pipeline;
use crate::perf::{profiles, results, runs};
use crate::providers::Provider;
use crate::store::Store;

/// What every handler can reach. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The configuration.
    pub config: Arc<Config>,
    /// The store.
    pub store: Store,
    /// Checks tokens.
    pub provider: Provider,
    /// The run pipeline (policy and registry), shared with the gRPC doors.
    pub pipeline: Pipeline,
    /// Request metrics.
    pub metrics: Arc<metrics::Metrics>,
    /// Set once shutdown has begun (readiness turns 503).
    pub shutting_down: Arc<AtomicBool>,
}

/// The router: every route of the OpenAPI document ([`openapi::ApiDoc`]) with its middleware.
pub fn app(state: AppState) -> Router {
    let api = Router::new()
        .route("/api/user", get(system::user))
        .route("/api/user/performance/profiles", get(profiles::handlers::list).post(profiles::handlers::save))
        .route("/api/user/performance/profiles/results", get(results::handlers::list_all))
        .route("/api/user/performance/profiles/{id}", get(profiles::handlers::get).delete(profiles::handlers::delete))
        .route("/api/user/performance/profiles/{id}/run", get(runs::handlers::run_profile))
        .route("/api/user/performance/profiles/{id}/results", get(results::handlers::list_for_profile))
        .route("/api/user/performance/results/{id}", get(results::handlers::get))
        .route("/api/user/performance/results/{id}/export", get(results::handlers::export_one))
        .route("/api/perf/profile", get(runs::handlers::run_query).post(runs::handlers::run_adhoc))
        .route("/api/perf/profile/result", get(results::handlers::list_all_perf))
        .route("/api/perf/profile/result/{id}", get(results::handlers::smp_yaml))
        .route("/api/perf/runs", get(runs::handlers::list))
        .route("/api/perf/runs/{id}", get(runs::handlers::get))
        .route("/api/perf/runs/{id}/events", get(runs::handlers::events))
        .route("/api/perf/runs/{id}/cancel", post(runs::handlers::cancel))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), auth::require_token));
    let public = Router::new()
        .route("/healthz", get(system::healthz))
        .route("/readyz", get(system::readyz))
        .route("/metrics", get(metrics::metrics))
        .route("/api/system/version", get(system::version))
        .route("/api/openapi.json", get(openapi::serve));
    Router::new()
        .merge(api)
        .merge(public)
        .fallback(|| async { crate::error::ServiceError::NotFound { what: "route", id: "(this path)".into() } })
        .layer(DefaultBodyLimit::max(state.config.max_body))
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
        .with_state(state)
}

#[cfg(test)]
mod tests;
