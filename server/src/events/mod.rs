//! Live events: every change a user makes reaches all of that user's open sockets, on every
//! process (and no one else's). Handlers call `Events::publish`, which never waits: logged
//! events go to a per-user log in MongoDB (`store::events`, each with a per-user `seq`) through
//! one writer task, and every process tails that log (a change stream) to deliver them to its
//! own sockets — including the process that wrote them, so all sockets see one order. Text
//! deltas are not logged: the process generating an answer delivers its own at once, and the
//! others follow its periodic saves (`generation::tail`).

mod event;
mod local;
mod log;

pub use log::append_now;

use std::sync::Arc;

use mongodb::bson::oid::ObjectId;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

pub use event::{LiveEvent, with_seq};
pub use local::{AnswerStage, LocalBus};
pub use log::Opened;

use crate::store::events::EventBatchDoc;

/// Why the server closes a socket; each maps to a WebSocket close code the client acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The socket fell behind (its queue filled): reconnect and catch up.
    Lagged,
    /// The session behind the socket logged out or was revoked: sign in again.
    SessionEnded,
    /// The server is shutting down: reconnect (to another process).
    ShuttingDown,
    /// The client sent a frame over the size limit.
    TooBig,
    /// This process may have missed events (its feed of the log was cut): reconnect at once
    /// and catch up with `since`.
    Reconnect,
}

impl CloseReason {
    /// The WebSocket close code sent to the client.
    pub fn code(self) -> u16 {
        match self {
            Self::Lagged => 4008,
            Self::SessionEnded => 4001,
            Self::ShuttingDown => 1001,
            Self::TooBig => 1009,
            Self::Reconnect => 1012,
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            Self::Lagged => "lagged: reconnect and catch up",
            Self::SessionEnded => "session ended: sign in again",
            Self::ShuttingDown => "server shutting down: reconnect",
            Self::TooBig => "message too big",
            Self::Reconnect => "event feed interrupted: reconnect",
        }
    }
}

/// One frame for a socket: logged events carry their `seq` (a socket skips one it has sent).
#[derive(Debug, Clone)]
pub struct Delivery {
    pub seq: Option<i64>,
    pub frame: Arc<str>,
}

/// What a socket's queue holds in one slot: a batch of the log, or a delta.
pub type Frames = Arc<[Delivery]>;

/// One socket's feed: frames, and the order to close (which jumps the queue).
#[derive(Debug)]
pub struct Subscription {
    pub id: u64,
    pub user_id: ObjectId,
    pub events: mpsc::Receiver<Frames>,
    pub close: tokio::sync::watch::Receiver<Option<CloseReason>>,
}

/// Settings of the event log.
#[derive(Debug, Clone)]
pub struct EventSettings {
    /// Frames a socket may have waiting before it is closed as lagging.
    pub queue: usize,
    /// How long the log keeps events for reconnecting clients.
    pub retention: std::time::Duration,
}

#[derive(Debug)]
pub struct Events {
    local: LocalBus,
    writer: mpsc::UnboundedSender<(ObjectId, Vec<LiveEvent>)>,
    ended_sessions: broadcast::Sender<ObjectId>,
    log: mongodb::Collection<EventBatchDoc>,
    settings: EventSettings,
    /// Stops the writer and the tail (the application is dropped).
    stop: CancellationToken,
}

impl Events {
    /// Starts the writer. What the log brings is delivered through `deliver_logged`, by the
    /// process's change stream (`crate::follow`), which startup opens before serving.
    pub fn start(log: mongodb::Collection<EventBatchDoc>, settings: EventSettings) -> Arc<Self> {
        let (writer, queue) = mpsc::unbounded_channel();
        let events = Arc::new(Self {
            local: LocalBus::new(settings.queue),
            writer,
            ended_sessions: broadcast::channel(256).0,
            log: log.clone(),
            settings,
            stop: CancellationToken::new(),
        });
        tokio::spawn(log::write(log, queue, events.stop.clone()));
        events
    }

    /// Delivers a batch appended to the log (by any process) to this process's sockets.
    pub fn deliver_logged(&self, batch: &EventBatchDoc) {
        log::deliver(self, batch);
    }

    /// The log could not be followed without a gap: every socket here is told to reconnect
    /// (each catches up from the log with its `since`).
    pub fn reconnect_all(&self) {
        self.local.reconnect_all();
    }

    /// Cancelled once the application is dropped: tasks that follow the log stop with it.
    pub fn stopping(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Delivers `event` to every socket of `user_id` on every process. Never blocks.
    pub fn publish(&self, user_id: ObjectId, event: LiveEvent) {
        if let LiveEvent::GenerationDelta { .. } = &event {
            self.deliver_delta(user_id, &event);
            return;
        }
        self.publish_all(user_id, vec![event]);
    }

    /// Publishes `events` together: one write to the log, delivered as one batch. Deltas are
    /// not logged: use `publish` for them.
    pub fn publish_all(&self, user_id: ObjectId, events: Vec<LiveEvent>) {
        if self.writer.send((user_id, events)).is_err() {
            tracing::error!("the event log writer has stopped; an event was not published");
        }
    }

    /// A text delta of an answer another process generates, to this process's sockets.
    pub fn deliver_delta(&self, user_id: ObjectId, event: &LiveEvent) {
        let (_, message_id, _) = event.about();
        if let (Some(message_id), Ok(frame)) = (message_id, event.frame()) {
            self.local.deliver_delta(user_id, message_id, frame.into());
        }
    }

    /// The user and chat of an answer being generated, as this process knows from the log.
    pub fn answer(&self, message_id: ObjectId) -> Option<(ObjectId, ObjectId)> {
        self.local.answer(message_id)
    }

    /// Ends a session everywhere: its sockets here at once, on other processes through the log.
    pub fn end_session(&self, user_id: ObjectId, session_id: ObjectId) {
        self.local.end_session(session_id);
        self.publish(user_id, LiveEvent::session_ended(session_id));
    }

    /// Sessions ended anywhere (for the session cache).
    pub fn ended_sessions(&self) -> broadcast::Receiver<ObjectId> {
        self.ended_sessions.subscribe()
    }

    /// A new socket of `user_id` that has seen the log up to `since` (`None`: a fresh start;
    /// `Some(None)`: a value that is not a number). See `log::open`.
    pub async fn open(
        &self,
        user_id: ObjectId,
        session_id: ObjectId,
        since: Option<Option<i64>>,
    ) -> mongodb::error::Result<Opened> {
        log::open(self, user_id, session_id, since).await
    }

    pub fn unsubscribe(&self, user_id: ObjectId, subscription_id: u64) {
        self.local.unsubscribe(user_id, subscription_id);
    }

    /// A feed of the user's events for a task of this process (following an answer that
    /// another process generates). Unsubscribe when done.
    pub fn subscribe(&self, user_id: ObjectId) -> Subscription {
        self.local.subscribe(user_id, ObjectId::new())
    }

    /// Closes every socket (shutdown).
    pub fn close_all(&self) {
        self.local.close_all();
    }

    pub fn socket_count(&self) -> usize {
        self.local.socket_count()
    }

    pub fn retention(&self) -> std::time::Duration {
        self.settings.retention
    }

    pub fn log(&self) -> &mongodb::Collection<EventBatchDoc> {
        &self.log
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
