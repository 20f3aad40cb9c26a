//! `GET /api/users/me` and `GET /api/users/{id}` (the caller only; anyone else is 404).

use axum::{Json, extract::State};
use mongodb::bson::oid::ObjectId;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    auth::CurrentUser,
    error::{ApiError, ApiResult, ErrorBody},
    http::Path,
    state::AppState,
    store::users,
    views::UserView,
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(get_user))
}

async fn load(state: &AppState, id: ObjectId) -> ApiResult<Json<UserView>> {
    let user = users::find_by_id(&state.store.users, id)
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    Ok(Json(UserView::from(&user)))
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/users/me", tag = "users", security(("bearer" = [])), responses(
    (status = 200, body = UserView),
    (status = 401, body = ErrorBody),
))]
async fn me(State(state): State<AppState>, user: CurrentUser) -> ApiResult<Json<UserView>> {
    load(&state, user.user_id).await
}

/// A user by id: only the caller's own id is found; any other id is 404.
#[utoipa::path(get, path = "/api/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, body = UserView),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn get_user(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Json<UserView>> {
    match ObjectId::parse_str(&id) {
        Ok(id) if id == user.user_id => load(&state, id).await,
        _ => Err(ApiError::NotFound("user")),
    }
}
