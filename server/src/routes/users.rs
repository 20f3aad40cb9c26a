//! `/api/users/me…` (the caller's account: its sessions, password, usage, deletion) and
//! `GET /api/users/{id}` (the caller only; anyone else is 404).

use axum::{Json, extract::State, http::StatusCode};
use mongodb::bson::oid::ObjectId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use validator::Validate;

use super::auth::end_sessions;
use crate::{
    auth::CurrentUser,
    domain::{AccountRole, Password},
    error::{ApiError, ApiResult, ErrorBody},
    http::{Path, ValidatedJson},
    state::AppState,
    store::{UserDoc, sessions, usage, users},
    views::{
        UserView,
        account::{SessionView, UsageView},
    },
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me, delete_me))
        .routes(routes!(get_user))
        .routes(routes!(list_sessions))
        .routes(routes!(end_session))
        .routes(routes!(revoke_others))
        .routes(routes!(change_password))
        .routes(routes!(my_usage))
}

async fn account(state: &AppState, id: ObjectId) -> ApiResult<UserDoc> {
    users::find_by_id(&state.store.users, id)
        .await?
        .ok_or(ApiError::NotFound("user"))
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/users/me", tag = "users", security(("bearer" = [])), responses(
    (status = 200, body = UserView),
    (status = 401, body = ErrorBody),
))]
async fn me(State(state): State<AppState>, user: CurrentUser) -> ApiResult<Json<UserView>> {
    Ok(Json(UserView::from(&account(&state, user.user_id).await?)))
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
        Ok(id) if id == user.user_id => Ok(Json(UserView::from(&account(&state, id).await?))),
        _ => Err(ApiError::NotFound("user")),
    }
}

/// The caller's signed-in sessions, most recently used first.
#[utoipa::path(get, path = "/api/users/me/sessions", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = Vec<SessionView>), (status = 401, body = ErrorBody)))]
async fn list_sessions(
    State(state): State<AppState>,
    user: CurrentUser,
) -> ApiResult<Json<Vec<SessionView>>> {
    let live = sessions::live_of(&state.store.sessions, user.user_id).await?;
    Ok(Json(
        live.iter()
            .map(|session| SessionView::of(session, user.session_id))
            .collect(),
    ))
}

/// Ends one of the caller's sessions: its refresh token dies, its access tokens are refused,
/// its sockets close (4001). Another user's session, or an ended one, is 404; the session of
/// the request is 409 `current_session` (signing out ends it).
#[utoipa::path(delete, path = "/api/users/me/sessions/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 204, description = "Session ended"),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
    ))]
