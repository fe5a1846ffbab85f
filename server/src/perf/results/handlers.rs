//! Handlers of the result routes.

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};

use super::export::export;
use super::model::{ResultPage, ResultView};
use crate::error::{ErrorBody, ServiceError};
use crate::http::AppState;
use crate::http::input::{DateQuery, PageQuery, Params, page_request};
use crate::providers::Identity;
use crate::store::{ResultOrder, ResultRow};

/// The sort order of result lists as the OpenAPI document shows it; the reader is `page`.
#[derive(Debug, Clone, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResultOrderQuery {
    /// A column, then `asc` or `desc` (default `desc`): `test_start_time` (the default, newest
    /// first), `name`, `created_at` or `updated_at`, in snake_case or camelCase.
    #[param(
        pattern = r"^\s*((test_start_time|testStartTime|name|created_at|createdAt|updated_at|updatedAt)(\s+([aA][sS][cC]|[dD][eE][sS][cC]))?)?\s*$",
        example = "test_start_time desc"
    )]
    pub order: Option<String>,
}

/// The export format as the OpenAPI document shows it; the reader is [`export_one`].
#[derive(Debug, Clone, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `smp-json` (the default), `smp-yaml`, `fortio`, `csv` or `hdr-log`, in any case.
    #[param(value_type = Option<FormatName>, inline, example = "csv")]
    pub format: Option<String>,
}

/// An export format's name, one of [`smp::export::Format::ALL`] (OpenAPI only).
#[derive(Debug, Clone, Copy)]
pub struct FormatName;

impl utoipa::PartialSchema for FormatName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(smp::export::Format::ALL.iter().map(|f| f.name())))
            .into()
    }
}

impl utoipa::ToSchema for FormatName {}

async fn page(
    state: &AppState,
    me: &Identity,
    profile: Option<&str>,
    query: Option<&str>,
) -> Result<Json<ResultPage>, ServiceError> {
    let params = Params::parse(query);
    let req = page_request(&params, true)?;
    let order = match params.text(&["order"]) {
        None => ResultOrder::default(),
        Some(o) => o.parse::<ResultOrder>().map_err(|e| ServiceError::invalid("order", e.to_string()))?,
    };
    let page = state.store.list_results(&me.user_id, profile, &req, order).await?;
    let results: Vec<ResultView> = page.items.into_iter().map(ResultView::from_row).collect();
    Ok(Json(ResultPage { page: req.page, page_size: req.page_size, total_count: page.total, results }))
}

/// All the caller's results, paged, newest first.
#[utoipa::path(
    get,
    path = "/api/user/performance/profiles/results",
    operation_id = "listResults",tag = "results",
    params(PageQuery, DateQuery, ResultOrderQuery),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "A page of results", body = ResultPage),
        (status = 400, description = "A parameter is wrong; `field` names it", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 500, description = "The store failed", body = ErrorBody),
    )
)]
pub async fn list_all(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    RawQuery(query): RawQuery,
) -> Result<Json<ResultPage>, ServiceError> {
    page(&state, &me, None, query.as_deref()).await
}

/// All the caller's results, paged (Meshery's older route).
///
/// The same as `/api/user/performance/profiles/results`.
#[utoipa::path(
    get,
    path = "/api/perf/profile/result",
    operation_id = "listResultsMeshery",tag = "results",
    params(PageQuery, DateQuery, ResultOrderQuery),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "A page of results", body = ResultPage),
        (status = 400, description = "A parameter is wrong; `field` names it", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 500, description = "The store failed", body = ErrorBody),
    )
)]
pub async fn list_all_perf(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    RawQuery(query): RawQuery,
) -> Result<Json<ResultPage>, ServiceError> {
    page(&state, &me, None, query.as_deref()).await
}

/// One profile's results, paged (none when the profile is not the caller's).
#[utoipa::path(
    get,
    path = "/api/user/performance/profiles/{id}/results",
    operation_id = "listProfileResults",tag = "results",
    params(
        ("id" = String, Path, format = "uuid", description = "The profile's id"),
        PageQuery, DateQuery, ResultOrderQuery
    ),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "A page of the profile's results", body = ResultPage),
        (status = 400, description = "A parameter is wrong; `field` names it", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such profile for this caller (a deleted profile's results stay in the list of all results)", body = ErrorBody),
        (status = 500, description = "The store failed", body = ErrorBody),
    )
)]
pub async fn list_for_profile(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<ResultPage>, ServiceError> {
    // An unknown (or deleted) profile has no results to list: say so rather than an empty page.
    if state.store.get_profile(&me.user_id, &id).await?.is_none() {
        return Err(ServiceError::NotFound { what: "profile", id });
    }
    page(&state, &me, Some(&id), query.as_deref()).await
}

async fn row(state: &AppState, me: &Identity, id: String) -> Result<ResultRow, ServiceError> {
    state.store.get_result(&me.user_id, &id).await?.ok_or(ServiceError::NotFound { what: "result", id })
}

fn document(row: &ResultRow) -> Result<smp::ResultDocument, ServiceError> {
    smp::ResultDocument::from_json(&row.document).map_err(|e| ServiceError::internal(format!("result {}: {e}", row.id)))
}

/// One result as JSON.
#[utoipa::path(
    get,
    path = "/api/user/performance/results/{id}",
    operation_id = "getResult",tag = "results",
    params(("id" = String, Path, format = "uuid", description = "The result's id (`mesheryId`)")),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The result", body = ResultView),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "The caller has no result with this id", body = ErrorBody),
        (status = 500, description = "The store failed", body = ErrorBody),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(id): Path<String>,
) -> Result<Json<ResultView>, ServiceError> {
    Ok(Json(ResultView::from_row(row(&state, &me, id).await?)))
}

/// One result as an SMP YAML download (`result_<id>.yaml`).
#[utoipa::path(
    get,
    path = "/api/perf/profile/result/{id}",
    operation_id = "getResultSmpYaml",tag = "results",
    params(("id" = String, Path, format = "uuid", description = "The result's id (`mesheryId`)")),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The SMP result document as YAML",
            headers(("content-disposition" = String, description = "`attachment; filename=\"result_<id>.yaml\"`")),
            content(("application/yaml"))),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "The caller has no result with this id", body = ErrorBody),
        (status = 500, description = "The stored result could not be read", body = ErrorBody),
    )
)]
pub async fn smp_yaml(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(id): Path<String>,
) -> Result<Response, ServiceError> {
    let row = row(&state, &me, id).await?;
    download(&row, "smp-yaml")
}

/// One result in an export format, as a download.
#[utoipa::path(
    get,
    path = "/api/user/performance/results/{id}/export",
    operation_id = "exportResult",tag = "results",
    params(("id" = String, Path, format = "uuid", description = "The result's id (`mesheryId`)"), ExportQuery),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The exported result: `smp-json` and `fortio` as JSON, `smp-yaml` as YAML, \
            `csv` as CSV (`second,requests,errors,rate,target_rate,p50_ms,p99_ms`), `hdr-log` as an HdrHistogram log",
            headers(("content-disposition" = String, description = "`attachment; filename=\"result_<id>.<extension>\"`")),
            content(("application/json"), ("application/yaml"), ("text/csv"), ("text/plain"))),
        (status = 400, description = "`format` is not one of the formats", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "The caller has no result with this id", body = ErrorBody),
        (status = 500, description = "The stored result could not be exported", body = ErrorBody),
    )
)]
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
