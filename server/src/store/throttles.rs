//! The `throttles` collection: counters that every Confab process shares (failed logins,
//! sign-ups per address), each a document keyed by what it counts, updated atomically with
//! `$inc` and removed by MongoDB once it expires (TTL index on `expires_at`).

use std::time::Duration;

use futures::TryStreamExt as _;
use mongodb::{
    Collection,
    bson::{DateTime, doc},
    options::ReturnDocument,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ThrottleDoc {
    /// What is counted, e.g. `login-ip:203.0.113.7:1964823`.
    #[serde(rename = "_id")]
    pub key: String,
    #[serde(default)]
    pub count: i64,
    /// When the count last grew.
    #[serde(default)]
    pub last_at: Option<DateTime>,
    /// MongoDB removes the document after this.
    pub expires_at: DateTime,
}

/// When a counter is forgotten.
#[derive(Debug, Clone, Copy)]
pub enum Expiry {
    /// At this time, whatever happens (a fixed window).
    At(DateTime),
    /// This long after its last increment.
    AfterLast(Duration),
}

fn later(duration: Duration) -> DateTime {
    let millis = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX / 2);
    DateTime::from_millis(DateTime::now().timestamp_millis().saturating_add(millis))
}

/// The counters under these keys that exist and have not expired.
pub async fn read(
    throttles: &Collection<ThrottleDoc>,
    keys: &[String],
) -> mongodb::error::Result<Vec<ThrottleDoc>> {
    throttles
        .find(doc! { "_id": { "$in": keys }, "expires_at": { "$gt": DateTime::now() } })
        .await?
        .try_collect()
        .await
}

/// Adds one to the counter (creating it) and returns it as it is now.
pub async fn bump(
    throttles: &Collection<ThrottleDoc>,
    key: &str,
    expiry: Expiry,
) -> mongodb::error::Result<ThrottleDoc> {
    let now = DateTime::now();
    let update = match expiry {
        Expiry::At(at) => doc! {
            "$inc": { "count": 1 },
            "$set": { "last_at": now },
            "$setOnInsert": { "expires_at": at },
        },
        Expiry::AfterLast(after) => doc! {
            "$inc": { "count": 1 },
            "$set": { "last_at": now, "expires_at": later(after) },
        },
    };
    let mut attempt = 0;
    loop {
        let result = throttles
            .find_one_and_update(doc! { "_id": key }, update.clone())
            .upsert(true)
            .return_document(ReturnDocument::After)
            .await;
        match result {
            Ok(Some(doc)) => return Ok(doc),
            Ok(None) => {
                return Ok(ThrottleDoc {
                    key: key.to_owned(),
                    count: 1,
                    last_at: Some(now),
                    expires_at: now,
                });
            }
            // Two first increments raced to insert: the loser increments the winner's.
            Err(err) if super::duplicate_key_index(&err).is_some() && attempt == 0 => attempt += 1,
            Err(err) => return Err(err),
        }
    }
}

/// Sets a marker that lasts `ttl` (e.g. "this address signed in to this account").
pub async fn mark(
    throttles: &Collection<ThrottleDoc>,
    key: &str,
    ttl: Duration,
) -> mongodb::error::Result<()> {
    throttles
        .update_one(
            doc! { "_id": key },
            doc! { "$set": { "expires_at": later(ttl), "last_at": DateTime::now() },
            "$setOnInsert": { "count": 0 } },
        )
        .upsert(true)
        .await
        .map(drop)
}

pub async fn clear(
    throttles: &Collection<ThrottleDoc>,
    keys: &[String],
) -> mongodb::error::Result<()> {
    throttles
        .delete_many(doc! { "_id": { "$in": keys } })
        .await
        .map(drop)
}
