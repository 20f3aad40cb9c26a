//! One line of the feedback export.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    domain::{SamplingParams, Turn},
    store::votes::Vote,
};

/// One line of the export: a voted answer and what it answered.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedbackRecord {
    pub chat_id: String,
    pub message_id: String,
    /// The conversation up to the answer, as the model saw it: the system prompt first (when the
    /// answer had one), then the branch from the root to the answer's parent (blank messages
    /// left out, as they were upstream).
    pub prompt: Vec<Turn>,
    /// The answer's text.
    pub answer: String,
    /// The parameters the answer was generated with.
    pub parameters: SamplingParams,
    pub model: Option<String>,
    pub vote: Vote,
    pub reason: Option<String>,
    /// When the current vote was cast.
    pub voted_at: DateTime<Utc>,
}
