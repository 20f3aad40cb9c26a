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
    /// The process that answered (`INSTANCE_ID`): where a request landed behind a balancer.
    instance: String,
}

/// The process is up and answering.
#[utoipa::path(get, path = "/api/health", tag = "health",
    responses((status = 200, description = "Alive", body = HealthStatus)))]
async fn health(State(state): State<AppState>) -> Json<HealthStatus> {
    Json(HealthStatus {
        status: "ok",
        instance: state.settings.instance.clone(),
    })
}

/// Ready for new work: MongoDB answers a ping and the process is not draining. 503 when
/// MongoDB does not answer (within `MONGODB_TIMEOUT_MS`) or from the moment SIGTERM starts the
/// drain (a balancer then sends new work elsewhere).
#[utoipa::path(get, path = "/api/ready", tag = "health", responses(
    (status = 200, description = "Ready to serve", body = HealthStatus),
    (status = 503, description = "MongoDB is unreachable, or this process is draining", body = ErrorBody),
))]
async fn ready(State(state): State<AppState>) -> ApiResult<Json<HealthStatus>> {
    if state.is_draining() {
        return Err(ApiError::Draining);
    }
    state
        .store
        .ping()
        .await
        .map_err(|err| ApiError::Unavailable(err.into()))?;
    Ok(Json(HealthStatus {
        status: "ready",
        instance: state.settings.instance.clone(),
    }))
}
