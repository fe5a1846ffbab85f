//! The authentication middleware: every protected route needs a token the provider accepts.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::AppState;
use crate::error::ServiceError;
use crate::providers::{AuthError, token_from_headers};

/// Verifies the request's token and puts the caller's [`Identity`](crate::providers::Identity)
/// in the request extensions; 401 otherwise.
pub async fn require_token(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, ServiceError> {
    let token = token_from_headers(req.headers()).ok_or(ServiceError::from(AuthError::Missing))?;
    match state.provider.verify(&token).await {
        Ok(identity) => {
            req.extensions_mut().insert(identity);
            Ok(next.run(req).await)
        }
        Err(e) => {
            tracing::info!(reason = %e, path = %req.uri().path(), "refused a token");
            Err(ServiceError::from(e))
        }
    }
}
