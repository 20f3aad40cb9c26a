//! The `sessions` collection: one document per sign-in (a refresh-token family).
//!
//! A session holds the hash of its current refresh token and the hashes of the ones it
//! replaced. Presenting a replaced token again means it was stolen (or replayed): the whole
//! session is revoked, and with it every access token issued to it.

use std::time::Duration;

use mongodb::{
    Collection,
    bson::{DateTime, Document, doc, oid::ObjectId},
    options::ReturnDocument,
};
use serde::{Deserialize, Serialize};

/// How many replaced token hashes a session remembers for reuse detection.
const REMEMBERED_HASHES: i32 = 500;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionDoc {
    /// The session id: the `sid` claim of every access token issued to this session.
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub user_id: ObjectId,
    /// SHA-256 of the current refresh token; the token itself is never stored.
    pub token_hash: String,
    #[serde(default)]
    pub previous_hashes: Vec<String>,
    pub created_at: DateTime,
    pub last_used_at: DateTime,
    /// Sliding expiry, pushed forward on every rotation; a TTL index deletes expired sessions.
    pub expires_at: DateTime,
    #[serde(default)]
    pub revoked_at: Option<DateTime>,
    #[serde(default)]
    pub user_agent: Option<String>,
    /// The client's address, made approximate (an IPv4 /24, an IPv6 /48) before it is stored.
    #[serde(default)]
    pub address: Option<String>,
}

fn expiry(ttl: Duration) -> DateTime {
    let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2);
    DateTime::from_millis(DateTime::now().timestamp_millis().saturating_add(ttl_ms))
}

pub async fn create(
    sessions: &Collection<SessionDoc>,
    user_id: ObjectId,
    token_hash: String,
    ttl: Duration,
    user_agent: Option<String>,
    address: Option<String>,
) -> mongodb::error::Result<SessionDoc> {
    let now = DateTime::now();
    let session = SessionDoc {
        id: ObjectId::new(),
        user_id,
        token_hash,
        previous_hashes: Vec::new(),
        created_at: now,
        last_used_at: now,
        expires_at: expiry(ttl),
        revoked_at: None,
        user_agent,
        address,
    };
    sessions.insert_one(&session).await?;
    Ok(session)
}

pub enum Rotation {
    /// The token was current: it has been replaced by the new one.
    Rotated(SessionDoc),
    /// The token had already been replaced: the session is now revoked.
    ReuseDetected {
        session_id: ObjectId,
        user_id: ObjectId,
    },
    /// Unknown, expired or revoked.
    Invalid,
}

/// Atomically swaps `old_hash` for `new_hash`. The filter only matches the current token of a
/// live session, so of two concurrent refreshes with the same token exactly one succeeds and
/// the other is treated as reuse.
pub async fn rotate(
    sessions: &Collection<SessionDoc>,
    old_hash: &str,
    new_hash: String,
    ttl: Duration,
) -> mongodb::error::Result<Rotation> {
    let now = DateTime::now();
    let rotated = sessions
        .find_one_and_update(
            doc! { "token_hash": old_hash, "revoked_at": null, "expires_at": { "$gt": now } },
            doc! {
                "$set": { "token_hash": new_hash, "last_used_at": now, "expires_at": expiry(ttl) },
                "$push": { "previous_hashes": { "$each": [old_hash], "$slice": -REMEMBERED_HASHES } },
            },
        )
        .return_document(ReturnDocument::After)
        .await?;
    if let Some(session) = rotated {
        return Ok(Rotation::Rotated(session));
    }
    let reused = sessions
        .clone_with_type::<Document>()
        .find_one(doc! { "previous_hashes": old_hash })
        .projection(doc! { "_id": 1, "user_id": 1 })
        .await?;
    match reused.and_then(|d| {
        Some((
            d.get_object_id("_id").ok()?,
            d.get_object_id("user_id").ok()?,
        ))
    }) {
        Some((session_id, user_id)) => {
            revoke(sessions, session_id).await?;
            Ok(Rotation::ReuseDetected {
                session_id,
                user_id,
            })
        }
        None => Ok(Rotation::Invalid),
    }
}

