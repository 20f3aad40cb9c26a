//! What clients see of a message: built field by field from the stored document.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    domain::{SamplingParams, params::response_format::Structured},
    store::{
        MessageDoc,
        messages::{Continuation, MessageError, Role, Status, Usage},
    },
};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MessageView {
    pub id: String,
    pub chat_id: String,
    pub parent_id: Option<String>,
    pub role: Role,
    pub content: String,
    pub status: Status,
    pub created_at: DateTime<Utc>,
    /// Answers: the exact parameters sent upstream (unset and unsupported ones absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<SamplingParams>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Answers: the preset their parameters came from (the chat's, with no override).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preset_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Time to first token, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttft_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens_per_second: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<MessageError>,
    /// Answers asked for structured output (`response_format`): whether the text is JSON that
    /// follows it, and what is wrong (at most 20 errors, each with its JSON Pointer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub structured: Option<Structured>,
    /// Answers continued after they ended: each continuation's parameters and stats (the
    /// answer's `usage` adds them up; its other stats are its first run's).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub continuations: Vec<ContinuationView>,
    /// The caller's vote on an answer (`up`, `down`), if any.
    pub vote: Option<String>,
}

/// One continuation of an answer: what it ran with and how it went.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ContinuationView {
    /// The exact parameters sent upstream for it.
    pub parameters: SamplingParams,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<MessageError>,
    /// This continuation's tokens alone.
    pub usage: Usage,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttft_ms: Option<i64>,
    pub duration_ms: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens_per_second: Option<f64>,
    pub started_at: DateTime<Utc>,
}

impl From<&Continuation> for ContinuationView {
    fn from(run: &Continuation) -> Self {
        Self {
            parameters: run.parameters.clone(),
            status: run.status,
            finish_reason: run.finish_reason.clone(),
            error: run.error.clone(),
            usage: run.usage.clone(),
            ttft_ms: run.ttft_ms,
            duration_ms: run.duration_ms,
            tokens_per_second: run.tokens_per_second,
            started_at: run.started_at.to_chrono(),
        }
    }
}

impl From<&MessageDoc> for MessageView {
    fn from(message: &MessageDoc) -> Self {
        Self {
            id: message.id.to_hex(),
            chat_id: message.chat_id.to_hex(),
            parent_id: message.parent_id.map(|id| id.to_hex()),
            role: message.role,
            content: message.content.clone(),
            status: message.status,
            created_at: message.created_at.to_chrono(),
            parameters: message.parameters.clone(),
            model: message.model.clone(),
            preset_id: message.preset_id.map(|id| id.to_hex()),
            usage: message.usage.clone(),
            ttft_ms: message.ttft_ms,
            duration_ms: message.duration_ms,
            tokens_per_second: message.tokens_per_second,
            finish_reason: message.finish_reason.clone(),
            error: message.error.clone(),
            structured: message.structured.clone(),
            continuations: message
                .continuations
                .iter()
                .map(ContinuationView::from)
                .collect(),
            vote: None,
        }
    }
}
