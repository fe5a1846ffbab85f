//! The REST error taxonomy: one enum, one status per kind, one JSON shape.
//!
//! A user error shows its detail (`{"error": "invalid", "field": "qps", "message": "..."}`); an
//! internal error is logged once, inside the request's span, and answered with a generic
//! message so nothing about the database or the filesystem leaks.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::StatusCode;

use crate::providers::AuthError;
use crate::store::StoreError;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A field of the request is missing or wrong.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field's name or path (`endpoints[0]`, `order`, `(body)`).
        field: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// No valid token.
    #[error("{0}")]
    Unauthorized(#[from] AuthError),
    /// Nothing with that id (for this user).
    #[error("no {what} with id {id:?}")]
    NotFound {
        /// Profile, result, run.
        what: &'static str,
        /// The id asked for.
        id: String,
    },
    /// A safety rule refused the request (allow-list, ceilings).
    #[error("refused by {rule}: {detail}")]
    Refused {
        /// The rule (the setting that controls it).
        rule: &'static str,
        /// What was refused and why.
        detail: String,
    },
    /// The request conflicts with the state of what it names (a run that already ended).
    #[error("{0}")]
    Conflict(String),
    /// The body is larger than the limit.
    #[error("the request body is larger than {limit} bytes (MESHPERF_MAX_BODY)")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The run queue is full.
    #[error("the run queue is full ({queued} waiting, MESHPERF_RUN_QUEUE); try again when a run has finished")]
    Busy {
        /// Runs waiting.
        queued: usize,
    },
    /// The server is shutting down.
    #[error("the server is shutting down")]
    ShuttingDown,
    /// Something failed inside the server; the detail goes to the log only.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// Shorthand for [`ApiError::Invalid`].
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ApiError::Invalid { field: field.into(), reason: reason.into() }
    }

    /// Shorthand for [`ApiError::Internal`].
    pub fn internal(e: impl std::fmt::Display) -> Self {
        ApiError::Internal(e.to_string())
    }

    /// The HTTP status for this error.
    pub fn http_status_code(&self) -> StatusCode {
        match self {
            ApiError::Invalid { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::Refused { .. } => StatusCode::FORBIDDEN,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Busy { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Invalid { .. } => "invalid",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::NotFound { .. } => "not_found",
            ApiError::Refused { .. } => "refused",
            ApiError::Conflict(_) => "conflict",
            ApiError::TooLarge { .. } => "too_large",
            ApiError::Busy { .. } => "busy",
            ApiError::ShuttingDown => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    /// The message shown to the client: the detail, except for internal errors.
    pub fn public_message(&self) -> String {
        match self {
            ApiError::Internal(_) => "internal error; the server's log has the details".into(),
            other => other.to_string(),
        }
    }

    /// Logs internal errors (once, where they are turned into a response).
    pub fn log(&self) {
        if let ApiError::Internal(detail) = self {
            tracing::error!(error = %detail, "request failed");
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.log();
        let mut body = serde_json::json!({ "error": self.code(), "message": self.public_message() });
        if let ApiError::Invalid { field, .. } = &self {
            body["field"] = serde_json::Value::String(field.clone());
        }
        if let ApiError::Refused { rule, .. } = &self {
            body["rule"] = serde_json::Value::String((*rule).to_string());
        }
        let mut resp = (self.http_status_code(), Json(body)).into_response();
        if matches!(self, ApiError::Unauthorized(_)) {
            resp.headers_mut().insert(http::header::WWW_AUTHENTICATE, http::HeaderValue::from_static("Bearer"));
        }
        resp
    }
}
