use axum::Json;
use serde::Serialize;

/// Body of `GET /healthz`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HealthResponse {
    /// Always `ok`.
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// Returns `{"status": "ok"}` while the process serves requests.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    summary = "Check health",
    responses((status = 200, description = "The service is running", body = HealthResponse))
)]
pub async fn health() -> Json<HealthResponse> {
    Json(HealthResponse { status: "ok" })
}
