//! The `audit` collection: every admin action and every burst of failed sign-ins, kept 90 days
//! (a TTL index on `at`).

use futures::TryStreamExt as _;
use mongodb::{
    Collection,
    bson::{DateTime, doc, oid::ObjectId},
};
use serde::{Deserialize, Serialize};

/// How long entries are kept.
pub const RETENTION: std::time::Duration = std::time::Duration::from_secs(90 * 86_400);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub at: DateTime,
    /// Who acted: an admin, or `None` (the command line, or an anonymous client).
    pub actor_id: Option<ObjectId>,
    pub actor_name: Option<String>,
    /// What happened, e.g. `user.update`, `invite.create`, `login.failures`.
    pub action: String,
    /// What it was done to, e.g. an account's username or an invite's id.
    pub target: Option<String>,
    /// From where (the client's address, approximate), when known.
    pub address: Option<String>,
    /// What changed, in a few words.
    pub detail: Option<String>,
}

impl AuditDoc {
    pub fn new(action: &str) -> Self {
        Self {
            id: ObjectId::new(),
            at: DateTime::now(),
            actor_id: None,
            actor_name: None,
            action: action.to_owned(),
            target: None,
            address: None,
            detail: None,
        }
    }
}

pub async fn record(audit: &Collection<AuditDoc>, entry: &AuditDoc) -> mongodb::error::Result<()> {
    audit.insert_one(entry).await.map(drop)
}

/// One page, newest first, of the entries before `before`.
pub async fn page(
    audit: &Collection<AuditDoc>,
    before: Option<ObjectId>,
    limit: i64,
) -> mongodb::error::Result<Vec<AuditDoc>> {
    let filter = match before {
        Some(before) => doc! { "_id": { "$lt": before } },
        None => doc! {},
    };
    audit
        .find(filter)
        .sort(doc! { "_id": -1 })
        .limit(limit)
        .await?
        .try_collect()
        .await
}