async fn end_session(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let session_id = ObjectId::parse_str(&id).map_err(|_| ApiError::NotFound("session"))?;
    if session_id == user.session_id {
        return Err(ApiError::ConflictCode {
            code: "current_session",
            message: "this is the session of the request: sign out (POST /api/auth/logout) instead",
        });
    }
    if !sessions::revoke_of(&state.store.sessions, user.user_id, session_id).await? {
        return Err(ApiError::NotFound("session"));
    }
    state.session_ended(user.user_id, session_id);
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct Revoked {
    /// How many sessions were ended.
    revoked: usize,
}

/// Ends every session of the caller but this one.
#[utoipa::path(post, path = "/api/users/me/sessions/revoke-others", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = Revoked), (status = 401, body = ErrorBody)))]
async fn revoke_others(
    State(state): State<AppState>,
    user: CurrentUser,
) -> ApiResult<Json<Revoked>> {
    let revoked = end_sessions(&state, user.user_id, Some(user.session_id)).await?;
    Ok(Json(Revoked { revoked }))
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    #[validate(length(min = 1, max = 128, message = "must be 1 to 128 characters long"))]
    #[schema(min_length = 1, max_length = 128)]
    current_password: String,
    /// 8–128 characters.
    #[validate(custom(function = "crate::domain::validate_password"))]
    #[schema(min_length = 8, max_length = 128)]
    new_password: String,
}

/// Whether `password` is the account's (a wrong one is 403 `wrong_password`).
async fn check_password(state: &AppState, user: &UserDoc, password: &str) -> ApiResult<()> {
    let right = state
        .passwords
        .verify(Some(&user.password_hash), password)
        .await
        .map_err(ApiError::internal)?;
    if right {
        Ok(())
    } else {
        Err(ApiError::Refused {
            code: "wrong_password",
            message: "this is not the account's password",
        })
    }
}

/// Changes the caller's password, and ends every other session.
#[utoipa::path(put, path = "/api/users/me/password", tag = "users", security(("bearer" = [])),
    request_body = ChangePassword,
    responses(
        (status = 204, description = "Changed; every other session ended"),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 409, description = "Changed meanwhile by another request", body = ErrorBody),
        (status = 403, description = "`wrong_password`: the current password is wrong", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
async fn change_password(
    State(state): State<AppState>,
    user: CurrentUser,
    ValidatedJson(body): ValidatedJson<ChangePassword>,
) -> ApiResult<StatusCode> {
    let password =
        Password::parse(&body.new_password).map_err(|e| ApiError::field("new_password", e))?;
    let account = account(&state, user.user_id).await?;
    check_password(&state, &account, &body.current_password).await?;
    let hash = state
        .passwords
        .hash(&password)
        .await
        .map_err(ApiError::internal)?;
    if !users::set_password(
        &state.store.users,
        user.user_id,
        &account.password_hash,
        hash,
    )
    .await?
    {
        return Err(ApiError::Conflict {
            field: "current_password",
            message: "the password was changed meanwhile; sign in again".to_owned(),
        });
    }
    end_sessions(&state, user.user_id, Some(user.session_id)).await?;
    tracing::info!(user_id = %user.user_id, "password changed");
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteAccount {
    /// The account's password, to confirm.
    #[validate(length(min = 1, max = 128, message = "must be 1 to 128 characters long"))]
    #[schema(min_length = 1, max_length = 128)]
    password: String,
}

/// Deletes the caller's account and everything it owns (chats, messages, votes, sessions,
/// events, usage records). A deletion cut short by a crash is finished by another process.
/// The username and e-mail address are free again afterwards.
#[utoipa::path(delete, path = "/api/users/me", tag = "users", security(("bearer" = [])),
    request_body = DeleteAccount,
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 409, description = "`last_admin`: the deployment's only active admin", body = ErrorBody),
        (status = 403, description = "`wrong_password`", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
async fn delete_me(
    State(state): State<AppState>,
    user: CurrentUser,
    ValidatedJson(body): ValidatedJson<DeleteAccount>,
) -> ApiResult<StatusCode> {
    let account = account(&state, user.user_id).await?;
    check_password(&state, &account, &body.password).await?;
    delete_account(&state, &account).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes an account (its owner's request, or an admin's): the last active admin stays.
pub async fn delete_account(state: &AppState, account: &UserDoc) -> ApiResult<()> {
    if account.role == AccountRole::Admin
        && account.status == crate::domain::AccountStatus::Active
        && users::count_active_admins(&state.store.users).await? <= 1
    {
        return Err(ApiError::LAST_ADMIN);
    }
    if !state.store.begin_account_deletion(account.id).await? {
        return Err(ApiError::NotFound("user"));
    }
    state.standing_cache.forget(account.id);
    end_sessions(state, account.id, None).await?;
    state.generations.stop_user(account.id);
    state.store.finish_account_deletion(account.id).await?;
    // What an answer ending or the event log's writer adds in the next moments is removed too.
    let store = state.store.clone();
    let id = account.id;
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        if let Err(err) = store.remove_stragglers(id).await {
            tracing::warn!(error = %err, "removing a deleted account's last records failed");
        }
    });
    tracing::info!(user_id = %account.id, "account deleted");
    Ok(())
}

/// The caller's tokens today and this month (UTC), by model; the limits that apply and what
/// remains under the quotas.
#[utoipa::path(get, path = "/api/users/me/usage", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = UsageView), (status = 401, body = ErrorBody)))]
async fn my_usage(State(state): State<AppState>, user: CurrentUser) -> ApiResult<Json<UsageView>> {
    let (today, month) =
        usage::of_user(&state.store.usage, user.user_id, chrono::Utc::now()).await?;
    let applied = user.limits.over(state.generations.limits.as_limits());
    Ok(Json(UsageView::new(&today, &month, applied)))
}
