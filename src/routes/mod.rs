//! HTTP routes, one file per route group, and the responses for unknown routes.

mod health;
mod protected;
mod token;

use std::sync::Arc;

use axum::Router;
use axum::http::{Method, Uri};
use axum::routing::get;

use crate::AppState;
use crate::error::ApiError;
use crate::middleware::{MAX_LOGGED_PATH_LEN, shorten};

pub use protected::ClaimsResponse;
pub use token::TokenResponse;

/// Builds the router of every endpoint, without middleware.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/token", get(token::issue_token))
        .route("/protected", get(protected::show_claims))
        .route("/healthz", get(health::health))
        .fallback(not_found)
        // Must follow the routes: it applies to the routes registered before it.
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::NotFound {
        method,
        path: shorten(uri.path(), MAX_LOGGED_PATH_LEN),
    }
}

/// Answers 405. axum adds the `Allow` header to this response.
async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed {
        method,
        path: shorten(uri.path(), MAX_LOGGED_PATH_LEN),
    }
}
