//! The one error taxonomy of every door: REST, the perf gRPC service, Meshery's adapter (and
//! next GraphQL). A [`ServiceError`] has an [`ErrorCode`], which has one HTTP status and one
//! gRPC status, as quickwit's `ServiceErrorCode` does; a user error shows its sentence, an
//! internal one is logged once where it is answered and shown as a generic message.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use tonic::Code;

/// The kind of a failure, with its HTTP and gRPC statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// A field of the request is missing or wrong.
    Invalid,
    /// No valid credential.
    Unauthenticated,
    /// A safety rule refused the request: the target allow-list or a ceiling.
    Refused,
    /// Nothing with that id (for this caller).
    NotFound,
    /// The request conflicts with the state of what it names.
    Conflict,
    /// The request is larger than accepted.
    TooLarge,
    /// No capacity now: every run slot is taken and the queue is full (or no queueing).
    Busy,
    /// A target's host name does not resolve, so the allow-list cannot judge it.
    Unresolvable,
    /// Shutting down.
    Unavailable,
    /// Not something meshperf does.
    Unsupported,
    /// A failure inside the server.
    Internal,
}

impl ErrorCode {
    /// Every code, in declaration order (the OpenAPI document lists their names).
    pub const ALL: [ErrorCode; 11] = [
        ErrorCode::Invalid,
        ErrorCode::Unauthenticated,
        ErrorCode::Refused,
        ErrorCode::NotFound,
        ErrorCode::Conflict,
        ErrorCode::TooLarge,
        ErrorCode::Busy,
        ErrorCode::Unresolvable,
        ErrorCode::Unavailable,
        ErrorCode::Unsupported,
        ErrorCode::Internal,
    ];

    /// The stable name clients may match on (`"invalid"`, `"refused"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Invalid => "invalid",
            ErrorCode::Unauthenticated => "unauthorized",
            ErrorCode::Refused => "refused",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::Busy => "busy",
            ErrorCode::Unresolvable => "unresolvable",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Unsupported => "unsupported",
            ErrorCode::Internal => "internal",
        }
    }

    /// The HTTP status.
    pub fn http_status(self) -> StatusCode {
        match self {
            ErrorCode::Invalid | ErrorCode::Unresolvable => StatusCode::BAD_REQUEST,
            ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
            ErrorCode::Refused => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::Busy => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Unsupported => StatusCode::NOT_IMPLEMENTED,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The gRPC status code.
    pub fn grpc_code(self) -> Code {
        match self {
            ErrorCode::Invalid => Code::InvalidArgument,
            ErrorCode::Unauthenticated => Code::Unauthenticated,
            ErrorCode::Refused => Code::PermissionDenied,
            ErrorCode::NotFound => Code::NotFound,
            ErrorCode::Conflict | ErrorCode::Unresolvable => Code::FailedPrecondition,
            ErrorCode::TooLarge | ErrorCode::Busy => Code::ResourceExhausted,
            ErrorCode::Unavailable => Code::Unavailable,
            ErrorCode::Unsupported => Code::Unimplemented,
            ErrorCode::Internal => Code::Internal,
        }
    }
}

/// Why a call failed. Messages name the field or the rule, and the fix.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ServiceError {
    /// A field of the request is missing or wrong, named the way the door's caller names it
    /// (`c`, `concurrentRequest`, `plan.connections`, `custom_body.clients[0].rps`).
    #[error("{field}: {reason}")]
    Invalid {
        /// The field's name or path.
        field: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// No valid credential; the message says which to send.
    #[error("{0}")]
    Unauthenticated(String),
    /// A safety rule refused the request.
    #[error("refused by {rule}: {detail}")]
    Refused {
        /// The setting that controls the rule (`MESHPERF_MAX_QPS`, `--max-rate`, ...).
        rule: &'static str,
        /// What was refused and why.
        detail: String,
    },
    /// Nothing with that id for this caller.
    #[error("no {what} with id {id:?}")]
    NotFound {
        /// Profile, result, run.
        what: &'static str,
        /// The id asked for.
        id: String,
    },
    /// The request conflicts with the state of what it names.
    #[error("{0}")]
    Conflict(String),
    /// The request is larger than accepted.
    #[error("{what} is larger than {limit} bytes ({rule})")]
    TooLarge {
        /// What was too large (`the request body`, `custom_body`).
        what: String,
        /// The limit in bytes.
        limit: usize,
        /// The setting that controls it.
        rule: &'static str,
    },
    /// No capacity now.
    #[error("{detail} ({rule}); try again when a run has finished")]
    Busy {
        /// The setting that controls it.
        rule: &'static str,
        /// What is full.
        detail: String,
    },
    /// A target's host name does not resolve.
    #[error("target host {host:?} could not be resolved ({reason}); the allow-list is checked on resolved addresses")]
    Unresolvable {
        /// The host name.
        host: String,
        /// The resolver's error.
        reason: String,
    },
    /// Shutting down; new runs go elsewhere.
    #[error("shutting down and taking no new runs")]
    ShuttingDown,
    /// Not something meshperf does.
    #[error("{0}")]
    Unsupported(String),
    /// Something failed inside; the detail goes to the log only.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    /// Shorthand for [`ServiceError::Invalid`].
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ServiceError::Invalid { field: field.into(), reason: reason.into() }
    }

    /// Shorthand for [`ServiceError::Internal`].
    pub fn internal(e: impl std::fmt::Display) -> Self {
        ServiceError::Internal(e.to_string())
    }

    /// The kind.
    pub fn code(&self) -> ErrorCode {
        match self {
            ServiceError::Invalid { .. } => ErrorCode::Invalid,
            ServiceError::Unauthenticated(_) => ErrorCode::Unauthenticated,
            ServiceError::Refused { .. } => ErrorCode::Refused,
            ServiceError::NotFound { .. } => ErrorCode::NotFound,
            ServiceError::Conflict(_) => ErrorCode::Conflict,
            ServiceError::TooLarge { .. } => ErrorCode::TooLarge,
            ServiceError::Busy { .. } => ErrorCode::Busy,
            ServiceError::Unresolvable { .. } => ErrorCode::Unresolvable,
            ServiceError::ShuttingDown => ErrorCode::Unavailable,
            ServiceError::Unsupported(_) => ErrorCode::Unsupported,
            ServiceError::Internal(_) => ErrorCode::Internal,
        }
    }

    /// The message shown to the caller: the sentence, except for internal errors.
    pub fn public_message(&self) -> String {
        match self {
            ServiceError::Internal(_) => "internal error; the server's log has the details".into(),
            other => other.to_string(),
        }
    }

    /// Logs an internal error (once, where it is turned into an answer).
    pub fn log(&self) {
        if let ServiceError::Internal(detail) = self {
            tracing::error!(error = %detail, "call failed");
        }
    }
}

