//! Handlers of `/api/user/performance/profiles[/{id}]`.

use axum::extract::{Path, RawQuery, State};
use axum::{Extension, Json};

use super::model::{ProfileView, into_row};
use crate::error::ServiceError;
use crate::http::AppState;
use crate::http::input::{Body, Params, off_thread, page_request};
use crate::providers::Identity;
use crate::store::ProfileOrder;

/// `GET /api/user/performance/profiles?page&pagesize&search&order`: a page of the caller's
/// profiles, header and cookie values masked.
pub async fn list(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    RawQuery(query): RawQuery,
) -> Result<Json<serde_json::Value>, ServiceError> {
    let params = Params::parse(query.as_deref());
    let req = page_request(&params, false)?;
    let order = match params.text(&["order"]) {
        None => ProfileOrder::default(),
        Some(o) => o.parse::<ProfileOrder>().map_err(|e| ServiceError::invalid("order", e.to_string()))?,
    };
    let page = state.store.list_profiles(&me.user_id, &req, order).await?;
    let profiles: Vec<ProfileView> = page.items.into_iter().map(|r| ProfileView::from_row(r, true)).collect();
    Ok(Json(serde_json::json!({
        "page": req.page,
        "pageSize": req.page_size,
        "totalCount": page.total,
        "profiles": profiles,
    })))
}

/// `GET /api/user/performance/profiles/{id}`: one profile, in full (its owner is asking).
pub async fn get(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(id): Path<String>,
) -> Result<Json<ProfileView>, ServiceError> {
    let row = state.store.get_profile(&me.user_id, &id).await?.ok_or(ServiceError::NotFound { what: "profile", id })?;
    Ok(Json(ProfileView::from_row(row, false)))
}

/// `POST /api/user/performance/profiles`: creates (no `id`) or updates a profile; returns it.
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

/// `DELETE /api/user/performance/profiles/{id}`: deletes a profile (its results stay) and
/// returns it, masked.
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
