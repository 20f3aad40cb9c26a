//! `/api/admin/models`: every model with where it is served and whether it is in memory, and
//! loading or unloading a model on the servers that can (llama-server in router mode,
//! Ollama). Admins only (anyone else 403); each load and unload is in the audit log.

use axum::{Json, extract::State, http::StatusCode};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::admin::record;
use crate::{
    auth::Admin,
    error::{ApiError, ApiResult, ErrorBody},
    http::{ClientIp, Path},
    llm::ResidencyError,
    state::AppState,
    views::AdminModelView,
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_models))
        .routes(routes!(load_model))
        .routes(routes!(unload_model))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminModelList {
    /// In the order of `GET /api/models`.
    models: Vec<AdminModelView>,
}

impl From<ResidencyError> for ApiError {
    fn from(error: ResidencyError) -> Self {
        match error {
            ResidencyError::UnknownModel => ApiError::NotFound("model"),
            ResidencyError::NotManageable => ApiError::ConflictCode {
                code: "not_manageable",
                message: "this model's server cannot load or unload models (llama-server in \
                          router mode and Ollama can)",
            },
            ResidencyError::Upstream(message) => ApiError::UpstreamRefused(message),
        }
    }
}

/// Every model: its endpoint, whether that answers, and its residency as its server reports
/// it (asked now: one request per endpoint that can say).
#[utoipa::path(get, path = "/api/admin/models", tag = "admin", security(("bearer" = [])),
    responses(
        (status = 200, body = AdminModelList),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    ))]
async fn list_models(State(state): State<AppState>, _admin: Admin) -> Json<AdminModelList> {
    let models = state.catalog.residency().await;
    Json(AdminModelList {
        models: models.iter().map(AdminModelView::from).collect(),
    })
}

/// Loads a model into its server's memory. Answers at once (202) with its state then —
/// usually `loading`; the list shows it `loaded` once it is.
#[utoipa::path(post, path = "/api/admin/models/{id}/load", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "Model id (URL-encoded: ids may hold `/` and `:`)")),
    responses(
        (status = 202, body = AdminModelView),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`not_manageable`"),
        (status = 502, body = ErrorBody, description = "The model server refused (`upstream_error`)"),
    ))]
async fn load_model(
    State(state): State<AppState>,
    admin: Admin,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<AdminModelView>)> {
    act(&state, &admin, ip, id, Action::Load).await
}

/// Unloads a model from its server's memory (202, with its state then).
#[utoipa::path(post, path = "/api/admin/models/{id}/unload", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "Model id (URL-encoded)")),
    responses(
        (status = 202, body = AdminModelView),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`not_manageable`"),
        (status = 502, body = ErrorBody, description = "The model server refused (`upstream_error`)"),
    ))]
async fn unload_model(
    State(state): State<AppState>,
    admin: Admin,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<AdminModelView>)> {
    act(&state, &admin, ip, id, Action::Unload).await
}

#[derive(Debug, Clone, Copy)]
enum Action {
    Load,
    Unload,
}

/// Loads or unloads, records it in the audit log, and answers with the model's state then.
async fn act(
    state: &AppState,
    admin: &Admin,
    ip: std::net::IpAddr,
    id: String,
    action: Action,
) -> ApiResult<(StatusCode, Json<AdminModelView>)> {
    let (model, name) = match action {
        Action::Load => (state.catalog.load(&id).await?, "model.load"),
        Action::Unload => (state.catalog.unload(&id).await?, "model.unload"),
    };
    record(state, admin, ip, name, id, String::new()).await;
    Ok((StatusCode::ACCEPTED, Json(AdminModelView::from(&model))))
}
