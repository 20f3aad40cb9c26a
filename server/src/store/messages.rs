//! The `messages` collection: a tree per chat (`parent_id`), user turns and answers.

use futures::TryStreamExt as _;
use mongodb::{
    Collection,
    bson::{DateTime, Document, doc, oid::ObjectId},
};
use serde::{Deserialize, Serialize};

pub use crate::domain::Role;
use crate::domain::{SamplingParams, params::response_format::Structured};

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

/// One continuation of an answer: what it ran with and how it went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Continuation {
    /// The exact parameters sent upstream for it.
    #[serde(with = "super::stored_params")]
    pub parameters: SamplingParams,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<MessageError>,
    /// The tokens of this continuation alone (the answer's `usage` adds them up).
    pub usage: Usage,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft_ms: Option<i64>,
    pub duration_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_per_second: Option<f64>,
    pub started_at: DateTime,
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
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "super::stored_params::option"
    )]
    pub parameters: Option<SamplingParams>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Answers whose parameters all came from a preset (the chat's, without overrides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset_id: Option<ObjectId>,
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
    /// Answers asked for structured output: how the text measured up to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub structured: Option<Structured>,
    /// Answers continued after they ended: each continuation, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub continuations: Vec<Continuation>,
    /// For an answer being generated: the process generating it (`INSTANCE_ID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Set by a process asked to stop an answer that another process generates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_requested: Option<bool>,
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
            preset_id: None,
            usage: None,
            ttft_ms: None,
            duration_ms: None,
            tokens_per_second: None,
            finish_reason: None,
            error: None,
            structured: None,
            continuations: Vec::new(),
            owner: None,
            stop_requested: None,
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

pub async fn find_by_id(
    messages: &Collection<MessageDoc>,
    message_id: ObjectId,
) -> mongodb::error::Result<Option<MessageDoc>> {
    messages.find_one(doc! { "_id": message_id }).await
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

/// Removes messages no one has heard of yet (a start withdrawn over a limit).
pub async fn delete_ids(
    messages: &Collection<MessageDoc>,
    ids: &[ObjectId],
) -> mongodb::error::Result<()> {
    messages
        .delete_many(doc! { "_id": { "$in": ids } })
        .await
        .map(drop)
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

/// The error an answer gets when the process generating it stopped or died.
/// The answers that may be continued: stopped, cut at `max_tokens` (`length`), or interrupted.
fn continuable() -> Document {
    doc! { "role": "assistant", "$or": [
        { "status": "stopped" },
        { "status": "complete", "finish_reason": "length" },
        { "status": "error", "error.code": "interrupted" },
    ] }
}

/// Whether `message` is one that may be continued (as `continuable`).
pub fn is_continuable(message: &MessageDoc) -> bool {
    message.role == Role::Assistant
        && match message.status {
            Status::Stopped => true,
            Status::Complete => message.finish_reason.as_deref() == Some("length"),
            Status::Error => message
                .error
                .as_ref()
                .is_some_and(|e| e.code == "interrupted"),
            Status::Streaming => false,
        }
}

/// Takes the answer back to `streaming` for a continuation by `owner`, if it is still one
/// that may be continued (of two continuations asked at once, one gets it).
pub async fn claim_for_continuation(
    messages: &Collection<MessageDoc>,
    id: ObjectId,
    owner: &str,
) -> mongodb::error::Result<bool> {
    let mut filter = continuable();
    filter.insert("_id", id);
    let claimed = messages
        .update_one(
            filter,
            doc! { "$set": { "status": "streaming", "owner": owner, "updated_at": DateTime::now() } },
        )
        .await?;
    Ok(claimed.modified_count == 1)
}

/// Puts back an answer claimed for a continuation that did not start (as it was before).
pub async fn give_back(
    messages: &Collection<MessageDoc>,
    before: &MessageDoc,
) -> mongodb::error::Result<()> {
    messages
        .replace_one(doc! { "_id": before.id, "status": "streaming" }, before)
        .await
        .map(drop)
}

fn interrupted() -> Document {
    doc! {
        "status": "error",
        "error": { "code": "interrupted", "message": "the server stopped during generation" },
        "updated_at": DateTime::now(),
    }
}

/// Answers left `streaming` by a process that is no longer alive (not one of `alive`) are
/// marked as errors, keeping the text saved so far. Each is claimed by one conditional update,
/// so two processes sweeping at once mark (and announce) each answer once. Only answers
/// created before `older_than` are looked at. Returns them.
pub async fn interrupt_orphans(
    messages: &Collection<MessageDoc>,
    alive: &[String],
    older_than: ObjectId,
) -> mongodb::error::Result<Vec<MessageDoc>> {
    let orphaned = doc! {
        "status": "streaming",
        "owner": { "$nin": alive },
        "_id": { "$lt": older_than },
    };
    let found: Vec<Document> = messages
        .clone_with_type::<Document>()
        .find(orphaned.clone())
        .projection(doc! { "_id": 1 })
        .await?
        .try_collect()
        .await?;
    let mut marked = Vec::new();
    for id in found.iter().filter_map(|d| d.get_object_id("_id").ok()) {
        let mut claim = orphaned.clone();
        claim.insert("_id", id);
        claim.insert("status", "streaming");
        if let Some(message) = messages
            .find_one_and_update(
                claim,
                doc! { "$set": interrupted(), "$unset": { "owner": "" } },
            )
            .return_document(mongodb::options::ReturnDocument::After)
            .await?
        {
            marked.push(message);
        }
    }
    Ok(marked)
}

/// Asks the process generating an answer of `user_id` to stop it; false if it is not running.
pub async fn request_stop(
    messages: &Collection<MessageDoc>,
    message_id: ObjectId,
    user_id: ObjectId,
) -> mongodb::error::Result<bool> {
    let result = messages
        .update_one(
            doc! { "_id": message_id, "user_id": user_id, "status": "streaming" },
            doc! { "$set": { "stop_requested": true } },
        )
        .await?;
    Ok(result.matched_count > 0)
}

/// The smallest id a document created at `time` (to the second) can have.
pub fn first_id_at(time: std::time::SystemTime) -> ObjectId {
    let secs = time
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX));
    let mut bytes = [0u8; 12];
    bytes[..4].copy_from_slice(&secs.to_be_bytes());
    ObjectId::from_bytes(bytes)
}

/// The user's answers that count against the fair-use limits, in one query: those being
/// generated now (by any process) and those created at or after `since`; `(id, still
/// generating)`, oldest first.
pub async fn counted_answers(
    messages: &Collection<MessageDoc>,
    user_id: ObjectId,
    since: std::time::SystemTime,
) -> mongodb::error::Result<Vec<(ObjectId, bool)>> {
    let from = first_id_at(since);
    let found: Vec<Document> = messages
        .clone_with_type::<Document>()
        .find(doc! {
            "user_id": user_id,
            "role": "assistant",
            "$or": [{ "status": "streaming" }, { "_id": { "$gte": from } }],
        })
        .sort(doc! { "_id": 1 })
        .projection(doc! { "_id": 1, "status": 1 })
        .await?
        .try_collect()
        .await?;
    Ok(found
        .iter()
        .filter_map(|d| {
            let id = d.get_object_id("_id").ok()?;
            Some((id, d.get_str("status").is_ok_and(|s| s == "streaming")))
        })
        .collect())
}

/// A change to a message that another process may have to act on.
#[derive(Debug)]
pub enum MessageChange {
    /// A partial save of an answer being generated (its whole text so far), or a stop request.
    Updated {
        id: ObjectId,
        content: Option<String>,
        stop_requested: bool,
    },
    Deleted(ObjectId),
}

/// Which changes of `messages` other processes act on: partial saves (new text, status
/// unchanged), stop requests and deletions; not the final save (its status changes), whose
/// text the log's `generation.finished` carries. Only what the update changed is read (no
/// look-up of the whole document per change and per process).
pub(super) fn change_filter() -> Document {
    doc! { "$or": [
        { "operationType": "delete" },
        {
            "updateDescription.updatedFields.content": { "$exists": true },
            "updateDescription.updatedFields.status": { "$exists": false },
        },
        { "updateDescription.updatedFields.stop_requested": { "$exists": true } },
    ] }
}

/// What a change that `change_filter` let through means.
pub(super) fn read_change<T>(
    event: &mongodb::change_stream::event::ChangeStreamEvent<T>,
) -> Option<MessageChange> {
    use mongodb::change_stream::event::OperationType;
    let id = event
        .document_key
        .as_ref()
        .and_then(|key| key.get_object_id("_id").ok())?;
    match event.operation_type {
        OperationType::Delete => Some(MessageChange::Deleted(id)),
        OperationType::Update => {
            let fields = &event.update_description.as_ref()?.updated_fields;
            Some(MessageChange::Updated {
                id,
                content: fields.get_str("content").ok().map(str::to_owned),
                stop_requested: fields.get_bool("stop_requested").unwrap_or(false),
            })
        }
        _ => None,
    }
}
