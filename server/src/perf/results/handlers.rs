//! Handlers of the result routes.

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};

use super::export::export;
use super::model::ResultView;
use crate::error::ServiceError;
use crate::http::AppState;
use crate::http::input::{Params, page_request};
use crate::providers::Identity;
use crate::store::{ResultOrder, ResultRow};

async fn page(
    state: &AppState,
    me: &Identity,
    profile: Option<&str>,
    query: Option<&str>,
) -> Result<Json<serde_json::Value>, ServiceError> {
    let params = Params::parse(query);
    let req = page_request(&params, true)?;
    let order = match params.text(&["order"]) {
        None => ResultOrder::default(),
        Some(o) => o.parse::<ResultOrder>().map_err(|e| ServiceError::invalid("order", e.to_string()))?,
    };
    let page = state.store.list_results(&me.user_id, profile, &req, order).await?;
    let results: Vec<ResultView> = page.items.into_iter().map(ResultView::from_row).collect();
    Ok(Json(serde_json::json!({
        "page": req.page,
        "pageSize": req.page_size,
        "totalCount": page.total,
        "results": results,
    })))
}

/// `GET /api/user/performance/profiles/results` and `GET /api/perf/profile/result`: all the
/// caller's results, paged (`page`, `pagesize`, `search`, `order`, `from`, `to`).
pub async fn list_all(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    RawQuery(query): RawQuery,
) -> Result<Json<serde_json::Value>, ServiceError> {
    page(&state, &me, None, query.as_deref()).await
}

/// `GET /api/user/performance/profiles/{id}/results`: one profile's results, paged.
pub async fn list_for_profile(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<serde_json::Value>, ServiceError> {
    page(&state, &me, Some(&id), query.as_deref()).await
}

async fn row(state: &AppState, me: &Identity, id: String) -> Result<ResultRow, ServiceError> {
    state.store.get_result(&me.user_id, &id).await?.ok_or(ServiceError::NotFound { what: "result", id })
}

fn document(row: &ResultRow) -> Result<smp::ResultDocument, ServiceError> {
    smp::ResultDocument::from_json(&row.document).map_err(|e| ServiceError::internal(format!("result {}: {e}", row.id)))
}

/// `GET /api/user/performance/results/{id}`: one result as JSON.
pub async fn get(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(id): Path<String>,
) -> Result<Json<ResultView>, ServiceError> {
    Ok(Json(ResultView::from_row(row(&state, &me, id).await?)))
}

/// `GET /api/perf/profile/result/{id}`: one result as an SMP YAML download.
pub async fn smp_yaml(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(id): Path<String>,
) -> Result<Response, ServiceError> {
    let row = row(&state, &me, id).await?;
    download(&row, "smp-yaml")
}

/// `GET /api/user/performance/results/{id}/export?format=...`: one result in an export format.
pub async fn export_one(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ServiceError> {
    let format = Params::parse(query.as_deref()).text(&["format"]).unwrap_or_else(|| "smp-json".into());
    let row = row(&state, &me, id).await?;
    download(&row, &format)
}

fn download(row: &ResultRow, format: &str) -> Result<Response, ServiceError> {
    let out = export(&document(row)?, format)?;
    let disposition = format!("attachment; filename=\"result_{}.{}\"", row.id, out.extension);
    Ok((
        [(http::header::CONTENT_TYPE, out.content_type.to_string()), (http::header::CONTENT_DISPOSITION, disposition)],
        out.body,
    )
        .into_response())
}
