//! The per-user event log (`events`): every live event a user can see except text deltas, in
//! order, each with a per-user sequence number `seq`. One document holds a batch of events
//! appended together (`seq` … `last`), so a batch is one write and atomic.
//!
//! Order: a batch follows the one whose `last` it names in `prev`, and `(user_id, prev)` is
//! unique, so two processes cannot append after the same batch: the loser re-reads the head
//! and tries again. A batch is therefore only written once the one before it is committed, and
//! the change stream delivers batches in `seq` order. A log that is empty (new, or expired)
//! starts at the current time in milliseconds, so `seq` never goes back for a user.

use std::collections::HashSet;

use futures::TryStreamExt as _;
use mongodb::{
    Collection,
    bson::{DateTime, Document, doc, oid::ObjectId},
};
use serde::{Deserialize, Serialize};

use super::duplicate_key_index;

/// One event of a batch: its frame (JSON, without `seq`) and what the log's readers act on.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LoggedEvent {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_id: Option<ObjectId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<ObjectId>,
    /// For `session.ended`: the session whose tokens and sockets end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<ObjectId>,
    /// The socket frame as JSON, without its `seq`.
    pub body: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventBatchDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub user_id: ObjectId,
    /// The `seq` of the first event; the others follow one by one.
    pub seq: i64,
    /// The `seq` of the last event.
    pub last: i64,
    /// The `last` of the batch before (0 for the first batch of a log).
    pub prev: i64,
    pub at: DateTime,
    pub events: Vec<LoggedEvent>,
}

impl EventBatchDoc {
    /// Each event with its `seq`.
    pub fn numbered(&self) -> impl Iterator<Item = (i64, &LoggedEvent)> {
        (self.seq..).zip(self.events.iter())
    }
}

pub const CHAIN_INDEX: &str = "events_chain_unique";

/// The head of a user's log: the `last` of its newest batch (0 when the log is empty).
pub async fn head(
    events: &Collection<EventBatchDoc>,
    user_id: ObjectId,
) -> mongodb::error::Result<i64> {
    let newest = events
        .clone_with_type::<Document>()
        .find_one(doc! { "user_id": user_id })
        .sort(doc! { "last": -1 })
        .projection(doc! { "last": 1, "_id": 0 })
        .await?;
    Ok(newest.and_then(|d| d.get_i64("last").ok()).unwrap_or(0))
}

/// What `append` did.
#[derive(Debug)]
pub enum Appended {
    /// Written as `seq`…`last`.
    Written(EventBatchDoc),
    /// Another writer appended after `prev` first: read the head again and retry.
    Conflict,
}

/// The batch that follows `prev` (0: the log is empty).
pub fn batch_after(user_id: ObjectId, prev: i64, events: Vec<LoggedEvent>) -> EventBatchDoc {
    let seq = if prev == 0 {
        DateTime::now().timestamp_millis().max(1)
    } else {
        prev + 1
    };
    let count = i64::try_from(events.len()).unwrap_or(i64::MAX / 4);
    EventBatchDoc {
        id: ObjectId::new(),
        user_id,
        seq,
        last: seq + count - 1,
        prev,
        at: DateTime::now(),
        events,
    }
}

/// Writes several users' batches (each made by `batch_after` on its user's head) in one
/// unordered insert; the ids of those now in the log. A batch not in it conflicted (another
/// writer appended after its `prev` first) or was refused: read the head again and retry. An
/// error means the command as a whole failed (none is known to be written).
pub async fn append_many(
    events: &Collection<EventBatchDoc>,
    docs: &[EventBatchDoc],
) -> mongodb::error::Result<HashSet<ObjectId>> {
    let ids: Vec<ObjectId> = docs.iter().map(|d| d.id).collect();
    let Err(err) = events.insert_many(docs).ordered(false).await else {
        return Ok(ids.into_iter().collect());
    };
    let refused_one = matches!(
        err.kind.as_ref(),
        mongodb::error::ErrorKind::InsertMany(failure)
            if failure.write_concern_error.is_none() && failure.write_errors.is_some()
    );
    if !refused_one {
        return Err(err);
    }
    super::present_ids(events, &ids).await
}

/// Appends `events` after the batch ending at `prev` (0: the log is empty).
pub async fn append(
    events: &Collection<EventBatchDoc>,
    user_id: ObjectId,
    prev: i64,
    batch: Vec<LoggedEvent>,
) -> mongodb::error::Result<Appended> {
    let doc = batch_after(user_id, prev, batch);
    match events.insert_one(&doc).await {
        Ok(_) => Ok(Appended::Written(doc)),
        Err(err) if duplicate_key_index(&err).is_some_and(|m| m.contains(CHAIN_INDEX)) => {
            Ok(Appended::Conflict)
        }
        Err(err) => Err(err),
    }
}

/// What a reader that has seen every event up to `since` missed.
#[derive(Debug)]
pub enum Since {
    /// The events after `since`, in order (possibly none).
    Events(Vec<(i64, LoggedEvent)>),
    /// `since` is unknown or older than what the log keeps (or too much was missed): reload.
    Resync,
}

/// The events after `since`, unless more than `limit` batches follow it.
pub async fn since(
    events: &Collection<EventBatchDoc>,
    user_id: ObjectId,
    since: i64,
    limit: i64,
) -> mongodb::error::Result<Since> {
    // A batch appended between the read of what follows `since` and the read of the head would
    // make an empty answer look like a gap: then read once more.
    let mut attempts = 0;
    let batches = loop {
        let batches: Vec<EventBatchDoc> = events
            .find(doc! { "user_id": user_id, "last": { "$gt": since } })
            .sort(doc! { "last": 1 })
            .limit(limit + 1)
            .await?
            .try_collect()
            .await?;
        if i64::try_from(batches.len()).unwrap_or(i64::MAX) > limit {
            return Ok(Since::Resync);
        }
        if !batches.is_empty() {
            break batches;
        }
        // Nothing after `since`: fine if `since` is the head, else it is not one of ours.
        let head = head(events, user_id).await?;
        if since == head {
            return Ok(Since::Events(Vec::new()));
        }
        attempts += 1;
        if head < since || attempts > 1 {
            return Ok(Since::Resync);
        }
    };
    let first = &batches[0];
    // The first batch after `since` must follow it: hold `since + 1`, or start a log that was
    // empty when the reader last saw it (`prev` 0, `since` 0). Otherwise events in between
    // expired, or `since` was never one of ours. Each batch must follow the one before.
    let contiguous = (first.seq <= since + 1 || first.prev == since)
        && batches.windows(2).all(|pair| pair[1].prev == pair[0].last);
    if !contiguous {
        return Ok(Since::Resync);
    }
    Ok(Since::Events(
        batches
            .iter()
            .flat_map(|batch| batch.numbered().map(|(seq, e)| (seq, e.clone())))
            .filter(|(seq, _)| *seq > since)
            .collect(),
    ))
}

/// Forgets batches older than `before` (the log's retention).
pub async fn purge(
    events: &Collection<EventBatchDoc>,
    before: DateTime,
) -> mongodb::error::Result<u64> {
    Ok(events
        .delete_many(doc! { "at": { "$lt": before } })
        .await?
        .deleted_count)
}
