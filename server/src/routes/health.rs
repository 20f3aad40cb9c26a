//! `GET /api/health` (the process is alive) and `GET /api/ready` (MongoDB is reachable).

use axum::{Json, extract::State};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    error::{ApiError, ApiResult, ErrorBody},
    state::AppState,
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(ready))
}

#[derive(Serialize, ToSchema)]
pub struct HealthStatus {
    /// `ok` or `ready`.
    status: &'static str,
}

/// The process is up and answering.
#[utoipa::path(get, path = "/api/health", tag = "health",
    responses((status = 200, description = "Alive", body = HealthStatus)))]
async fn health() -> Json<HealthStatus> {
    Json(HealthStatus { status: "ok" })
}

/// MongoDB answers a ping; 503 when it does not (within `MONGODB_TIMEOUT_MS`).
#[utoipa::path(get, path = "/api/ready", tag = "health", responses(
    (status = 200, description = "Ready to serve", body = HealthStatus),
    (status = 503, description = "MongoDB is unreachable", body = ErrorBody),
))]
async fn ready(State(state): State<AppState>) -> ApiResult<Json<HealthStatus>> {
    state
        .store
        .ping()
        .await
        .map_err(|err| ApiError::Unavailable(err.into()))?;
    Ok(Json(HealthStatus { status: "ready" }))
}
