//! The log's three parts in this process: the writer (appends what handlers publish, in
//! order, a batch per user per round, all users' batches of a round in one insert), `deliver`
//! (every batch appended by any process, seen through the process's change stream,
//! `crate::follow`, to this process's sockets), and `open` (a new socket catching up from
//! `since`).

use std::{
    collections::{HashMap, HashSet},
    time::Duration,
};

use futures::future::join_all;
use mongodb::{Collection, bson::oid::ObjectId};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{AnswerStage, Delivery, Events, LiveEvent, Subscription, with_seq};
use crate::store::{
    self,
    events::{Appended, EventBatchDoc, LoggedEvent, Since},
};

/// Events taken from the queue in one round (grouped into one batch per user).
const ROUND: usize = 512;
/// Heads remembered by the writer (users it appended for); forgotten all at once above this.
const HEADS: usize = 50_000;
/// Batches a reconnecting socket may have missed; more than this and it reloads instead.
const CATCH_UP_BATCHES: i64 = 1_000;

fn logged(event: &LiveEvent) -> Option<LoggedEvent> {
    let (chat_id, message_id, session_id) = event.about();
    Some(LoggedEvent {
        kind: event.kind().to_owned(),
        chat_id,
        message_id,
        session_id,
        body: event.frame().ok()?,
    })
}

/// Appends what is published, in publication order per user, retrying while MongoDB is
/// unreachable (events wait in memory; none is dropped while the process lives).
pub(super) async fn write(
    log: Collection<EventBatchDoc>,
    mut queue: mpsc::UnboundedReceiver<(ObjectId, Vec<LiveEvent>)>,
    stop: CancellationToken,
) {
    let mut heads: HashMap<ObjectId, i64> = HashMap::new();
    loop {
        let first = tokio::select! {
            () = stop.cancelled() => return,
            first = queue.recv() => first,
        };
        let Some(first) = first else { return };
        let mut round = vec![first];
        while round.len() < ROUND {
            match queue.try_recv() {
                Ok(next) => round.push(next),
                Err(_) => break,
            }
        }
        let mut batches: Vec<(ObjectId, Vec<LoggedEvent>)> = Vec::new();
        for (user_id, events) in round {
            let entries = events.iter().filter_map(logged);
            match batches.iter_mut().find(|(user, _)| *user == user_id) {
                Some((_, batch)) => batch.extend(entries),
                None => batches.push((user_id, entries.collect())),
            }
        }
        batches.retain(|(_, batch)| !batch.is_empty());
        if heads.len() > HEADS {
            heads.clear();
        }
        // Every user's batch in one insert (the heads of users not seen yet read first); a
        // batch that conflicts, or all of them if the insert fails, go one by one.
        let unknown: Vec<ObjectId> = batches
            .iter()
            .map(|(user_id, _)| *user_id)
            .filter(|user_id| !heads.contains_key(user_id))
            .collect();
        let read = join_all(
            unknown
                .iter()
                .map(|user_id| store::events::head(&log, *user_id)),
        )
        .await;
        for (user_id, head) in unknown.into_iter().zip(read) {
            if let Ok(head) = head {
                heads.insert(user_id, head);
            }
        }
        let (known, mut alone): (Vec<_>, Vec<_>) = batches
            .into_iter()
            .partition(|(user_id, _)| heads.contains_key(user_id));
        let together: Vec<EventBatchDoc> = known
            .into_iter()
            .map(|(user_id, batch)| {
                let head = heads.get(&user_id).copied().unwrap_or(0);
                store::events::batch_after(user_id, head, batch)
            })
            .collect();
        if !together.is_empty() {
            let written = store::events::append_many(&log, &together)
                .await
                .unwrap_or_else(|err| {
                    tracing::warn!(error = %err, "appending to the event log failed; retrying");
                    HashSet::new()
                });
            for doc in together {
                if written.contains(&doc.id) {
                    heads.insert(doc.user_id, doc.last);
                } else {
                    heads.remove(&doc.user_id);
                    alone.push((doc.user_id, doc.events));
                }
            }
        }
        let appended = join_all(alone.into_iter().map(|(user_id, batch)| {
            let head = heads.get(&user_id).copied();
            append(&log, user_id, head, batch, &stop)
        }))
        .await;
        for (user_id, last) in appended.into_iter().flatten() {
            heads.insert(user_id, last);
        }
    }
}

