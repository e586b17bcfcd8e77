use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::AppState;
use crate::bearer::bearer_token;
use crate::error::{ApiError, ErrorBody};
use crate::token::{Claims, since_unix_epoch};

/// Body of `GET /protected`: the verified claims, byte for byte as they were signed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ClaimsResponse {
    /// Payload of the token. A token from `GET /token` has exactly the claims of the
    /// `Claims` schema, and a token signed elsewhere with the same secret may differ.
    #[schema(value_type = Claims)]
    pub claims: Box<RawValue>,
}

/// Verifies the request's bearer token and returns its claims.
#[utoipa::path(
    get,
    path = "/protected",
    tag = "tokens",
    summary = "Verify a token and show its claims",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The token is valid", body = ClaimsResponse),
        (status = 400, description = "`invalid_request`: a Bearer header with no token, \
            a token with spaces or characters outside RFC 6750's b64token, or two Authorization headers",
            body = ErrorBody, headers(
                ("WWW-Authenticate" = String, description = "`Bearer realm=\"token-service\", \
                    error=\"invalid_request\", error_description=\"...\"`"),
            )),
        (status = 401, description = "`unauthorized`: no Authorization header or another \
            scheme, or `invalid_token`: the token failed a check (malformed, algorithm \
            other than HS256, bad signature, expired, `nbf` in the future, `exp` missing)",
            body = ErrorBody, headers(
                ("WWW-Authenticate" = String, description = "`Bearer realm=\"token-service\"`, \
                    with `error=\"invalid_token\"` and `error_description` for a failed check"),
            )),
    )
)]
pub async fn show_claims(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Json<ClaimsResponse>, ApiError> {
    let token = bearer_token(&headers)?;
    let claims = state
        .verifier
        .verify(token, since_unix_epoch())
        .map_err(ApiError::InvalidToken)?;
    Ok(Json(ClaimsResponse { claims }))
}
