//! The `messages` collection: a tree per chat (`parent_id`), user turns and answers.

use futures::TryStreamExt as _;
use mongodb::{
    Collection,
    bson::{self, DateTime, Document, doc, oid::ObjectId},
};
use serde::{Deserialize, Serialize};

pub use crate::domain::Role;
use crate::domain::SamplingParams;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = MessageStatus)]
pub enum Status {
    Streaming,
    Complete,
    Stopped,
    Error,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// True when the upstream reported no usage and Confab estimated it.
    pub estimated: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MessageError {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MessageDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub chat_id: ObjectId,
    pub user_id: ObjectId,
    #[serde(default)]
    pub parent_id: Option<ObjectId>,
    pub role: Role,
    pub content: String,
    pub status: Status,
    pub created_at: DateTime,
    pub updated_at: DateTime,
    /// Idempotency key of the submission that created this user message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_request_id: Option<String>,
    /// `"{chat_id}:{client_request_id}"`, unique: one submission creates one message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_key: Option<String>,
    /// Answers: the exact parameters sent upstream, with the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<SamplingParams>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_per_second: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<MessageError>,
}

impl MessageDoc {
    pub fn user(
        chat_id: ObjectId,
        user_id: ObjectId,
        parent_id: Option<ObjectId>,
        content: String,
        client_request_id: Option<String>,
    ) -> Self {
        let now = DateTime::now();
        Self {
            id: ObjectId::new(),
            chat_id,
            user_id,
            parent_id,
            role: Role::User,
            content,
            status: Status::Complete,
            created_at: now,
            updated_at: now,
            client_request_id,
            request_key: None,
            parameters: None,
            model: None,
            usage: None,
            ttft_ms: None,
            duration_ms: None,
            tokens_per_second: None,
            finish_reason: None,
            error: None,
        }
    }

    /// An empty answer being generated.
    pub fn placeholder(
        chat_id: ObjectId,
        user_id: ObjectId,
        parent_id: ObjectId,
        model: String,
        parameters: SamplingParams,
    ) -> Self {
        let mut message = Self::user(chat_id, user_id, Some(parent_id), String::new(), None);
        message.role = Role::Assistant;
        message.status = Status::Streaming;
        message.model = Some(model);
        message.parameters = Some(parameters);
        message
    }
}

/// The branch from the root down to `leaf` (inclusive), without blank messages: what an
/// upstream is sent as history, and what a vote's prompt was.
pub fn branch_to<'a>(
    by_id: &std::collections::HashMap<ObjectId, &'a MessageDoc>,
    leaf: Option<ObjectId>,
) -> Vec<&'a MessageDoc> {
    let mut path = Vec::new();
    let mut next = leaf;
    while let Some(id) = next {
        let Some(message) = by_id.get(&id) else { break };
        if path.len() > by_id.len() {
            break; // a cycle cannot happen through the API; never loop forever anyway
        }
        path.push(*message);
        next = message.parent_id;
    }
    path.reverse();
    path.retain(|m| !m.content.trim().is_empty());
    path
}

pub const REQUEST_KEY_INDEX: &str = "messages_request_key_unique";

pub fn request_key(chat_id: ObjectId, client_request_id: &str) -> String {
    format!("{}:{client_request_id}", chat_id.to_hex())
}

#[tracing::instrument(skip_all, fields(count = docs.len()))]
pub async fn insert_many(
    messages: &Collection<MessageDoc>,
    docs: &[MessageDoc],
) -> mongodb::error::Result<()> {
    messages.insert_many(docs).await.map(drop)
}

/// Every message of a chat that belongs to `user_id`, oldest first (safe to run before the
/// chat's ownership is known).
#[tracing::instrument(skip_all, fields(%chat_id))]
pub async fn for_chat_of(
    messages: &Collection<MessageDoc>,
    chat_id: ObjectId,
    user_id: ObjectId,
) -> mongodb::error::Result<Vec<MessageDoc>> {
    messages
        .find(doc! { "chat_id": chat_id, "user_id": user_id })
        .sort(doc! { "created_at": 1, "_id": 1 })
        .await?
        .try_collect()
        .await
}

