//! The event envelope: `{type, id, at, chat_id?, message_id?, data?}`.

use chrono::{DateTime, Utc};
use mongodb::bson::oid::ObjectId;
use serde::Serialize;
use utoipa::ToSchema;

/// The event types.
pub mod kinds {
    pub const CHAT_CREATED: &str = "chat.created";
    pub const CHAT_UPDATED: &str = "chat.updated";
    pub const CHAT_DELETED: &str = "chat.deleted";
    pub const MESSAGE_CREATED: &str = "message.created";
    pub const MESSAGE_VOTED: &str = "message.voted";
    pub const GENERATION_STARTED: &str = "generation.started";
    pub const GENERATION_DELTA: &str = "generation.delta";
    pub const GENERATION_FINISHED: &str = "generation.finished";
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Event {
    /// One of `chat.created`, `chat.updated`, `chat.deleted`, `message.created`,
    /// `message.voted`, `generation.started`, `generation.delta`, `generation.finished`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Unique id of this event.
    pub id: String,
    pub at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

impl Event {
    pub fn new(kind: &'static str) -> Self {
        Self {
            kind,
            id: uuid::Uuid::new_v4().simple().to_string(),
            at: Utc::now(),
            chat_id: None,
            message_id: None,
            data: None,
        }
    }

    pub fn chat(mut self, chat_id: ObjectId) -> Self {
        self.chat_id = Some(chat_id.to_hex());
        self
    }

    pub fn message(mut self, message_id: ObjectId) -> Self {
        self.message_id = Some(message_id.to_hex());
        self
    }

    /// Attaches a payload (anything serialisable; on failure the event goes without one).
    pub fn data(mut self, data: impl Serialize) -> Self {
        self.data = serde_json::to_value(data).ok();
        self
    }
}
