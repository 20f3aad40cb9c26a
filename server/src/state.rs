//! Shared application state: one `AppState(Arc<App>)`, cloned into every handler.

use std::{ops::Deref, sync::Arc};

use crate::{
    auth::{jwt::JwtKeys, password::PasswordHasher},
    chat_log::ChatLog,
    config::Settings,
    generation::Generations,
    llm::Catalog,
    store::Store,
};

#[derive(Clone, Debug)]
pub struct AppState(pub Arc<App>);

#[derive(Debug)]
pub struct App {
    /// Typed settings, loaded once.
    pub settings: Settings,
    /// MongoDB collections (one driver `Client` for the process).
    pub store: Store,
    /// Signs and verifies access tokens.
    pub jwt: JwtKeys,
    /// argon2id hashing on blocking threads, bounded.
    pub passwords: PasswordHasher,
    /// The upstream models and how to reach them.
    pub catalog: Catalog,
    /// Answers being generated right now.
    pub generations: Generations,
    /// Chats as written here (new ones, until they change), so an answer may start before its
    /// chat is read again (never trusted: the read confirms them).
    pub known_chats: crate::generation::known::KnownChats,
    /// `CHAT_LOG` writer (a no-op when unset).
    pub chat_log: ChatLog,
    /// Live events to every open socket of a user, on every process (the per-user log).
    pub events: Arc<crate::events::Events>,
    /// Single-use WebSocket tickets.
    pub tickets: crate::live::Tickets,
    /// Sessions recently found live (saves a look-up per request).
    pub session_cache: crate::auth::session_cache::SessionCache,
    /// Accounts' role, status and limits, read at most a second ago.
    pub standing_cache: crate::auth::standing_cache::StandingCache,
    /// The tasks serving WebSockets, which shutdown waits for (bounded) so that each sends its
    /// close frame.
    pub sockets: tokio_util::task::TaskTracker,
    /// Set when SIGTERM starts the drain: `/api/ready` answers 503 and no answer starts here.
    pub draining: std::sync::atomic::AtomicBool,
    /// Where `GET /metrics` listens (`METRICS_ADDR`, with port 0 the one picked), if on.
    pub metrics_addr: std::sync::OnceLock<std::net::SocketAddr>,
}

impl App {
    /// A session was revoked (logout, refresh-token reuse): its access tokens stop working at
    /// once here and, through the event log, on every other process; its sockets close.
    pub fn session_ended(
        &self,
        user_id: mongodb::bson::oid::ObjectId,
        session_id: mongodb::bson::oid::ObjectId,
    ) {
        self.session_cache.forget(session_id);
        self.events.end_session(user_id, session_id);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}