/// Every message of these chats that belongs to `user_id` (so another user's text can never
/// be read through a chat id), in no particular order.
pub async fn for_chats_of(
    messages: &Collection<MessageDoc>,
    chat_ids: &[ObjectId],
    user_id: ObjectId,
) -> mongodb::error::Result<Vec<MessageDoc>> {
    if chat_ids.is_empty() {
        return Ok(Vec::new());
    }
    messages
        .find(doc! { "chat_id": { "$in": chat_ids }, "user_id": user_id })
        .await?
        .try_collect()
        .await
}

/// Every message of a chat, oldest first.
pub async fn for_chat(
    messages: &Collection<MessageDoc>,
    chat_id: ObjectId,
) -> mongodb::error::Result<Vec<MessageDoc>> {
    messages
        .find(doc! { "chat_id": chat_id })
        .sort(doc! { "created_at": 1, "_id": 1 })
        .await?
        .try_collect()
        .await
}

pub async fn find_in_chat(
    messages: &Collection<MessageDoc>,
    chat_id: ObjectId,
    message_id: ObjectId,
) -> mongodb::error::Result<Option<MessageDoc>> {
    messages
        .find_one(doc! { "_id": message_id, "chat_id": chat_id })
        .await
}

/// The user message a chat already holds for this idempotency key, if any.
pub async fn find_by_request_id(
    messages: &Collection<MessageDoc>,
    chat_id: ObjectId,
    client_request_id: &str,
) -> mongodb::error::Result<Option<MessageDoc>> {
    messages
        .find_one(doc! { "chat_id": chat_id, "client_request_id": client_request_id })
        .await
}

/// The newest answer to a user message.
pub async fn latest_child(
    messages: &Collection<MessageDoc>,
    parent_id: ObjectId,
) -> mongodb::error::Result<Option<MessageDoc>> {
    messages
        .find_one(doc! { "parent_id": parent_id })
        .sort(doc! { "created_at": -1, "_id": -1 })
        .await
}

/// Saves the partial text of an answer still being generated.
pub async fn save_partial(
    messages: &Collection<MessageDoc>,
    message_id: ObjectId,
    content: &str,
) -> mongodb::error::Result<()> {
    messages
        .update_one(
            doc! { "_id": message_id, "status": "streaming" },
            doc! { "$set": { "content": content, "updated_at": DateTime::now() } },
        )
        .await
        .map(drop)
}

/// Writes the final state of an answer.
pub async fn finish(
    messages: &Collection<MessageDoc>,
    message: &MessageDoc,
) -> mongodb::error::Result<()> {
    let mut set = bson::to_document(message)?;
    set.remove("_id");
    set.insert("updated_at", DateTime::now());
    messages
        .update_one(doc! { "_id": message.id }, doc! { "$set": set })
        .await
        .map(drop)
}

/// Ids of the user's chats with a message matching the (escaped) pattern.
pub async fn chats_matching(
    messages: &Collection<MessageDoc>,
    user_id: ObjectId,
    pattern: &str,
) -> mongodb::error::Result<Vec<ObjectId>> {
    let found: Vec<Document> = messages
        .clone_with_type::<Document>()
        .find(doc! { "user_id": user_id, "content": { "$regex": pattern, "$options": "i" } })
        .projection(doc! { "chat_id": 1 })
        .limit(1000)
        .await?
        .try_collect()
        .await?;
    let mut ids: Vec<ObjectId> = found
        .iter()
        .filter_map(|d| d.get_object_id("chat_id").ok())
        .collect();
    ids.sort();
    ids.dedup();
    Ok(ids)
}

pub async fn delete_for_chat(
    messages: &Collection<MessageDoc>,
    chat_id: ObjectId,
) -> mongodb::error::Result<()> {
    messages
        .delete_many(doc! { "chat_id": chat_id })
        .await
        .map(drop)
}

/// Answers left `streaming` by a crash or restart are marked as errors, keeping their text.
pub async fn mark_interrupted(messages: &Collection<MessageDoc>) -> mongodb::error::Result<u64> {
    let result = messages
        .update_many(
            doc! { "status": "streaming" },
            doc! { "$set": {
                "status": "error",
                "error": { "code": "interrupted", "message": "the server stopped during generation" },
                "updated_at": DateTime::now(),
            } },
        )
        .await?;
    Ok(result.modified_count)
}
