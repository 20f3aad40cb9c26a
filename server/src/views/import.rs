//! What clients see of an import job.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::store::imports::{Conversations, Format, ImportDoc, ImportError, Messages, Status};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportView {
    pub id: String,
    pub status: Status,
    pub format: Format,
    pub file_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub conversations: Conversations,
    pub messages: Messages,
    /// Non-text parts (images, files, audio) left out of messages that were kept.
    pub parts_skipped: u64,
    /// Presets of a Confab account export made here (one whose name is taken is left out).
    pub presets_imported: u64,
    /// Conversations that could not be imported (at most 100 are listed).
    pub errors: Vec<ImportError>,
    /// Why the whole import failed.
    pub error: Option<String>,
}

impl From<&ImportDoc> for ImportView {
    fn from(job: &ImportDoc) -> Self {
        Self {
            id: job.id.to_hex(),
            status: job.status,
            format: job.format,
            file_name: job.file_name.clone(),
            created_at: job.created_at.to_chrono(),
            finished_at: job.finished_at.map(|at| at.to_chrono()),
            conversations: job.conversations,
            messages: job.messages,
            parts_skipped: job.parts_skipped,
            presets_imported: job.presets_imported,
            errors: job.errors.clone(),
            error: job.error.clone(),
        }
    }
}
