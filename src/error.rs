//! Error responses. Every error the service sends has the body
//! `{"error": "<code>", "message": "<text>"}`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::bearer::BearerError;
use crate::verify::VerifyError;

/// Realm of every `WWW-Authenticate` challenge the service sends.
pub const REALM: &str = "token-service";

/// JSON body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code, such as `not_found`.
    #[schema(value_type = String, example = "invalid_token")]
    pub error: &'static str,
    /// Human-readable explanation. It never repeats a token or a header value.
    pub message: String,
}

/// An error that a handler or middleware turns into a response.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 404: no route matches the path.
    #[error("no route for {method} {path}")]
    NotFound { method: String, path: String },
    /// 405: the path exists, but not for this method.
    #[error("method {method} is not allowed for {path}")]
    MethodNotAllowed { method: String, path: String },
    /// 401 with a bare challenge: no `Authorization` header, or one with another scheme.
    #[error("{0}")]
    Unauthorized(BearerError),
    /// 400 with `error="invalid_request"`: a Bearer header that cannot be parsed.
    #[error("{0}")]
    InvalidRequest(&'static str),
    /// 401 with `error="invalid_token"`: a token that failed verification.
    #[error("{0}")]
    InvalidToken(VerifyError),
    /// 500: a failure on the server side. The cause is logged and not sent.
    #[error("internal server error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::Unauthorized(_) | Self::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            Self::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::NotFound { .. } => "not_found",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::Unauthorized(_) => "unauthorized",
            Self::InvalidRequest(_) => "invalid_request",
            Self::InvalidToken(_) => "invalid_token",
            Self::Internal(_) => "internal_error",
        }
    }

    /// Builds the RFC 6750 section 3 challenge for authentication errors. Their
    /// messages contain no `"` or `\\`, so they go into the quoted string unescaped.
    fn challenge(&self) -> Option<String> {
        let code = match self {
            Self::Unauthorized(_) => return Some(format!("Bearer realm=\"{REALM}\"")),
            Self::InvalidRequest(_) => "invalid_request",
            Self::InvalidToken(_) => "invalid_token",
            _ => return None,
        };
        Some(format!(
            "Bearer realm=\"{REALM}\", error=\"{code}\", error_description=\"{self}\""
        ))
    }
}

impl From<BearerError> for ApiError {
    fn from(error: BearerError) -> Self {
        match error {
            BearerError::Missing | BearerError::OtherScheme => Self::Unauthorized(error),
            BearerError::Malformed(description) => Self::InvalidRequest(description),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            Self::Internal(cause) => tracing::error!(error = %cause, "request failed"),
            Self::Unauthorized(_) | Self::InvalidRequest(_) | Self::InvalidToken(_) => {
                tracing::info!(error = %self, "bearer authentication failed");
            }
            _ => {}
        }

        let challenge = self.challenge();
        let body = ErrorBody {
            error: self.code(),
            message: self.to_string(),
        };
        let mut response = (self.status(), Json(body)).into_response();
        if let Some(challenge) = challenge.and_then(|text| HeaderValue::try_from(text).ok()) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, challenge);
        }
        response
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
