//! `GET /api/models`: the models, their defaults, the parameters each accepts and their ranges.

use axum::{Json, extract::State};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{auth::CurrentUser, error::ErrorBody, state::AppState, views::ModelsView};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_models))
}

/// The available models and what each accepts.
#[utoipa::path(get, path = "/api/models", tag = "models", security(("bearer" = [])),
    responses((status = 200, body = ModelsView), (status = 401, body = ErrorBody)))]
async fn list_models(State(state): State<AppState>, _user: CurrentUser) -> Json<ModelsView> {
    Json(ModelsView::of(&state.catalog))
}
