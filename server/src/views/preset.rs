//! What clients see of a preset.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{domain::SamplingParams, store::presets::PresetDoc};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PresetView {
    pub id: String,
    pub name: String,
    /// The parameters a chat gets from it (copied: later edits of the preset do not change
    /// chats made from it).
    pub parameters: SamplingParams,
    /// Shared by an admin with every user.
    pub shared: bool,
    /// Whether the caller may change or delete it (their own; a shared one, for admins).
    pub editable: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl PresetView {
    pub fn of(preset: &PresetDoc, editable: bool) -> Self {
        Self {
            id: preset.id.to_hex(),
            name: preset.name.clone(),
            parameters: preset.parameters.clone(),
            shared: preset.is_shared(),
            editable,
            created_at: preset.created_at.to_chrono(),
            updated_at: preset.updated_at.to_chrono(),
        }
    }
}
