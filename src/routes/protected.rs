use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::AppState;
use crate::bearer::bearer_token;
use crate::error::ApiError;
use crate::token::unix_now;

/// Body of `GET /protected`: the verified claims, byte for byte as they were signed.
#[derive(Debug, Serialize)]
pub struct ClaimsResponse {
    pub claims: Box<RawValue>,
}

/// Verifies the request's bearer token and returns its claims.
pub async fn show_claims(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Json<ClaimsResponse>, ApiError> {
    let token = bearer_token(&headers)?;
    let claims = state
        .verifier
        .verify(token, unix_now())
        .map_err(ApiError::InvalidToken)?;
    Ok(Json(ClaimsResponse { claims }))
}