impl From<crate::store::StoreError> for ServiceError {
    fn from(e: crate::store::StoreError) -> Self {
        ServiceError::Internal(e.to_string())
    }
}

impl From<crate::providers::AuthError> for ServiceError {
    fn from(e: crate::providers::AuthError) -> Self {
        ServiceError::Unauthenticated(e.to_string())
    }
}

/// The JSON body of every REST error answer.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[schema(example = json!({"error": "invalid", "message": "c: \"lots\" is not a number of connections", "field": "c"}))]
pub struct ErrorBody {
    /// The [`ErrorCode`] name clients may match on.
    #[schema(schema_with = error_code_schema)]
    pub error: &'static str,
    /// The sentence: what is wrong and how to fix it (generic for internal errors).
    pub message: String,
    /// The field that was refused, named as this door names it (`c`, `concurrentRequest`,
    /// `test.clients[0].rps`, `(body)`), for `invalid` errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub field: Option<String>,
    /// The setting behind the rule that refused the request (`MESHPERF_MAX_QPS`,
    /// `MESHPERF_ALLOW_TARGETS`, `MESHPERF_RUN_QUEUE`), for `refused` and `busy` errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub rule: Option<String>,
}

fn error_code_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(ErrorCode::ALL.iter().map(|c| c.as_str())))
        .description(Some("The kind of failure; each kind has one HTTP status."))
        .build()
}

impl ServiceError {
    /// The body a REST caller receives.
    pub fn body(&self) -> ErrorBody {
        let (field, rule) = match self {
            ServiceError::Invalid { field, .. } => (Some(field.clone()), None),
            ServiceError::Refused { rule, .. } | ServiceError::Busy { rule, .. } => (None, Some((*rule).to_string())),
            _ => (None, None),
        };
        ErrorBody { error: self.code().as_str(), message: self.public_message(), field, rule }
    }
}

impl IntoResponse for ServiceError {
    fn into_response(self) -> Response {
        self.log();
        let code = self.code();
        let mut resp = (code.http_status(), Json(self.body())).into_response();
        if code == ErrorCode::Unauthenticated {
            resp.headers_mut().insert(http::header::WWW_AUTHENTICATE, http::HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

impl From<ServiceError> for tonic::Status {
    fn from(e: ServiceError) -> Self {
        e.log();
        tonic::Status::new(e.code().grpc_code(), e.public_message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_code_one_status_per_protocol() {
        let refused = ServiceError::Refused { rule: "MESHPERF_MAX_QPS", detail: "x".into() };
        assert_eq!(refused.code().http_status(), StatusCode::FORBIDDEN);
        assert_eq!(tonic::Status::from(refused).code(), Code::PermissionDenied);
        let busy = ServiceError::Busy { rule: "--max-runs", detail: "1 run at once".into() };
        assert_eq!(busy.code().http_status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(tonic::Status::from(busy).message().contains("--max-runs"));
        let internal = tonic::Status::from(ServiceError::Internal("secret detail".into()));
        assert_eq!(internal.code(), Code::Internal);
        assert!(!internal.message().contains("secret"));
    }
}
