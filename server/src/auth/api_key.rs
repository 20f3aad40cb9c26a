//! Personal API keys on the `/v1` routes: `Authorization: Bearer cfk_…` acts as the key's
//! owner, with the owner's role, limits and quotas. The key is looked up in MongoDB on every
//! request (no cache), so a revoked or expired key is refused at once on every process; the
//! owner's standing comes through the same cache as sessions' (cleared by every change to the
//! account, on every process).

use axum::http::HeaderMap;
use mongodb::bson::{DateTime, oid::ObjectId};

use super::bearer_token;
use crate::{
    domain::{AccountRole, AccountStatus, Limits},
    state::AppState,
    store::api_keys,
};

/// The owner of the key a request carries.
#[derive(Debug, Clone, Copy)]
pub struct KeyUser {
    pub user_id: ObjectId,
    pub key_id: ObjectId,
    pub role: AccountRole,
    pub limits: Limits,
}

/// Why a request's key is refused.
#[derive(Debug, thiserror::Error)]
pub enum KeyRefused {
    #[error("no API key was given: send `Authorization: Bearer cfk_…`")]
    Missing,
    #[error(
        "the API key is not valid: it is unknown, revoked or expired, or its account is not active"
    )]
    Invalid,
    #[error("database: {0}")]
    Store(#[from] mongodb::error::Error),
}

/// The owner of the request's key, if it is live and the owner's account is active.
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<KeyUser, KeyRefused> {
    let key = bearer_token(headers).ok_or(KeyRefused::Missing)?;
    if !api_keys::looks_like_key(key) {
        return Err(KeyRefused::Invalid);
    }
    let found = api_keys::find_live(&state.store.api_keys, key)
        .await?
        .ok_or(KeyRefused::Invalid)?;
    let standing = super::current_user::account_standing(state, found.user_id)
        .await?
        .filter(|s| s.status == AccountStatus::Active)
        .ok_or(KeyRefused::Invalid)?;
    // Last use, to the minute: written only when the stored one is older (not awaited).
    let minute_ago = DateTime::from_millis(DateTime::now().timestamp_millis() - 60_000);
    if found.last_used_at.is_none_or(|at| at < minute_ago) {
        let keys = state.store.api_keys.clone();
        let id = found.id;
        tokio::spawn(async move {
            if let Err(err) = api_keys::touch(&keys, id).await {
                tracing::debug!(error = %err, "recording an API key's use failed");
            }
        });
    }
    Ok(KeyUser {
        user_id: found.user_id,
        key_id: found.id,
        role: standing.role,
        limits: standing.limits,
    })
}
