//! Handlers of `/api/user/performance/profiles[/{id}]`.

use axum::extract::{Path, RawQuery, State};
use axum::{Extension, Json};

use super::model::{ProfilePage, ProfileView, into_row};
use crate::error::{ErrorBody, ServiceError};
use crate::http::AppState;
use crate::http::input::{Body, PageQuery, Params, off_thread, page_request};
use crate::perf::bodies::ProfileInput;
use crate::providers::Identity;
use crate::store::ProfileOrder;

/// The sort order of profile lists as the OpenAPI document shows it; the reader is [`list`].
#[derive(Debug, Clone, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProfileOrderQuery {
    /// A column, then `asc` or `desc` (default `desc`): `updated_at` (the default, newest
    /// first), `created_at`, `name` or `last_run`, in snake_case or camelCase.
    #[param(
        pattern = r"^\s*((updated_at|updatedAt|created_at|createdAt|name|last_run|lastRun)(\s+([aA][sS][cC]|[dD][eE][sS][cC]))?)?\s*$",
        example = "name asc"
    )]
    pub order: Option<String>,
}

/// A page of the caller's profiles, header and cookie values masked.
#[utoipa::path(
    get,
    path = "/api/user/performance/profiles",
    operation_id = "listProfiles",tag = "profiles",
    params(PageQuery, ProfileOrderQuery),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "A page of profiles", body = ProfilePage),
        (status = 400, description = "A parameter is wrong; `field` names it", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 500, description = "The store failed", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    RawQuery(query): RawQuery,
) -> Result<Json<ProfilePage>, ServiceError> {
    let params = Params::parse(query.as_deref());
    let req = page_request(&params, false)?;
    let order = match params.text(&["order"]) {
        None => ProfileOrder::default(),
        Some(o) => o.parse::<ProfileOrder>().map_err(|e| ServiceError::invalid("order", e.to_string()))?,
    };
    let page = state.store.list_profiles(&me.user_id, &req, order).await?;
    let profiles: Vec<ProfileView> = page.items.into_iter().map(|r| ProfileView::from_row(r, true)).collect();
    Ok(Json(ProfilePage { page: req.page, page_size: req.page_size, total_count: page.total, profiles }))
}

/// One profile, in full (its owner is asking).
#[utoipa::path(
    get,
    path = "/api/user/performance/profiles/{id}",
    operation_id = "getProfile",tag = "profiles",
    params(("id" = String, Path, format = "uuid", description = "The profile's id")),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The profile", body = ProfileView),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "The caller has no profile with this id", body = ErrorBody),
        (status = 500, description = "The store failed", body = ErrorBody),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(id): Path<String>,
) -> Result<Json<ProfileView>, ServiceError> {
    let row = state.store.get_profile(&me.user_id, &id).await?.ok_or(ServiceError::NotFound { what: "profile", id })?;
    Ok(Json(ProfileView::from_row(row, false)))
}

/// Creates (no `id`) or updates a profile, and returns it.
///
/// The body is a Meshery profile in either key style, as JSON (or YAML). It must run: its URLs,
/// numbers, duration and `metadata.additional_options` are checked as a run would check them.
#[utoipa::path(
    post,
    path = "/api/user/performance/profiles",
    operation_id = "saveProfile",tag = "profiles",
    request_body(
        description = "The profile (JSON; YAML is read too). Keys in snake_case or camelCase.",
        content(
            (ProfileInput = "application/json", example = json!({"name": "smoke", "endpoints": ["http://127.0.0.1:8080/"],
                "loadGenerators": ["fortio"], "concurrentRequest": 2, "qps": 10, "duration": "30s"})),
            (ProfileInput = "application/yaml")
        )
    ),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The saved profile", body = ProfileView),
        (status = 400, description = "The body is not a profile, or a field is wrong; `field` names it", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "`id` names no profile of the caller's", body = ErrorBody),
        (status = 413, description = "The body is larger than MESHPERF_MAX_BODY", body = ErrorBody),
        (status = 500, description = "The store failed", body = ErrorBody),
    )
)]
pub async fn save(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    body: Body,
) -> Result<Json<ProfileView>, ServiceError> {
    let input = body.value().await?;
    if !input.is_object() {
        return Err(ServiceError::invalid("(body)", "must be a JSON object"));
    }
    let given_id = input.get("id").and_then(|v| v.as_str()).map(str::trim).filter(|s| !s.is_empty()).map(String::from);
    let (id, existing) = match given_id.as_deref() {
        None => (uuid::Uuid::new_v4().to_string(), None),
        Some(id) => {
            let id = uuid::Uuid::parse_str(id)
                .map_err(|_| ServiceError::invalid("id", "is not a UUID; leave it out to create a profile"))?
                .to_string();
            let existing = state.store.get_profile(&me.user_id, &id).await?;
            (id, existing)
        }
    };
    // Checking that it runs may compile inline .proto text: CPU work, off the async threads.
    let (owner, row_id) = (me.user_id.clone(), id.clone());
    let row = off_thread(move || into_row(input, &owner, row_id, existing.as_ref())).await??;
    if !state.store.upsert_profile(&row).await? {
        // The id belongs to someone else: answer as if it did not exist.
        return Err(ServiceError::NotFound { what: "profile", id });
    }
    tracing::info!(profile = %id, user = %me.user_id, "profile saved");
    let saved =
        state.store.get_profile(&me.user_id, &id).await?.ok_or(ServiceError::NotFound { what: "profile", id })?;
    Ok(Json(ProfileView::from_row(saved, false)))
}

/// Deletes a profile (its results stay) and returns it, masked.
#[utoipa::path(
    delete,
    path = "/api/user/performance/profiles/{id}",
    operation_id = "deleteProfile",tag = "profiles",
    params(("id" = String, Path, format = "uuid", description = "The profile's id")),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The deleted profile, header and cookie values masked", body = ProfileView),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "The caller has no profile with this id", body = ErrorBody),
        (status = 500, description = "The store failed", body = ErrorBody),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(id): Path<String>,
) -> Result<Json<ProfileView>, ServiceError> {
    let row =
        state.store.delete_profile(&me.user_id, &id).await?.ok_or(ServiceError::NotFound { what: "profile", id })?;
    tracing::info!(profile = %row.id, user = %me.user_id, "profile deleted");
    Ok(Json(ProfileView::from_row(row, true)))
}
