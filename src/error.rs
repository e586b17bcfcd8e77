//! Error responses. Every error the service sends has the body
//! `{"error": "<code>", "message": "<text>"}`.

use axum::Json;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// JSON body of every error response.
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    /// Stable machine-readable code, such as `not_found`.
    pub error: &'static str,
    /// Human-readable explanation. It never repeats a token or a header value.
    pub message: String,
}

/// An error that a handler or middleware turns into a response.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 404: no route matches the path.
    #[error("no route for {method} {path}")]
    NotFound { method: Method, path: String },
    /// 405: the path exists, but not for this method.
    #[error("method {method} is not allowed for {path}")]
    MethodNotAllowed { method: Method, path: String },
    /// 500: a failure on the server side. The cause is logged and not sent.
    #[error("internal server error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::NotFound { .. } => "not_found",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::Internal(_) => "internal_error",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(cause) = &self {
            tracing::error!(error = %cause, "request failed");
        }
        let body = ErrorBody {
            error: self.code(),
            message: self.to_string(),
        };
        (self.status(), Json(body)).into_response()
    }
}

/// Builds the JSON error response for a status that middleware produced with an empty
/// body, such as 408 from the request timeout.
pub fn status_error_response(status: StatusCode) -> Response {
    let (code, message) = match status {
        StatusCode::REQUEST_TIMEOUT => (
            "request_timeout",
            "the request took longer than the server's request timeout",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "payload_too_large",
            "the request body is larger than the server accepts",
        ),
        StatusCode::INTERNAL_SERVER_ERROR => ("internal_error", "internal server error"),
        _ if status.is_client_error() => ("bad_request", "the request was rejected"),
        _ => ("internal_error", "the server failed to handle the request"),
    };
    let body = ErrorBody {
        error: code,
        message: message.to_owned(),
    };
    (status, Json(body)).into_response()
}
