//! The `usage` collection: tokens used per user, UTC day and model, counted (`$inc`, upsert)
//! when each answer ends. Deleting a chat does not give its tokens back.

use std::collections::BTreeMap;

use futures::TryStreamExt as _;
use mongodb::{
    Collection,
    bson::{Document, doc, oid::ObjectId},
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UsageDoc {
    /// `{user}:{day}:{model}`: one document per user, day and model.
    #[serde(rename = "_id")]
    pub id: String,
    pub user_id: ObjectId,
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    /// `YYYY-MM` (UTC).
    pub month: String,
    pub model: String,
    #[serde(default)]
    pub prompt_tokens: i64,
    #[serde(default)]
    pub completion_tokens: i64,
    #[serde(default)]
    pub answers: i64,
}

/// The day and month (UTC) of `at`, as the documents name them.
pub fn day_and_month(at: chrono::DateTime<chrono::Utc>) -> (String, String) {
    (
        at.format("%Y-%m-%d").to_string(),
        at.format("%Y-%m").to_string(),
    )
}

/// One answer's tokens, to add to its user's document of the day and model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Increment {
    /// `{user}:{day}:{model}`
    pub id: String,
    pub user_id: ObjectId,
    pub day: String,
    pub month: String,
    pub model: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub answers: u64,
}

impl Increment {
    pub fn new(
        user_id: ObjectId,
        model: &str,
        prompt_tokens: u64,
        completion_tokens: u64,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Self {
        let (day, month) = day_and_month(at);
        Self {
            id: format!("{}:{day}:{model}", user_id.to_hex()),
            user_id,
            day,
            month,
            model: model.to_owned(),
            prompt_tokens,
            completion_tokens,
            answers: 1,
        }
    }

    /// Adds another increment of the same document.
    pub fn absorb(&mut self, other: &Increment) {
        self.prompt_tokens = self.prompt_tokens.saturating_add(other.prompt_tokens);
        self.completion_tokens = self
            .completion_tokens
            .saturating_add(other.completion_tokens);
        self.answers = self.answers.saturating_add(other.answers);
    }

    /// The update statement (to run with `upsert`).
    pub fn statement(&self) -> (Document, Document) {
        let as_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        (
            doc! { "_id": &self.id },
            doc! {
                "$inc": {
                    "prompt_tokens": as_i64(self.prompt_tokens),
                    "completion_tokens": as_i64(self.completion_tokens),
                    "answers": as_i64(self.answers),
                },
                "$setOnInsert": {
                    "user_id": self.user_id,
                    "day": &self.day,
                    "month": &self.month,
                    "model": &self.model,
                },
            },
        )
    }
}

/// The increments of a batch, one per document (answers of one user, day and model add up in
/// one statement), and for each increment given the index of its document's.
pub fn coalesce(increments: &[Increment]) -> (Vec<Increment>, Vec<usize>) {
    let mut merged: Vec<Increment> = Vec::new();
    let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut slots = Vec::with_capacity(increments.len());
    for increment in increments {
        let slot = *index.entry(increment.id.as_str()).or_insert_with(|| {
            merged.push(Increment {
                prompt_tokens: 0,
                completion_tokens: 0,
                answers: 0,
                ..increment.clone()
            });
            merged.len() - 1
        });
        merged[slot].absorb(increment);
        slots.push(slot);
    }
    (merged, slots)
}

/// Tokens per model over some period.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Totals {
    /// model → (prompt, completion)
    pub by_model: BTreeMap<String, (u64, u64)>,
}

impl Totals {
    pub fn total(&self) -> u64 {
        self.by_model.values().map(|(p, c)| p + c).sum()
    }

    fn add(&mut self, doc: &UsageDoc) {
        let entry = self.by_model.entry(doc.model.clone()).or_default();
        entry.0 += u64::try_from(doc.prompt_tokens).unwrap_or(0);
        entry.1 += u64::try_from(doc.completion_tokens).unwrap_or(0);
    }
}

/// The user's tokens today and this month (UTC): one read of this month's documents.
pub async fn of_user(
    usage: &Collection<UsageDoc>,
    user_id: ObjectId,
    now: chrono::DateTime<chrono::Utc>,
) -> mongodb::error::Result<(Totals, Totals)> {
    let (day, month) = day_and_month(now);
    let docs: Vec<UsageDoc> = usage
        .find(doc! { "user_id": user_id, "month": &month })
        .await?
        .try_collect()
        .await?;
    let (mut today, mut this_month) = (Totals::default(), Totals::default());
    for doc in &docs {
        this_month.add(doc);
        if doc.day == day {
            today.add(doc);
        }
    }
    Ok((today, this_month))
}