/// Appends `events` to the user's log from outside a running server (the operator's command
/// line), without the writer task: a few attempts, then the error.
pub async fn append_now(
    log: &Collection<EventBatchDoc>,
    user_id: ObjectId,
    events: &[LiveEvent],
) -> mongodb::error::Result<()> {
    let batch: Vec<LoggedEvent> = events.iter().filter_map(logged).collect();
    let mut attempts = 0;
    loop {
        let prev = store::events::head(log, user_id).await?;
        match store::events::append(log, user_id, prev, batch.clone()).await? {
            Appended::Written(_) => return Ok(()),
            Appended::Conflict if attempts < 20 => attempts += 1,
            Appended::Conflict => {
                return Err(mongodb::error::Error::custom(
                    "the event log kept moving; try again",
                ));
            }
        }
    }
}

/// Appends one user's batch, re-reading the head after a conflict; `(user, last seq)`.
async fn append(
    log: &Collection<EventBatchDoc>,
    user_id: ObjectId,
    mut head: Option<i64>,
    batch: Vec<LoggedEvent>,
    stop: &CancellationToken,
) -> Option<(ObjectId, i64)> {
    let mut wait = Duration::from_millis(100);
    loop {
        let prev = match head {
            Some(prev) => Ok(prev),
            None => store::events::head(log, user_id).await,
        };
        let result = match prev {
            Ok(prev) => store::events::append(log, user_id, prev, batch.clone()).await,
            Err(err) => Err(err),
        };
        match result {
            Ok(Appended::Written(doc)) => return Some((user_id, doc.last)),
            Ok(Appended::Conflict) => head = None,
            Err(err) => {
                tracing::warn!(error = %err, "appending to the event log failed; retrying");
                head = None;
                tokio::select! {
                    () = stop.cancelled() => return None,
                    () = tokio::time::sleep(wait) => {}
                }
                wait = (wait * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Delivers a batch of the log (seen through the process's change stream, `crate::follow`)
/// to this process's sockets.
pub(super) fn deliver(events: &Events, batch: &EventBatchDoc) {
    let lag = mongodb::bson::DateTime::now().timestamp_millis() - batch.at.timestamp_millis();
    metrics::histogram!(crate::metrics::EVENT_DELIVERY_LAG).record(lag.max(0) as f64 / 1000.0);
    let mut frames = Vec::with_capacity(batch.events.len());
    for (seq, event) in batch.numbered() {
        let stage = match (event.kind.as_str(), event.chat_id) {
            ("generation.started", Some(chat_id)) => Some(AnswerStage::Started { chat_id }),
            ("generation.finished", _) => Some(AnswerStage::Ended),
            _ => None,
        };
        if event.kind == "session.ended"
            && let Some(session_id) = event.session_id
        {
            events.local.end_session(session_id);
            let _ = events.ended_sessions.send(session_id);
        }
        frames.push((
            seq,
            with_seq(&event.body, seq).into(),
            event.message_id.zip(stage),
        ));
    }
    events.local.deliver_batch(batch.user_id, frames);
}

/// A socket just opened: its feed, and what it must send before the feed.
#[derive(Debug)]
pub struct Opened {
    pub subscription: Subscription,
    /// The latest `seq` the socket is up to once `backlog` is sent (for the `ready` frame).
    pub head: i64,
    /// `since` could not be served: the client must reload (`resync`).
    pub resync: bool,
    /// Missed events, in order, to send before the feed.
    pub backlog: Vec<Delivery>,
}

/// Subscribes first, then reads the log: an event committed meanwhile is in both, and the
/// socket skips the copy whose `seq` it has already sent.
pub(super) async fn open(
    events: &Events,
    user_id: ObjectId,
    session_id: ObjectId,
    since: Option<Option<i64>>,
) -> mongodb::error::Result<Opened> {
    let subscription = events.local.subscribe(user_id, session_id);
    let missed = match since {
        None => None,
        Some(Some(since)) if since >= 0 => Some(
            store::events::since(&events.log, user_id, since, CATCH_UP_BATCHES)
                .await
                .map(|found| (since, found)),
        ),
        Some(_) => Some(Ok((0, Since::Resync))),
    };
    let (head, resync, backlog) = match missed {
        Some(Ok((since, Since::Events(found)))) => {
            let head = found.last().map_or(since, |(seq, _)| *seq);
            let backlog = found
                .into_iter()
                .map(|(seq, event)| Delivery {
                    seq: Some(seq),
                    frame: with_seq(&event.body, seq).into(),
                })
                .collect();
            (head, false, backlog)
        }
        Some(Err(err)) => {
            events.local.unsubscribe(user_id, subscription.id);
            return Err(err);
        }
        Some(Ok((_, Since::Resync))) | None => {
            let head = match store::events::head(&events.log, user_id).await {
                Ok(head) => head,
                Err(err) => {
                    events.local.unsubscribe(user_id, subscription.id);
                    return Err(err);
                }
            };
            (head, since.is_some(), Vec::new())
        }
    };
    Ok(Opened {
        subscription,
        head,
        resync,
        backlog,
    })
}
