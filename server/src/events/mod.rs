//! Live events: every change a user makes is pushed to all of that user's open sockets (and to
//! no one else's). Handlers only see the `EventBus` interface; the in-process implementation
//! serves one Confab instance, and a MongoDB change-stream backed one can replace it for
//! several instances behind a load balancer without touching any handler.

mod event;
mod local;

use std::fmt::Debug;

use mongodb::bson::oid::ObjectId;
use tokio::sync::mpsc;

pub use event::LiveEvent;
pub use local::LocalBus;

/// Why the server closes a socket; each maps to a WebSocket close code the client acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The socket fell behind (its queue filled): reconnect and reload state.
    Lagged,
    /// The session behind the socket logged out or was revoked: sign in again.
    SessionEnded,
    /// The server is shutting down: reconnect later.
    ShuttingDown,
    /// The client sent a frame over the size limit.
    TooBig,
}

impl CloseReason {
    /// The WebSocket close code sent to the client.
    pub fn code(self) -> u16 {
        match self {
            Self::Lagged => 4008,
            Self::SessionEnded => 4001,
            Self::ShuttingDown => 1001,
            Self::TooBig => 1009,
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            Self::Lagged => "lagged: reconnect and reload",
            Self::SessionEnded => "session ended: sign in again",
            Self::ShuttingDown => "server shutting down: reconnect later",
            Self::TooBig => "message too big",
        }
    }
}

/// One socket's feed: serialized events, and the order to close (which jumps the queue).
#[derive(Debug)]
pub struct Subscription {
    pub id: u64,
    pub events: mpsc::Receiver<std::sync::Arc<str>>,
    pub close: tokio::sync::watch::Receiver<Option<CloseReason>>,
}

pub trait EventBus: Send + Sync + Debug {
    /// Delivers `event` to every socket of `user_id`. Never blocks: a socket whose queue is
    /// full is told to close (it will reconnect and reload), so it cannot slow the others.
    fn publish(&self, user_id: ObjectId, event: LiveEvent);

    /// A new socket of `user_id`, opened under the session `session_id`.
    fn subscribe(&self, user_id: ObjectId, session_id: ObjectId) -> Subscription;

    /// Forgets a socket (it closed).
    fn unsubscribe(&self, user_id: ObjectId, subscription_id: u64);

    /// Closes every socket opened under this session (logout, revocation).
    fn end_session(&self, session_id: ObjectId);

    /// Closes every socket (shutdown).
    fn close_all(&self);

    /// Open sockets, for metrics and tests.
    fn socket_count(&self) -> usize;
}
