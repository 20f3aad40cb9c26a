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
pub struct Status {
    /// `ok` or `ready`.
    status: &'static str,
}

/// The process is up and answering.
#[utoipa::path(get, path = "/api/health", tag = "health",
    responses((status = 200, description = "Alive", body = Status)))]
async fn health() -> Json<Status> {
    Json(Status { status: "ok" })
}

/// MongoDB answers a ping; 503 when it does not (within `MONGODB_TIMEOUT_MS`).
#[utoipa::path(get, path = "/api/ready", tag = "health", responses(
    (status = 200, description = "Ready to serve", body = Status),
    (status = 503, description = "MongoDB is unreachable", body = ErrorBody),
))]
async fn ready(State(state): State<AppState>) -> ApiResult<Json<Status>> {
    state
        .store
        .ping()
        .await
        .map_err(|err| ApiError::Unavailable(err.into()))?;
    Ok(Json(Status { status: "ready" }))
}
