//! Every API path the harness calls, built in one place: tests name a route, they do not spell
//! it (except where the spelling is what a test is about).

use crate::{ChatId, MessageId};

pub const HEALTH: &str = "/api/health";
pub const READY: &str = "/api/ready";
pub const OPENAPI: &str = "/api/openapi.json";
pub const REGISTER: &str = "/api/auth/register";
pub const LOGIN: &str = "/api/auth/login";
pub const REFRESH: &str = "/api/auth/refresh";
pub const LOGOUT: &str = "/api/auth/logout";
pub const ME: &str = "/api/users/me";
pub const MODELS: &str = "/api/models";
pub const CHATS: &str = "/api/chats";
pub const FEEDBACK_EXPORT: &str = "/api/feedback/export";
pub const WS_TICKET: &str = "/api/ws/ticket";
pub const WS: &str = "/api/ws";

/// `/api/users/{id}` (any text: tests try ids that are not ids).
pub fn user(id: &str) -> String {
    format!("/api/users/{id}")
}

/// `/api/chats?{query}`, or `/api/chats` for an empty query.
pub fn chats(query: &str) -> String {
    with_query(CHATS, query)
}

/// `/api/chats/{chat}`
pub fn chat(chat: &ChatId) -> String {
    format!("{CHATS}/{chat}")
}

/// `/api/chats/{chat}/messages`
pub fn messages(chat: &ChatId) -> String {
    format!("{CHATS}/{chat}/messages")
}

/// What can be done to one message: `/api/chats/{chat}/messages/{message}/{action}`.
#[derive(Debug, Clone, Copy)]
pub enum Action {
    Edit,
    Regenerate,
    Continue,
    Stop,
    Vote,
}

/// `/api/chats/{chat}/messages/{message}/{edit|regenerate|continue|stop|vote}`
pub fn message(chat: &ChatId, message: &MessageId, action: Action) -> String {
    let action = match action {
        Action::Edit => "edit",
        Action::Regenerate => "regenerate",
        Action::Continue => "continue",
        Action::Stop => "stop",
        Action::Vote => "vote",
    };
    format!("{CHATS}/{chat}/messages/{message}/{action}")
}

/// `/api/ws?{query}`
pub fn ws(query: &str) -> String {
    with_query(WS, query)
}

fn with_query(path: &str, query: &str) -> String {
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}