/// Tokens this month of each of `users` (aggregated in MongoDB).
pub async fn month_totals(
    usage: &Collection<UsageDoc>,
    users: &[ObjectId],
    month: &str,
) -> mongodb::error::Result<BTreeMap<ObjectId, u64>> {
    let rows: Vec<Document> = usage
        .aggregate([
            doc! { "$match": { "user_id": { "$in": users }, "month": month } },
            doc! { "$group": {
                "_id": "$user_id",
                "tokens": { "$sum": { "$add": ["$prompt_tokens", "$completion_tokens"] } },
            } },
        ])
        .await?
        .try_collect()
        .await?;
    Ok(rows
        .iter()
        .filter_map(|row| Some((row.get_object_id("_id").ok()?, number(row, "tokens"))))
        .collect())
}

/// How `summary` groups.
#[derive(Debug, Clone, Copy)]
pub enum GroupBy {
    User,
    Model,
    Day,
}

/// One group of `summary`.
#[derive(Debug, Clone)]
pub struct Row {
    /// The user id (hex), the model or the day.
    pub key: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub answers: u64,
}

/// Tokens from day `from` to day `to` (inclusive, `YYYY-MM-DD`) grouped as asked, aggregated in
/// MongoDB; largest first for users and models, in order of days for days.
pub async fn summary(
    usage: &Collection<UsageDoc>,
    from: &str,
    to: &str,
    group_by: GroupBy,
) -> mongodb::error::Result<Vec<Row>> {
    let key = match group_by {
        GroupBy::User => "$user_id",
        GroupBy::Model => "$model",
        GroupBy::Day => "$day",
    };
    let sort = match group_by {
        GroupBy::Day => doc! { "_id": 1 },
        _ => doc! { "total": -1, "_id": 1 },
    };
    let rows: Vec<Document> = usage
        .aggregate([
            doc! { "$match": { "day": { "$gte": from, "$lte": to } } },
            doc! { "$group": {
                "_id": key,
                "prompt_tokens": { "$sum": "$prompt_tokens" },
                "completion_tokens": { "$sum": "$completion_tokens" },
                "answers": { "$sum": "$answers" },
            } },
            doc! { "$addFields": { "total": { "$add": ["$prompt_tokens", "$completion_tokens"] } } },
            doc! { "$sort": sort },
            doc! { "$limit": 1000 },
        ])
        .await?
        .try_collect()
        .await?;
    Ok(rows
        .iter()
        .map(|row| Row {
            key: match row.get("_id") {
                Some(mongodb::bson::Bson::ObjectId(id)) => id.to_hex(),
                Some(mongodb::bson::Bson::String(s)) => s.clone(),
                _ => String::new(),
            },
            prompt_tokens: number(row, "prompt_tokens"),
            completion_tokens: number(row, "completion_tokens"),
            answers: number(row, "answers"),
        })
        .collect())
}

/// A count as the server sent it (an int32, int64 or double), never negative.
fn number(doc: &Document, key: &str) -> u64 {
    match doc.get(key) {
        Some(mongodb::bson::Bson::Int32(n)) => u64::try_from(*n).unwrap_or(0),
        Some(mongodb::bson::Bson::Int64(n)) => u64::try_from(*n).unwrap_or(0),
        Some(mongodb::bson::Bson::Double(n)) if *n > 0.0 => *n as u64,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    #[test]
    fn increments_of_one_document_add_up_in_one_statement() {
        let at = chrono::Utc
            .with_ymd_and_hms(2026, 11, 29, 10, 0, 0)
            .single()
            .expect("a time");
        let (ada, bob) = (ObjectId::new(), ObjectId::new());
        let increments = [
            Increment::new(ada, "m", 10, 5, at),
            Increment::new(bob, "m", 1, 1, at),
            Increment::new(ada, "m", 20, 7, at),
            Increment::new(ada, "other", 3, 3, at),
        ];
        let (merged, slots) = coalesce(&increments);
        assert_eq!(merged.len(), 3);
        assert_eq!(slots, [0, 1, 0, 2]);
        assert_eq!(
            (
                merged[0].prompt_tokens,
                merged[0].completion_tokens,
                merged[0].answers
            ),
            (30, 12, 2)
        );
        assert_eq!(merged[0].day, "2026-11-29");
        assert_eq!(merged[0].month, "2026-11");
        let (filter, update) = merged[0].statement();
        assert_eq!(
            filter.get_str("_id").ok(),
            Some(format!("{}:2026-11-29:m", ada.to_hex()).as_str())
        );
        assert_eq!(
            update
                .get_document("$inc")
                .and_then(|d| d.get_i64("answers"))
                .ok(),
            Some(2)
        );
    }
}
