//! The fair-use limits on starting answers — at once per user, per minute per user — counted
//! from the answers in MongoDB (one query), so every process sees the same counts. Checked
//! twice: before the messages are written (a cheap refusal, read alongside the chat), and after (a race
//! between processes: answers are ranked by id, and one ranked past a limit is withdrawn
//! before anyone hears of it). The count is of answers that exist: an answer whose chat was
//! deleted no longer counts against the minute.

use std::time::{Duration, SystemTime};

use mongodb::bson::oid::ObjectId;

use super::FairUse;
use crate::store::{MessageDoc, messages};

const MINUTE: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OverLimit {
    /// The user has `max_concurrent_per_user` answers being generated.
    TooMany,
    /// The user started `per_minute` answers in the last minute; the next fits after this.
    RateLimited(Duration),
}

/// Whether the user may start one more answer (`answer: None`, before it exists) or whether the
/// answer `answer`, now written, is within the limits. One query, none with both limits off.
pub(super) async fn check(
    messages: &mongodb::Collection<MessageDoc>,
    limits: FairUse,
    user_id: ObjectId,
    answer: Option<ObjectId>,
) -> mongodb::error::Result<Option<OverLimit>> {
    if limits.is_off() {
        return Ok(None);
    }
    let since = SystemTime::now() - MINUTE;
    let mut counted = messages::counted_answers(messages, user_id, since).await?;
    // Answers started after this one do not count against it.
    if let Some(answer) = answer {
        counted.retain(|(id, _)| *id <= answer);
    }
    // Counting the answer itself: it is in the database after the write, not before.
    let pending = usize::from(answer.is_none());
    let running = counted.iter().filter(|(_, running)| *running).count() + pending;
    if limits.max_concurrent_per_user > 0 && running > limits.max_concurrent_per_user {
        return Ok(Some(OverLimit::TooMany));
    }
    if limits.per_minute > 0 {
        let from = messages::first_id_at(since);
        let recent: Vec<ObjectId> = counted
            .iter()
            .map(|(id, _)| *id)
            .filter(|id| *id >= from)
            .collect();
        let started = recent.len() + pending;
        if started > limits.per_minute
            && let Some(oldest) = recent.get(started - 1 - limits.per_minute)
        {
            let frees_at = SystemTime::UNIX_EPOCH
                + Duration::from_millis(oldest.timestamp().timestamp_millis().unsigned_abs())
                + MINUTE;
            let wait = frees_at
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO)
                .max(Duration::from_secs(1));
            return Ok(Some(OverLimit::RateLimited(wait)));
        }
    }
    Ok(None)
}
