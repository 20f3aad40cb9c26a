//! `POST /api/ws/ticket` and `GET /api/ws`: the live-event WebSocket.
//!
//! Authentication happens before the upgrade: the client first trades its bearer token for a
//! single-use ticket (valid `WS_TICKET_TTL_SECS`, default 30 s), then opens
//! `/api/ws?ticket=…`. A missing, used or expired ticket, a session that has ended, or a
//! foreign `Origin` (cross-site WebSocket hijacking) is refused before any event flows.

use axum::{
    Json,
    extract::{State, WebSocketUpgrade, ws::rejection::WebSocketUpgradeRejection},
    http::HeaderMap,
    response::Response,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    auth::CurrentUser,
    error::{ApiError, ApiResult, ErrorBody},
    http::{Query, origin_allowed},
    live,
    state::AppState,
    store::sessions,
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(issue_ticket))
        .routes(routes!(open_socket))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketView {
    /// Pass as `?ticket=` to `GET /api/ws`; works once.
    ticket: String,
    /// Seconds the ticket stays valid.
    expires_in: u64,
}

/// A single-use ticket for opening the live-event WebSocket.
#[utoipa::path(post, path = "/api/ws/ticket", tag = "live", security(("bearer" = [])),
    responses((status = 200, body = TicketView), (status = 401, body = ErrorBody)))]
async fn issue_ticket(
    State(state): State<AppState>,
    user: CurrentUser,
) -> ApiResult<Json<TicketView>> {
    Ok(Json(TicketView {
        ticket: state.tickets.issue(user.user_id, user.session_id).await?,
        expires_in: state.tickets.ttl().as_secs(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct SocketQuery {
    /// From `POST /api/ws/ticket`.
    ticket: Option<String>,
    /// The last `seq` the client applied: the events after it are sent first, exactly once and
    /// in order. Unknown, malformed or older than the log keeps → a `resync` frame (reload).
    since: Option<String>,
}

/// Upgrades to the live-event WebSocket. Server → client frames are JSON events
/// `{type, seq?, id, at, chat_id?, message_id?, data?}`: first `{"type":"ready","seq":latest}`,
/// then `{"type":"resync"}` if `since` could not be served, then missed events, then live ones
/// (every event but `generation.delta` carries its `seq`). The events and their `data` are the
/// `LiveEvent` schema: `chat.created`, `chat.updated`, `chat.deleted`, `message.created`,
/// `message.voted`, `generation.started`, `generation.loading`, `generation.delta`,
/// `generation.finished`, `generation.unsaved`, `session.ended`. Close codes: 4001 session ended
/// (sign in again), 4008 fell behind, 1001 shutdown, 1012 feed interrupted (reconnect with
/// `since`).
#[utoipa::path(get, path = "/api/ws", tag = "live", params(SocketQuery),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol"),
        (status = 400, description = "Not a WebSocket upgrade request (the ticket is not used)", body = ErrorBody),
        (status = 401, description = "Missing, used or expired ticket, or ended session", body = ErrorBody),
        (status = 403, description = "Foreign Origin", body = ErrorBody),
    ))]
async fn open_socket(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<SocketQuery>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    if !origin_allowed(&state.settings, &headers) {
        return Err(ApiError::Forbidden("this origin may not open a socket"));
    }
    // Checked before the ticket is redeemed: a plain GET must not use a ticket up.
    let upgrade =
        upgrade.map_err(|_| ApiError::BadRequest("expected a WebSocket upgrade request"))?;
    let ticket = query.ticket.unwrap_or_default();
    let (user_id, session_id) = state
        .tickets
        .redeem(&ticket)
        .await?
        .ok_or_else(|| ApiError::unauthorized("the ticket is missing, used or expired"))?;
    if !sessions::is_active(&state.store.sessions, session_id, user_id).await? {
        return Err(ApiError::unauthorized("the session has ended"));
    }
    let since = query.since.map(|raw| raw.trim().parse::<i64>().ok());
    let opened = state.events.open(user_id, session_id, since).await?;
    let events = state.events.clone();
    let ping = state.settings.live.ping_interval;
    let sockets = state.sockets.clone();
    Ok(upgrade
        .max_message_size(64 * 1024)
        // Small buffers: most sockets sit idle, and a socket's memory is mostly its buffers
        // (tungstenite's defaults are 128 KiB each). Events are small JSON frames.
        .read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024)
        .on_upgrade(move |socket| sockets.track_future(live::serve(socket, events, opened, ping))))
}
