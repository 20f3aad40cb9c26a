//! Follows the process's one change stream (`store::changes`) and hands each change to what it
//! concerns: event-log batches to this process's sockets (`events`), other processes' partial
//! saves, stop requests and deletions to the answers (`generation::tail`), account changes to the
//! standing cache (`auth::standing_cache`); chats that changed are forgotten by the chats known
//! here (`generation::known`).
//!
//! After an interruption the stream resumes where it was, so nothing is missed. If it cannot
//! (the resume point is gone), it starts afresh and every consumer makes up for the gap: sockets
//! reconnect and catch up from the log, the standing cache forgets everything, and the answers
//! this process runs are checked for a stop or a deletion. While the stream is down, standings
//! are kept a second at most.

use std::{sync::Weak, time::Duration};

use futures::StreamExt as _;
use mongodb::change_stream::event::ResumeToken;
use tokio_util::sync::CancellationToken;

use crate::{
    generation::tail::{self, Relayed},
    state::{App, AppState},
    store::{
        self,
        changes::{Change, Changes},
    },
};

/// Opens the stream (returns once it listens, so nothing written afterwards is missed), then
/// follows it in a task of its own until the application is dropped.
pub async fn start(state: &AppState) -> mongodb::error::Result<()> {
    let stream = state.store.watch_changes(None).await?;
    state.standing_cache.set_watched(true);
    tokio::spawn(follow(
        std::sync::Arc::downgrade(&state.0),
        state.events.stopping(),
        stream,
    ));
    Ok(())
}

async fn follow(app: Weak<App>, stop: CancellationToken, stream: Changes) {
    let mut stream = Some(stream);
    let mut resume: Option<ResumeToken> = None;
    let mut relayed = Relayed::default();
    let mut wait = Duration::from_millis(200);
    loop {
        if let Some(mut open) = stream.take() {
            loop {
                let next = tokio::select! {
                    () = stop.cancelled() => return,
                    next = open.next() => next,
                };
                let Some((change, token)) = next else { break };
                resume = token.or(resume);
                match change {
                    Ok(change) => {
                        let Some(app) = app.upgrade() else { return };
                        if let Some(change) = change {
                            dispatch(&AppState(app), change, &mut relayed);
                        }
                        wait = Duration::from_millis(200);
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "the change stream failed; resuming");
                        break;
                    }
                }
            }
        }
        let Some(state) = app.upgrade().map(AppState) else {
            return;
        };
        state.standing_cache.set_watched(false);
        drop(state);
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
        wait = (wait * 2).min(Duration::from_secs(5));
        let Some(state) = app.upgrade().map(AppState) else {
            return;
        };
        match state.store.watch_changes(resume.clone()).await {
            Ok(open) => {
                stream = Some(open);
                reopened(&state, false);
            }
            Err(err) if store::is_unavailable(&err) => {
                tracing::warn!(error = %err, "the database is unreachable; following again later");
            }
            Err(err) => {
                // The resume point is gone: start afresh, and make up for the gap.
                tracing::warn!(error = %err, "the change stream cannot resume; starting afresh (sockets will reconnect)");
                resume = None;
                if let Ok(open) = state.store.watch_changes(None).await {
                    stream = Some(open);
                    reopened(&state, true);
                }
            }
        }
    }
}

fn dispatch(state: &AppState, change: Change, relayed: &mut Relayed) {
    match change {
        Change::Logged(batch) => {
            // A chat changed by any process is no longer known as it was (a head start from it
            // would be withdrawn: the read before any text catches it, this only saves the try).
            for event in &batch.events {
                if let Some(chat_id) = event.chat_id
                    && event.kind != "chat.created"
                {
                    state.known_chats.forget(chat_id);
                }
            }
            state.events.deliver_logged(&batch);
        }
        Change::Message(change) => tail::handle(state, change, relayed),
        Change::Account(user_id) => state.standing_cache.forget(user_id),
    }
}

/// The stream follows again; `fresh`: from now, with a gap before.
fn reopened(state: &AppState, fresh: bool) {
    // Forgets every standing (a change during the gap may not have been seen).
    state.standing_cache.set_watched(true);
    if fresh {
        state.events.reconnect_all();
    }
    // Answers this process runs that were stopped or deleted while the stream was down.
    let checking = state.clone();
    tokio::spawn(async move { tail::catch_up(&checking).await });
}
