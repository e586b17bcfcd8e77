//! The OpenAPI 3.1 document of the API, served at `GET /openapi.json`.
//!
//! Each path comes from the handler's `#[utoipa::path]` attribute, collected by the same
//! `routes!` call that registers the handler in [`crate::routes::router`]. Each schema
//! comes from the `ToSchema` derive of the type that the handler serializes. So the
//! document lists the routes the router serves, with the types it sends.

use axum::Extension;
use axum::body::Bytes;
use axum::http::header;
use axum::response::IntoResponse;
use utoipa::Modify;
use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::error::ErrorBody;

/// Skeleton of the document: everything but the paths and their schemas, which
/// [`crate::routes::router`] adds.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "token-service",
        description = "Issues HS256 JSON Web Tokens at GET /token and verifies them at \
            GET /protected. Every response from the routes carries an `x-request-id` \
            header. Error responses, including 404 for an unknown path, 405 for another \
            method and 408 for a request that timed out, have the `ErrorBody` JSON body. \
            The exceptions are 400 for a request that cannot be parsed and 431 for an \
            oversized request head, which the HTTP server sends with no body."
    ),
    servers((url = "http://localhost:5000", description = "Default HOST and PORT")),
    components(schemas(ErrorBody)),
    modifiers(&BearerAuth, &NoLicense),
    tags(
        (name = "tokens", description = "Issuing and verifying tokens"),
        (name = "operations", description = "Health check and this document"),
    )
)]
pub struct ApiDoc;

/// Adds the `bearerAuth` security scheme, which `GET /protected` requires.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("JWT")
            .description(Some(
                "A token from GET /token, sent as `Authorization: Bearer <token>`",
            ))
            .build();
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme("bearerAuth", SecurityScheme::Http(scheme));
    }
}

/// Removes `info.license`, which utoipa fills from Cargo.toml. The package declares no
/// license, so the document would state one with an empty name.
struct NoLicense;

impl Modify for NoLicense {
    fn modify(&self, openapi: &mut OpenApi) {
        openapi.info.license = None;
    }
}

/// The document serialized once at start-up and shared by every request.
#[derive(Debug, Clone)]
pub struct DocumentJson(Bytes);

impl DocumentJson {
    /// Serializes `document` as indented JSON.
    pub fn new(document: &OpenApi) -> Self {
        let json = document
            .to_pretty_json()
            .expect("the document has string keys only, so it serializes to JSON");
        Self(Bytes::from(json))
    }
}

/// Returns the OpenAPI document of the API.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    summary = "Get this OpenAPI document",
    responses((
        status = 200,
        description = "This OpenAPI 3.1 document",
        content_type = "application/json",
        body = Object,
    ))
)]
pub async fn serve_document(Extension(document): Extension<DocumentJson>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], document.0)
}
