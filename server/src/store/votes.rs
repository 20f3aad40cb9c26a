//! The `votes` collection: one vote (`up`/`down`, with an optional reason) per user per answer.

use std::collections::HashMap;

use futures::TryStreamExt as _;
use mongodb::{
    Collection,
    bson::{DateTime, doc, oid::ObjectId},
};
use serde::{Deserialize, Serialize};

use super::duplicate_key_index;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Vote {
    Up,
    Down,
}

impl Vote {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Up => "up",
            Self::Down => "down",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VoteDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub user_id: ObjectId,
    pub chat_id: ObjectId,
    pub message_id: ObjectId,
    pub vote: Vote,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub created_at: DateTime,
    /// When the current vote was cast.
    pub updated_at: DateTime,
}

/// One vote per user per message.
pub const USER_MESSAGE_INDEX: &str = "votes_user_message_unique";

/// Records (or replaces) the user's vote on a message of `chat_id`. Safe under concurrency:
/// racing upserts leave exactly one record, holding one of the votes.
pub async fn set(
    votes: &Collection<VoteDoc>,
    user_id: ObjectId,
    chat_id: ObjectId,
    message_id: ObjectId,
    vote: Vote,
    reason: Option<&str>,
) -> mongodb::error::Result<()> {
    let now = DateTime::now();
    let filter = doc! { "user_id": user_id, "message_id": message_id };
    let mut set = doc! { "vote": vote.as_str(), "updated_at": now };
    let mut update = doc! { "$setOnInsert": { "created_at": now, "chat_id": chat_id } };
    match reason {
        Some(reason) => {
            set.insert("reason", reason);
        }
        None => {
            update.insert("$unset", doc! { "reason": "" });
        }
    }
    update.insert("$set", set);
    let upserted = votes
        .update_one(filter.clone(), update.clone())
        .upsert(true)
        .await;
    match upserted {
        // A concurrent upsert inserted the record first (the unique index on
        // `(user_id, message_id)` is the only one an upsert can violate): it exists now.
        Err(err) if duplicate_key_index(&err).is_some() => {
            votes.update_one(filter, update).await.map(drop)
        }
        other => other.map(drop),
    }
}

/// Removes the user's vote on a message (nothing to do if there is none).
pub async fn clear(
    votes: &Collection<VoteDoc>,
    user_id: ObjectId,
    message_id: ObjectId,
) -> mongodb::error::Result<()> {
    votes
        .delete_one(doc! { "user_id": user_id, "message_id": message_id })
        .await
        .map(drop)
}

/// The user's votes in one chat, by message id.
pub async fn for_chat(
    votes: &Collection<VoteDoc>,
    user_id: ObjectId,
    chat_id: ObjectId,
) -> mongodb::error::Result<HashMap<ObjectId, Vote>> {
    for_chats(votes, user_id, &[chat_id]).await
}

/// The user's votes on the messages of these chats, by message.
pub async fn for_chats(
    votes: &Collection<VoteDoc>,
    user_id: ObjectId,
    chat_ids: &[ObjectId],
) -> mongodb::error::Result<HashMap<ObjectId, Vote>> {
    let found: Vec<VoteDoc> = votes
        .find(doc! { "chat_id": { "$in": chat_ids }, "user_id": user_id })
        .await?
        .try_collect()
        .await?;
    Ok(found.into_iter().map(|v| (v.message_id, v.vote)).collect())
}

/// Every vote of the user, oldest first.
pub async fn for_user(
    votes: &Collection<VoteDoc>,
    user_id: ObjectId,
) -> mongodb::error::Result<Vec<VoteDoc>> {
    votes
        .find(doc! { "user_id": user_id })
        .sort(doc! { "updated_at": 1, "_id": 1 })
        .await?
        .try_collect()
        .await
}

/// Removes every vote on a chat's messages (the chat is being deleted).
pub async fn delete_for_chat(
    votes: &Collection<VoteDoc>,
    chat_id: ObjectId,
) -> mongodb::error::Result<()> {
    votes
        .delete_many(doc! { "chat_id": chat_id })
        .await
        .map(drop)
}
