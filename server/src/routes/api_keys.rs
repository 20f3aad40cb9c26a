//! `/api/users/me/api-keys`: personal API keys for the OpenAI-compatible `/v1` routes. A key
//! is shown once, when it is made; only its hash is kept. Keys are managed with a signed-in
//! session (a key itself is refused on every `/api` route, so a leaked key cannot change the
//! account or make more keys).

use std::time::Duration;

use axum::{Json, extract::State, http::StatusCode};
use mongodb::bson::oid::ObjectId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use validator::Validate;

use crate::{
    auth::CurrentUser,
    error::{ApiError, ApiResult, ErrorBody},
    http::{Path, ValidatedJson},
    state::AppState,
    store::{
        api_keys::{self, NewKey},
        users,
    },
    views::{ApiKeyView, CreatedApiKey},
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_keys, create_key))
        .routes(routes!(revoke_key))
}

const DAY: Duration = Duration::from_secs(86_400);

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "notebook", "expires_in_days": 90}))]
pub struct CreateApiKey {
    /// What the key is for (shown in the list).
    #[validate(length(min = 1, max = 100, message = "must be 1 to 100 characters long"))]
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    name: String,
    /// Days until the key stops working; absent: it never expires.
    #[validate(range(min = 1, max = 3650, message = "must be 1 to 3650 days"))]
    #[schema(minimum = 1, maximum = 3650)]
    #[serde(default)]
    expires_in_days: Option<u32>,
}

/// Makes a key; the answer carries it, once. At most 25 keys per account (409).
#[utoipa::path(post, path = "/api/users/me/api-keys", tag = "api-keys", security(("bearer" = [])),
    request_body = CreateApiKey,
    responses(
        (status = 201, body = CreatedApiKey),
        (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn create_key(
    State(state): State<AppState>,
    user: CurrentUser,
    ValidatedJson(body): ValidatedJson<CreateApiKey>,
) -> ApiResult<(StatusCode, Json<CreatedApiKey>)> {
    let name = body.name.trim();
    if name.is_empty() {
        return Err(ApiError::field("name", "must not be empty"));
    }
    if api_keys::count_of(&state.store.api_keys, user.user_id).await? >= api_keys::MAX_PER_USER {
        return Err(ApiError::ConflictCode {
            code: "too_many_api_keys",
            message: "an account keeps at most 25 API keys; revoke one first",
        });
    }
    // Before the key exists: from now on the account's answers are counted with its calls.
    users::note_api_keys(&state.store.users, user.user_id).await?;
    let lifetime = body.expires_in_days.map(|days| DAY * days);
    let new = NewKey::generate(user.user_id, name.to_owned(), lifetime);
    api_keys::insert(&state.store.api_keys, &new.doc).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedApiKey {
            view: ApiKeyView::of(&new.doc),
            key: new.key,
        }),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyList {
    /// Newest first. Expired keys are listed until they are cleaned up (within a minute or so).
    api_keys: Vec<ApiKeyView>,
}

/// The caller's keys (never their values).
#[utoipa::path(get, path = "/api/users/me/api-keys", tag = "api-keys", security(("bearer" = [])),
    responses((status = 200, body = ApiKeyList), (status = 401, body = ErrorBody)))]
async fn list_keys(
    State(state): State<AppState>,
    user: CurrentUser,
) -> ApiResult<Json<ApiKeyList>> {
    let keys = api_keys::of_user(&state.store.api_keys, user.user_id).await?;
    Ok(Json(ApiKeyList {
        api_keys: keys.iter().map(ApiKeyView::of).collect(),
    }))
}

/// Revokes a key: the next request with it is refused, on every process. Another user's key
/// (or an unknown id) is 404.
#[utoipa::path(delete, path = "/api/users/me/api-keys/{id}", tag = "api-keys", security(("bearer" = [])),
    params(("id" = String, Path, description = "API key id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn revoke_key(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = ObjectId::parse_str(&id).map_err(|_| ApiError::NotFound("API key"))?;
    if !api_keys::revoke(&state.store.api_keys, user.user_id, id).await? {
        return Err(ApiError::NotFound("API key"));
    }
    Ok(StatusCode::NO_CONTENT)
}
