//! What clients see of a folder.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::store::folders::FolderDoc;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FolderView {
    pub id: String,
    pub name: String,
    /// Where it is shown among the user's folders (ascending).
    pub order: i64,
    pub created_at: DateTime<Utc>,
}

impl From<&FolderDoc> for FolderView {
    fn from(folder: &FolderDoc) -> Self {
        Self {
            id: folder.id.to_hex(),
            name: folder.name.clone(),
            order: folder.order,
            created_at: folder.created_at.to_chrono(),
        }
    }
}