/// The session (and its user) whose current or past refresh token has this hash.
pub async fn find_by_any_token(
    sessions: &Collection<SessionDoc>,
    token_hash: &str,
) -> mongodb::error::Result<Option<(ObjectId, ObjectId)>> {
    let found = sessions
        .clone_with_type::<Document>()
        .find_one(
            doc! { "$or": [ { "token_hash": token_hash }, { "previous_hashes": token_hash } ] },
        )
        .projection(doc! { "_id": 1, "user_id": 1 })
        .await?;
    Ok(found.and_then(|d| {
        Some((
            d.get_object_id("_id").ok()?,
            d.get_object_id("user_id").ok()?,
        ))
    }))
}

pub async fn revoke(
    sessions: &Collection<SessionDoc>,
    session_id: ObjectId,
) -> mongodb::error::Result<()> {
    sessions
        .update_one(
            doc! { "_id": session_id, "revoked_at": null },
            doc! { "$set": { "revoked_at": DateTime::now() } },
        )
        .await
        .map(drop)
}

/// Of `ids`, the sessions that are live (neither revoked nor expired), with their users: one
/// read for a burst of requests whose sessions the cache did not know.
pub async fn live_among(
    sessions: &Collection<SessionDoc>,
    ids: &[ObjectId],
) -> mongodb::error::Result<std::collections::HashMap<ObjectId, ObjectId>> {
    use futures::TryStreamExt as _;
    #[derive(Deserialize)]
    struct Owner {
        #[serde(rename = "_id")]
        id: ObjectId,
        user_id: ObjectId,
    }
    let found: Vec<Owner> = sessions
        .clone_with_type::<Owner>()
        .find(doc! {
            "_id": { "$in": ids },
            "revoked_at": null,
            "expires_at": { "$gt": DateTime::now() },
        })
        .projection(doc! { "_id": 1, "user_id": 1 })
        .await?
        .try_collect()
        .await?;
    Ok(found.into_iter().map(|s| (s.id, s.user_id)).collect())
}

/// Whether the session exists, belongs to the user, and is neither revoked nor expired.
pub async fn is_active(
    sessions: &Collection<SessionDoc>,
    session_id: ObjectId,
    user_id: ObjectId,
) -> mongodb::error::Result<bool> {
    let found = sessions
        .clone_with_type::<Document>()
        .find_one(doc! {
            "_id": session_id,
            "user_id": user_id,
            "revoked_at": null,
            "expires_at": { "$gt": DateTime::now() },
        })
        .projection(doc! { "_id": 1 })
        .await?;
    Ok(found.is_some())
}

/// The user's sessions that are live (neither revoked nor expired), most recently used first.
pub async fn live_of(
    sessions: &Collection<SessionDoc>,
    user_id: ObjectId,
) -> mongodb::error::Result<Vec<SessionDoc>> {
    use futures::TryStreamExt as _;
    sessions
        .find(doc! {
            "user_id": user_id,
            "revoked_at": null,
            "expires_at": { "$gt": DateTime::now() },
        })
        .projection(doc! { "previous_hashes": 0 })
        .sort(doc! { "last_used_at": -1 })
        .limit(500)
        .await?
        .try_collect()
        .await
}

/// Revokes the user's live sessions, except `keep`; the ids of those it ended.
pub async fn revoke_all_of(
    sessions: &Collection<SessionDoc>,
    user_id: ObjectId,
    keep: Option<ObjectId>,
) -> mongodb::error::Result<Vec<ObjectId>> {
    let mut filter = doc! { "user_id": user_id, "revoked_at": null };
    if let Some(keep) = keep {
        filter.insert("_id", doc! { "$ne": keep });
    }
    let ids = super::ids_matching(sessions, filter.clone()).await?;
    if ids.is_empty() {
        return Ok(ids);
    }
    filter.insert("_id", doc! { "$in": &ids });
    sessions
        .update_many(filter, doc! { "$set": { "revoked_at": DateTime::now() } })
        .await?;
    Ok(ids)
}

/// Revokes one of the user's sessions; false if it is not theirs or not live.
pub async fn revoke_of(
    sessions: &Collection<SessionDoc>,
    user_id: ObjectId,
    session_id: ObjectId,
) -> mongodb::error::Result<bool> {
    let result = sessions
        .update_one(
            doc! {
                "_id": session_id,
                "user_id": user_id,
                "revoked_at": null,
                "expires_at": { "$gt": DateTime::now() },
            },
            doc! { "$set": { "revoked_at": DateTime::now() } },
        )
        .await?;
    Ok(result.modified_count == 1)
}
