//! `GET /api/users/me` and `GET /api/users/{id}` (the caller only; anyone else is 404).

use axum::{Json, extract::State};
use chrono::{DateTime, Utc};
use mongodb::bson::oid::ObjectId;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    auth::CurrentUser,
    error::{ApiError, ApiResult, ErrorBody},
    http::Path,
    state::AppState,
    store::{UserDoc, users},
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(get_user))
}

/// What clients see of a user. Built from `UserDoc` field by field: the password hash has no
/// way in.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub username: String,
    pub email: String,
    pub created_at: DateTime<Utc>,
}

impl From<&UserDoc> for UserView {
    fn from(user: &UserDoc) -> Self {
        Self {
            id: user.id.to_hex(),
            username: user.username.clone(),
            email: user.email.clone(),
            created_at: user.created_at.to_chrono(),
        }
    }
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
