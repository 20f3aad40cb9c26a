//! The `shares` collection: read-only snapshots of a branch of a chat, published at
//! `/s/{token}`. A snapshot is copied when it is made (later edits of the chat do not change
//! it); revoking deletes it, so its link answers 404 at once everywhere. The token (256 random
//! bits) is kept to show the owner their links again: it opens the snapshot and nothing else.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use futures::TryStreamExt as _;
use mongodb::{
    Collection,
    bson::{DateTime, doc, oid::ObjectId},
};
use serde::{Deserialize, Serialize};

use crate::domain::{Role, SamplingParams};

/// The unique index on the token.
pub const TOKEN_INDEX: &str = "shares_token_unique";
/// The most shares a user may keep.
pub const MAX_PER_USER: u64 = 500;

/// One message of a snapshot: what a reader sees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SharedMessage {
    pub role: Role,
    pub content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Only when the owner chose to include them.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "super::stored_params::option"
    )]
    pub parameters: Option<SamplingParams>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShareDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub user_id: ObjectId,
    pub chat_id: ObjectId,
    /// The last message of the shared branch.
    pub message_id: ObjectId,
    pub token: String,
    pub title: Option<String>,
    pub messages: Vec<SharedMessage>,
    pub created_at: DateTime,
}

/// A new token: 256 random bits, base64url.
pub fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

pub async fn insert(shares: &Collection<ShareDoc>, share: &ShareDoc) -> mongodb::error::Result<()> {
    shares.insert_one(share).await.map(drop)
}

pub async fn count_of(
    shares: &Collection<ShareDoc>,
    user_id: ObjectId,
) -> mongodb::error::Result<u64> {
    shares.count_documents(doc! { "user_id": user_id }).await
}

/// The user's shares, newest first (without their messages).
pub async fn of_user(
    shares: &Collection<ShareDoc>,
    user_id: ObjectId,
) -> mongodb::error::Result<Vec<ShareDoc>> {
    shares
        .find(doc! { "user_id": user_id })
        .sort(doc! { "_id": -1 })
        .await?
        .try_collect()
        .await
}

/// The snapshot behind a link, if it exists.
pub async fn by_token(
    shares: &Collection<ShareDoc>,
    token: &str,
) -> mongodb::error::Result<Option<ShareDoc>> {
    shares.find_one(doc! { "token": token }).await
}

/// Revokes the user's share; false when they have no such share.
pub async fn revoke(
    shares: &Collection<ShareDoc>,
    user_id: ObjectId,
    id: ObjectId,
) -> mongodb::error::Result<bool> {
    let deleted = shares
        .delete_one(doc! { "_id": id, "user_id": user_id })
        .await?;
    Ok(deleted.deleted_count == 1)
}
