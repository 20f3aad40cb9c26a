//! What clients see of share links: the owner's list, and the snapshot a visitor reads (never
//! the owner's account).

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    domain::{Role, SamplingParams},
    store::shares::ShareDoc,
};

/// A share link as its owner sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ShareView {
    pub id: String,
    pub chat_id: String,
    /// The last message of the shared branch.
    pub message_id: String,
    /// The path of the link: `/s/{token}`.
    pub url: String,
    pub title: Option<String>,
    pub message_count: usize,
    /// Whether the snapshot shows each answer's model and parameters.
    pub includes_parameters: bool,
    pub created_at: DateTime<Utc>,
}

impl From<&ShareDoc> for ShareView {
    fn from(share: &ShareDoc) -> Self {
        Self {
            id: share.id.to_hex(),
            chat_id: share.chat_id.to_hex(),
            message_id: share.message_id.to_hex(),
            url: format!("/s/{}", share.token),
            title: share.title.clone(),
            message_count: share.messages.len(),
            includes_parameters: share.messages.iter().any(|m| m.parameters.is_some()),
            created_at: share.created_at.to_chrono(),
        }
    }
}

/// One message of a snapshot.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SharedMessageView {
    pub role: Role,
    pub content: String,
    /// Answers' model and parameters, when the owner included them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<SamplingParams>,
}

/// A snapshot, as anyone with its link reads it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SharedChatView {
    pub title: Option<String>,
    pub messages: Vec<SharedMessageView>,
    pub created_at: DateTime<Utc>,
}

impl From<&ShareDoc> for SharedChatView {
    fn from(share: &ShareDoc) -> Self {
        Self {
            title: share.title.clone(),
            messages: share
                .messages
                .iter()
                .map(|m| SharedMessageView {
                    role: m.role,
                    content: m.content.clone(),
                    model: m.model.clone(),
                    parameters: m.parameters.clone(),
                })
                .collect(),
            created_at: share.created_at.to_chrono(),
        }
    }
}
