//! What clients see of a personal API key: never its value, but on creation (once).

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::store::api_keys::ApiKeyDoc;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiKeyView {
    pub id: String,
    pub name: String,
    /// The key's first characters (`cfk_` and 8 more), to tell keys apart.
    #[schema(example = "cfk_Xy3kP0aQ")]
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    /// `null`: never expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// To the minute; `null`: never used.
    pub last_used_at: Option<DateTime<Utc>>,
}

impl ApiKeyView {
    pub fn of(key: &ApiKeyDoc) -> Self {
        Self {
            id: key.id.to_hex(),
            name: key.name.clone(),
            prefix: key.prefix.clone(),
            created_at: key.created_at.to_chrono(),
            expires_at: key.expires_at.map(|at| at.to_chrono()),
            last_used_at: key.last_used_at.map(|at| at.to_chrono()),
        }
    }
}

/// A key just created: the only time its value is shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub view: ApiKeyView,
    /// The key itself (`cfk_` + 256 random bits). Only its hash is kept: copy it now.
    #[schema(example = "cfk_Xy3kP0aQ7v3b9mN2cD5eF8gH1jK4lM6nO0pQ2rS4tU")]
    pub key: String,
}
