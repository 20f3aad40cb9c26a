//! The `CurrentUser` extractor: a valid bearer access token whose session is still live, of an
//! account that is active; and `Admin`, the same for an admin.

use axum::{
    extract::FromRequestParts,
    http::{HeaderMap, request::Parts},
};
use mongodb::bson::oid::ObjectId;

use crate::{
    domain::{AccountRole, AccountStatus, Limits},
    error::ApiError,
    state::AppState,
    store::users::Standing,
};

#[derive(Debug, Clone, Copy)]
pub struct CurrentUser {
    pub user_id: ObjectId,
    pub session_id: ObjectId,
    /// Read per request (through a cache of at most a second).
    pub role: AccountRole,
    /// The limits set for this account alone (`None`: the default).
    pub limits: Limits,
    /// The account has API keys (its `/v1` calls count against its limits too).
    pub api_keys: bool,
}

/// The token from `Authorization: Bearer <token>`, if that header is present and well-formed.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer_token(&parts.headers).ok_or_else(ApiError::invalid_token)?;
        if token.starts_with(crate::store::api_keys::PREFIX) {
            // A personal API key is for `/v1` only: it cannot change the account.
            return Err(ApiError::Unauthorized {
                message: "API keys work only on the OpenAI-compatible /v1 routes; \
                          /api needs a signed-in session",
                invalid_token: true,
            });
        }
        let subject = state
            .jwt
            .verify(token)
            .ok_or_else(ApiError::invalid_token)?;
        let (user_id, session_id) = (subject.user_id, subject.session_id);
        // A logged-out or revoked session invalidates its access tokens at once; the account's
        // role, status and limits are read per request (from a cache that every change to the
        // account clears, on every process), so a demotion or a disabled account holds on
        // tokens already issued.
        let session_known = state.session_cache.is_fresh(session_id, user_id);
        let (live, standing) = tokio::try_join!(
            async {
                if session_known {
                    return Ok(true);
                }
                state.store.batched.session_live(session_id, user_id).await
            },
            account_standing(state, user_id),
        )?;
        let Some(standing) = standing.filter(|s| live && s.status == AccountStatus::Active) else {
            return Err(ApiError::invalid_token());
        };
        if !session_known {
            state.session_cache.remember(session_id, user_id);
        }
        Ok(Self {
            user_id,
            session_id,
            role: standing.role,
            limits: standing.limits,
            api_keys: standing.api_keys,
        })
    }
}

/// The account's role, status and limits: from the standing cache, else read (group-committed
/// with other requests' reads) and remembered. `None`: no such account (or one being deleted).
pub(crate) async fn account_standing(
    state: &AppState,
    user_id: ObjectId,
) -> mongodb::error::Result<Option<Standing>> {
    if let Some(cached) = state.standing_cache.get(user_id) {
        return Ok(Some(cached));
    }
    let epoch = state.standing_cache.epoch();
    let standing = state.store.batched.standing(user_id).await?;
    if let Some(standing) = standing {
        state.standing_cache.remember(user_id, standing, epoch);
    }
    Ok(standing)
}

/// A signed-in admin: anyone else is refused with 403 (401 when not signed in).
#[derive(Debug, Clone, Copy)]
pub struct Admin(pub CurrentUser);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let user = CurrentUser::from_request_parts(parts, state).await?;
        if user.role != AccountRole::Admin {
            return Err(ApiError::Forbidden("this needs an admin account"));
        }
        Ok(Self(user))
    }
}
