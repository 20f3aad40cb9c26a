//! The fair-use limits on starting answers — at once per user, per minute per user — counted
//! from the answers in MongoDB (one query), so every process sees the same counts. Checked
//! twice: before the messages are written (a cheap refusal, read alongside the chat), and after (a race
//! between processes: answers are ranked by id, and one ranked past a limit is withdrawn
//! before anyone hears of it). The count is of answers that exist: an answer whose chat was
//! deleted no longer counts against the minute.
//!
//! The token quotas (per UTC day and month) are read from `usage` (one query, only when a
//! quota applies), which every answer adds to when it ends: an answer starts while its user
//! is under quota, and may take them past it.

use std::time::{Duration, SystemTime};

use chrono::{Datelike as _, TimeZone as _, Utc};
use mongodb::bson::oid::ObjectId;

use super::FairUse;
use crate::store::{Store, api_calls, messages, usage};

const MINUTE: Duration = Duration::from_secs(60);

/// Where a user stands against one limit (for the `RateLimit-*` headers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub limit: u64,
    pub remaining: u64,
    /// Until the limit gives room again.
    pub reset: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverLimit {
    /// The user has `max_concurrent_per_user` answers being generated.
    TooMany { limit: u64 },
    /// The user started `per_minute` answers in the last minute; the next fits after the wait.
    RateLimited(Window),
    /// The user's tokens of the day (or month) reached the quota, until the window's reset.
    QuotaExceeded { window: Window, monthly: bool },
}

/// Whether the user may start one more answer (`answer: None`, before it exists) or whether the
/// answer `answer`, now written, is within the limits; and, when it is, where the user stands
/// against the minute. One query, none with both limits off.
pub(super) async fn check(
    store: &Store,
    limits: FairUse,
    user_id: ObjectId,
    answer: Option<ObjectId>,
) -> mongodb::error::Result<Result<Option<Window>, OverLimit>> {
    if limits.is_off() {
        return Ok(Ok(None));
    }
    let since = SystemTime::now() - MINUTE;
    // Answers and `/v1` calls that are not saved as chats count alike (calls are looked for
    // only for an account with API keys: no one else can make any).
    let (mut counted, calls) = tokio::try_join!(
        messages::counted_answers(&store.messages, user_id, since),
        async {
            if limits.api_calls {
                api_calls::counted(&store.api_calls, user_id, since).await
            } else {
                Ok(Vec::new())
            }
        },
    )?;
    if !calls.is_empty() {
        counted.extend(calls);
        counted.sort_unstable();
    }
    // Answers started after this one do not count against it.
    if let Some(answer) = answer {
        counted.retain(|(id, _)| *id <= answer);
    }
    // Counting the answer itself: it is in the database after the write, not before.
    let pending = usize::from(answer.is_none());
    let running = counted.iter().filter(|(_, running)| *running).count() + pending;
    if limits.max_concurrent_per_user > 0 && running > limits.max_concurrent_per_user {
        return Ok(Err(OverLimit::TooMany {
            limit: limits.max_concurrent_per_user as u64,
        }));
    }
    if limits.per_minute == 0 {
        return Ok(Ok(None));
    }
    let from = messages::first_id_at(since);
    let recent: Vec<ObjectId> = counted
        .iter()
        .map(|(id, _)| *id)
        .filter(|id| *id >= from)
        .collect();
    let started = recent.len() + pending;
    let frees_in = |oldest: &ObjectId| {
        let frees_at = SystemTime::UNIX_EPOCH
            + Duration::from_millis(oldest.timestamp().timestamp_millis().unsigned_abs())
            + MINUTE;
        frees_at
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO)
            .max(Duration::from_secs(1))
    };
    let limit = limits.per_minute as u64;
    if started > limits.per_minute
        && let Some(oldest) = recent.get(started - 1 - limits.per_minute)
    {
        return Ok(Err(OverLimit::RateLimited(Window {
            limit,
            remaining: 0,
            reset: frees_in(oldest),
        })));
    }
    Ok(Ok(Some(Window {
        limit,
        remaining: limit.saturating_sub(started as u64),
        reset: recent.first().map_or(MINUTE, frees_in),
    })))
}

/// Whether the user's tokens are under their quotas; where they stand against the nearer one.
/// One query, none with no quota.
pub(super) async fn quota(
    store: &mongodb::Collection<usage::UsageDoc>,
    limits: FairUse,
    user_id: ObjectId,
) -> mongodb::error::Result<Result<Option<Window>, OverLimit>> {
    if limits.quotas_off() {
        return Ok(Ok(None));
    }
    let now = Utc::now();
    let (today, month) = usage::of_user(store, user_id, now).await?;
    let mut nearest: Option<(Window, bool)> = None;
    for (limit, used, monthly) in [
        (limits.daily_tokens, today.total(), false),
        (limits.monthly_tokens, month.total(), true),
    ] {
        if limit == 0 {
            continue;
        }
        let window = Window {
            limit,
            remaining: limit.saturating_sub(used),
            reset: until_next(now, monthly),
        };
        if window.remaining == 0 {
            return Ok(Err(OverLimit::QuotaExceeded { window, monthly }));
        }
        if nearest.is_none_or(|(n, _)| window.remaining < n.remaining) {
            nearest = Some((window, monthly));
        }
    }
    Ok(Ok(nearest.map(|(window, _)| window)))
}

/// Until the next UTC day (or month) begins.
fn until_next(now: chrono::DateTime<Utc>, month: bool) -> Duration {
    let next = if month {
        let (year, month) = if now.month() == 12 {
            (now.year() + 1, 1)
        } else {
            (now.year(), now.month() + 1)
        };
        Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0).single()
    } else {
        now.date_naive()
            .succ_opt()
            .and_then(|day| day.and_hms_opt(0, 0, 0))
            .map(|at| at.and_utc())
    };
    next.and_then(|next| (next - now).to_std().ok())
        .unwrap_or(Duration::from_secs(86_400))
        .max(Duration::from_secs(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_day_and_month_begin_at_utc_midnight() {
        let at = Utc
            .with_ymd_and_hms(2026, 12, 31, 23, 0, 0)
            .single()
            .expect("test value");
        assert_eq!(until_next(at, false), Duration::from_secs(3600));
        assert_eq!(until_next(at, true), Duration::from_secs(3600));
        let at = Utc
            .with_ymd_and_hms(2026, 11, 29, 12, 0, 0)
            .single()
            .expect("test value");
        assert_eq!(until_next(at, false), Duration::from_secs(12 * 3600));
        assert_eq!(until_next(at, true), Duration::from_secs((12 + 24) * 3600));
    }
}
