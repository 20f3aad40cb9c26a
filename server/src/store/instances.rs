//! The Confab processes sharing this database (`instances`): each renews its own document's
//! `alive_until` every few seconds. Answers record their owner's id; a process whose lease ran
//! out is dead, and any other process marks its answers interrupted (`generation::lease`).

use futures::TryStreamExt as _;
use mongodb::{
    Collection,
    bson::{DateTime, doc},
    options::UpdateOptions,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InstanceDoc {
    #[serde(rename = "_id")]
    pub id: String,
    pub started_at: DateTime,
    pub alive_until: DateTime,
}

/// Creates or extends this process's lease until `until`.
pub async fn renew(
    instances: &Collection<InstanceDoc>,
    id: &str,
    until: DateTime,
) -> mongodb::error::Result<()> {
    instances
        .update_one(
            doc! { "_id": id },
            doc! {
                "$set": { "alive_until": until },
                "$setOnInsert": { "started_at": DateTime::now() },
            },
        )
        .with_options(UpdateOptions::builder().upsert(true).build())
        .await
        .map(drop)
}

/// The processes whose lease ran out before `now`.
pub async fn expired(
    instances: &Collection<InstanceDoc>,
    now: DateTime,
) -> mongodb::error::Result<Vec<String>> {
    ids(instances, doc! { "alive_until": { "$lt": now } }).await
}

/// The processes alive now.
pub async fn alive(
    instances: &Collection<InstanceDoc>,
    now: DateTime,
) -> mongodb::error::Result<Vec<String>> {
    ids(instances, doc! { "alive_until": { "$gte": now } }).await
}

async fn ids(
    instances: &Collection<InstanceDoc>,
    filter: mongodb::bson::Document,
) -> mongodb::error::Result<Vec<String>> {
    let found: Vec<InstanceDoc> = instances.find(filter).await?.try_collect().await?;
    Ok(found.into_iter().map(|d| d.id).collect())
}

/// Forgets a process (it stopped cleanly, or its answers were swept).
pub async fn remove(instances: &Collection<InstanceDoc>, id: &str) -> mongodb::error::Result<()> {
    instances.delete_one(doc! { "_id": id }).await.map(drop)
}
