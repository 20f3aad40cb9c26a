//! Which process owns which answer, and what happens when an owner dies. Every process renews
//! its lease (`store::instances`) every `RENEW`; its answers record its id as `owner`. Every
//! process also sweeps every `SWEEP`: an answer left `streaming` by a process whose lease ran out
//! becomes an error `interrupted`, keeping the text saved so far (the owner saves about every
//! `runner::SAVE_EVERY`), and its watchers are told (`generation.finished`). So a killed process's
//! answers are settled within `LEASE + SWEEP` (≈ 9 s), and a live owner's never are.

use std::time::Duration;

use mongodb::bson::{DateTime, oid::ObjectId};

use crate::{
    events::LiveEvent,
    state::AppState,
    store::{api_calls, events, imports, instances, messages},
    views::MessageView,
};

/// How long a lease lasts without renewal.
pub const LEASE: Duration = Duration::from_secs(6);
/// How often a process renews its lease.
const RENEW: Duration = Duration::from_secs(2);
/// How often a process looks for answers of dead processes.
const SWEEP: Duration = Duration::from_secs(3);
/// How often the event log forgets what is past its retention.
const PURGE: Duration = Duration::from_secs(600);

fn from_now(offset: Duration, later: bool) -> DateTime {
    let millis = i64::try_from(offset.as_millis()).unwrap_or(i64::MAX / 4);
    let now = DateTime::now().timestamp_millis();
    DateTime::from_millis(if later { now + millis } else { now - millis })
}

/// Takes this process's lease, settles the answers of processes that are gone (the start-up
/// sweep: answers of live owners are left alone), then keeps renewing and sweeping.
pub async fn start(state: &AppState) -> mongodb::error::Result<()> {
    let instance = state.settings.instance.clone();
    instances::renew(&state.store.instances, &instance, from_now(LEASE, true)).await?;
    // Imports this process (the same INSTANCE_ID) was running before it restarted.
    for job in imports::fail_restarted(&state.store.imports, &instance, DateTime::now()).await? {
        state.events.publish(
            job.user_id,
            LiveEvent::import_updated(crate::views::ImportView::from(&job)),
        );
    }
    let settled = sweep(state).await?;
    if settled > 0 {
        tracing::warn!(
            settled,
            "answers left streaming by a process that is gone were marked as errors"
        );
    }
    let renewing = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(RENEW);
        loop {
            tick.tick().await;
            let until = from_now(LEASE, true);
            if let Err(err) = instances::renew(
                &renewing.store.instances,
                &renewing.settings.instance,
                until,
            )
            .await
            {
                tracing::warn!(error = %err, "renewing this process's lease failed");
            }
        }
    });
    let sweeping = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SWEEP);
        let mut purge = tokio::time::interval(PURGE);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    if let Err(err) = sweep(&sweeping).await {
                        tracing::warn!(error = %err, "sweeping the answers of dead processes failed");
                    }
                }
                _ = purge.tick() => {
                    let before = from_now(sweeping.events.retention(), false);
                    if let Err(err) = events::purge(sweeping.events.log(), before).await {
                        tracing::warn!(error = %err, "purging the event log failed");
                    }
                    // Account deletions a process began and did not end (it died midway).
                    if let Err(err) = sweeping.store.finish_unfinished_deletions().await {
                        tracing::warn!(error = %err, "finishing account deletions failed");
                    }
                }
            }
        }
    });
    Ok(())
}

/// Settles the answers whose owner is not alive; returns how many.
pub async fn sweep(state: &AppState) -> mongodb::error::Result<usize> {
    let now = DateTime::now();
    let mut alive = instances::alive(&state.store.instances, now).await?;
    alive.push(state.settings.instance.clone());
    // Only answers older than this look: a process that started after `alive` was read has
    // newer answers.
    let older_than = ObjectId::from_bytes({
        let secs = u32::try_from(now.timestamp_millis() / 1000 - 2).unwrap_or(0);
        let mut bytes = [0u8; 12];
        bytes[..4].copy_from_slice(&secs.to_be_bytes());
        bytes
    });
    let settled = messages::interrupt_orphans(&state.store.messages, &alive, older_than).await?;
    // `/v1` calls of dead processes stop counting as running.
    api_calls::end_orphans(&state.store.api_calls, &alive, older_than).await?;
    // Imports of dead processes end as failed (importing the file again skips what was stored).
    for job in imports::fail_orphans(&state.store.imports, &alive).await? {
        tracing::warn!(import_id = %job.id, "an import's process is gone: marked failed");
        state.events.publish(
            job.user_id,
            LiveEvent::import_updated(crate::views::ImportView::from(&job)),
        );
    }
    for answer in &settled {
        tracing::warn!(message_id = %answer.id, "an answer's process is gone: marked interrupted");
        state.events.publish(
            answer.user_id,
            LiveEvent::generation_ended(MessageView::from(answer), true),
        );
    }
    for dead in instances::expired(&state.store.instances, now).await? {
        instances::remove(&state.store.instances, &dead).await?;
    }
    Ok(settled.len())
}
