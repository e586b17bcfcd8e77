//! HTTP routes, one file per route group, and the responses for unknown routes.

mod health;
mod protected;
mod token;

use std::sync::Arc;

use axum::http::{Method, Uri};
use axum::{Extension, Router};
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::ApiError;
use crate::middleware::{loggable_method, loggable_path};
use crate::openapi::{self, ApiDoc, DocumentJson};

pub use health::HealthResponse;
pub use protected::ClaimsResponse;
pub use token::TokenResponse;

/// Builds the router of every endpoint, without middleware, and serves the OpenAPI
/// document of the same routes at `/openapi.json`.
pub fn router(state: Arc<AppState>) -> Router {
    let (router, document) = documented_routes().split_for_parts();
    router
        .fallback(not_found)
        // Must follow the routes: it applies to the routes registered before it.
        .method_not_allowed_fallback(method_not_allowed)
        .layer(Extension(DocumentJson::new(&document)))
        .with_state(state)
}

/// Returns the OpenAPI document that `GET /openapi.json` serves.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    documented_routes().into_openapi()
}

/// Registers each handler together with its `#[utoipa::path]` operation. Add routes here
/// with `routes!` only, not with `Router::route`, so that the document lists them.
fn documented_routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(token::issue_token))
        .routes(routes!(protected::show_claims))
        .routes(routes!(health::health))
        .routes(routes!(openapi::serve_document))
}

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::NotFound {
        method: loggable_method(&method),
        path: loggable_path(uri.path()),
    }
}

/// Returns the 405 error. axum adds the `Allow` header to this response.
async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed {
        method: loggable_method(&method),
        path: loggable_path(uri.path()),
    }
}
