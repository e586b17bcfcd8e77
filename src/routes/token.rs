use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::ApiError;
use crate::token::unix_now;

/// Body of `GET /token`, with the field names of an OAuth 2.0 token response
/// (RFC 6749 section 5.1).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenResponse {
    pub token: String,
    pub token_type: String,
    /// Token lifetime in seconds.
    pub expires_in: u64,
}

/// Issues a demo token signed with HS256, taking the body from the per-second cache
/// when it has this second's body.
///
/// The response carries `Cache-Control: no-store` and `Pragma: no-cache`, because
/// RFC 6749 section 5.1 requires them on every response that contains a token.
#[utoipa::path(
    get,
    path = "/token",
    tag = "tokens",
    summary = "Issue a token",
    responses(
        (status = 200, description = "A new demo token", body = TokenResponse, headers(
            ("Cache-Control" = String, description = "`no-store`"),
            ("Pragma" = String, description = "`no-cache`"),
        )),
        (status = 500, description = "Signing failed", body = crate::error::ErrorBody),
    )
)]
pub async fn issue_token(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let body = state
        .token_bodies
        .body(&state.issuer, unix_now())
        .map_err(|error| ApiError::Internal(error.into()))?;
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::PRAGMA, HeaderValue::from_static("no-cache")),
    ];
    Ok((headers, body).into_response())
}
