//! The `CurrentUser` extractor: a valid bearer access token whose session is still live.

use axum::{
    extract::FromRequestParts,
    http::{HeaderMap, request::Parts},
};
use mongodb::bson::oid::ObjectId;

use crate::{error::ApiError, state::AppState, store::sessions};

#[derive(Debug, Clone, Copy)]
pub struct CurrentUser {
    pub user_id: ObjectId,
    pub session_id: ObjectId,
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
        let subject = state
            .jwt
            .verify(token)
            .ok_or_else(ApiError::invalid_token)?;
        // A logged-out or revoked session invalidates its access tokens at once.
        if !state
            .session_cache
            .is_fresh(subject.session_id, subject.user_id)
        {
            if !sessions::is_active(&state.store.sessions, subject.session_id, subject.user_id)
                .await?
            {
                return Err(ApiError::invalid_token());
            }
            state
                .session_cache
                .remember(subject.session_id, subject.user_id);
        }
        Ok(Self {
            user_id: subject.user_id,
            session_id: subject.session_id,
        })
    }
}
