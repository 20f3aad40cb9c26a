//! What clients see of a chat.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{domain::SamplingParams, store::ChatDoc};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChatView {
    pub id: String,
    pub title: Option<String>,
    /// The chat's default sampling parameters.
    pub parameters: SamplingParams,
    /// The leaf of the branch on screen.
    pub current_message_id: Option<String>,
    /// The preset its parameters were copied from, while they are unchanged since.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preset_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Listed first.
    pub pinned: bool,
    /// Left out of the list; a search finds it (and says so with this).
    pub archived: bool,
    /// The folder it is in.
    pub folder_id: Option<String>,
}

impl From<&ChatDoc> for ChatView {
    fn from(chat: &ChatDoc) -> Self {
        Self {
            id: chat.id.to_hex(),
            title: chat.title.clone(),
            parameters: chat.parameters.clone(),
            current_message_id: chat.current_message_id.map(|id| id.to_hex()),
            preset_id: chat.preset_id.map(|id| id.to_hex()),
            created_at: chat.created_at.to_chrono(),
            updated_at: chat.updated_at.to_chrono(),
            pinned: chat.pinned,
            archived: chat.archived,
            folder_id: chat.folder_id.map(|id| id.to_hex()),
        }
    }
}
