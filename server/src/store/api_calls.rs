//! The `api_calls` collection: the `/v1` chat completions that are not saved as chats, so that
//! they count against their user's fair-use limits (at once, per minute) on every process as
//! answers do. One document per call: inserted `running` when it starts, `running: false`
//! when it ends; removed by a TTL index a minute after (or, for one whose process died, once
//! the lease sweep has ended it). Nothing of what was asked or answered is kept here.

use std::time::Duration;

use futures::TryStreamExt as _;
use mongodb::{
    Collection,
    bson::{DateTime, Document, doc, oid::ObjectId},
};
use serde::{Deserialize, Serialize};

use super::messages::first_id_at;

/// How long an ended call is kept (it counts against the minute's limit).
const KEPT_AFTER_END: Duration = Duration::from_secs(61);
/// The longest a running call's document may live (far beyond any call's total timeout).
const KEPT_WHILE_RUNNING: Duration = Duration::from_secs(86_400);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiCallDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub user_id: ObjectId,
    /// The process running it (`INSTANCE_ID`).
    pub owner: String,
    pub running: bool,
    pub expires_at: DateTime,
}

fn after(offset: Duration) -> DateTime {
    DateTime::from_millis(
        DateTime::now()
            .timestamp_millis()
            .saturating_add(i64::try_from(offset.as_millis()).unwrap_or(i64::MAX / 4)),
    )
}

/// Records a call starting now; returns its id (ordered with answers' ids by time).
pub async fn begin(
    calls: &Collection<ApiCallDoc>,
    user_id: ObjectId,
    owner: &str,
) -> mongodb::error::Result<ObjectId> {
    let call = ApiCallDoc {
        id: ObjectId::new(),
        user_id,
        owner: owner.to_owned(),
        running: true,
        expires_at: after(KEPT_WHILE_RUNNING),
    };
    calls.insert_one(&call).await?;
    Ok(call.id)
}

/// The call ended: it no longer counts as running, and counts against the minute until the
/// TTL index removes it.
pub async fn end(calls: &Collection<ApiCallDoc>, id: ObjectId) -> mongodb::error::Result<()> {
    calls
        .update_one(
            doc! { "_id": id },
            doc! { "$set": { "running": false, "expires_at": after(KEPT_AFTER_END) } },
        )
        .await
        .map(drop)
}

/// A call refused after it was recorded (over a limit): it never ran.
pub async fn withdraw(calls: &Collection<ApiCallDoc>, id: ObjectId) -> mongodb::error::Result<()> {
    calls.delete_one(doc! { "_id": id }).await.map(drop)
}

/// The user's calls that count against the limits: running ones and those started at or after
/// `since`; `(id, still running)`, oldest first (the shape of `messages::counted_answers`).
pub async fn counted(
    calls: &Collection<ApiCallDoc>,
    user_id: ObjectId,
    since: std::time::SystemTime,
) -> mongodb::error::Result<Vec<(ObjectId, bool)>> {
    let from = first_id_at(since);
    let found: Vec<Document> = calls
        .clone_with_type::<Document>()
        .find(doc! {
            "user_id": user_id,
            "$or": [{ "running": true }, { "_id": { "$gte": from } }],
        })
        .sort(doc! { "_id": 1 })
        .projection(doc! { "_id": 1, "running": 1 })
        .await?
        .try_collect()
        .await?;
    Ok(found
        .iter()
        .filter_map(|d| Some((d.get_object_id("_id").ok()?, d.get_bool("running").ok()?)))
        .collect())
}

/// Ends the running calls of processes that are gone (older than `older_than`); how many.
pub async fn end_orphans(
    calls: &Collection<ApiCallDoc>,
    alive: &[String],
    older_than: ObjectId,
) -> mongodb::error::Result<u64> {
    let ended = calls
        .update_many(
            doc! { "running": true, "owner": { "$nin": alive }, "_id": { "$lt": older_than } },
            doc! { "$set": { "running": false, "expires_at": after(KEPT_AFTER_END) } },
        )
        .await?;
    Ok(ended.modified_count)
}
