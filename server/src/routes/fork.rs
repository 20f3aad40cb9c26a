//! `POST /api/chats/{id}/messages/{message_id}/fork`: a new chat holding the branch from the
//! root to that message — each message copied with its parameters, stats and structured
//! verdict, votes not — with the chat's title and parameters. The original is unchanged.

use std::collections::HashMap;

use axum::{Json, extract::State, http::StatusCode};
use mongodb::bson::{DateTime, oid::ObjectId};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::chats::owned_chat;
use crate::{
    auth::CurrentUser,
    error::{ApiError, ApiResult, ErrorBody},
    events::LiveEvent,
    http::Path,
    state::AppState,
    store::{ChatDoc, MessageDoc, messages, messages::Status},
    views::ChatView,
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(fork_chat))
}

/// The path from the root down to `leaf`, root first (`None` if `leaf` is not in the chat).
pub(super) fn path_to(all: &[MessageDoc], leaf: ObjectId) -> Option<Vec<&MessageDoc>> {
    let by_id: HashMap<ObjectId, &MessageDoc> = all.iter().map(|m| (m.id, m)).collect();
    let mut path = Vec::new();
    let mut next = Some(leaf);
    while let Some(id) = next {
        let message = by_id.get(&id)?;
        if path.len() > all.len() {
            return None;
        }
        path.push(*message);
        next = message.parent_id;
    }
    path.reverse();
    Some(path)
}

/// The path's messages as messages of `chat`: new ids, each the child of the one before; what
/// belongs to the original's submission or generation (idempotency keys, owners) is left out.
fn copies(path: &[&MessageDoc], chat: &ChatDoc) -> Vec<MessageDoc> {
    let now = DateTime::now();
    let mut copied: Vec<MessageDoc> = Vec::with_capacity(path.len());
    for original in path {
        let mut copy = (*original).clone();
        copy.id = ObjectId::new();
        copy.chat_id = chat.id;
        copy.parent_id = copied.last().map(|m| m.id);
        copy.client_request_id = None;
        copy.request_key = None;
        copy.owner = None;
        copy.stop_requested = None;
        copy.created_at = now;
        copy.updated_at = now;
        copied.push(copy);
    }
    copied
}

/// Forks the chat at a message: a new chat (201) with the branch up to it. A message still
/// being generated cannot be forked yet (409 `still_generating`).
#[utoipa::path(post, path = "/api/chats/{id}/messages/{message_id}/fork", tag = "chats",
    security(("bearer" = [])),
    params(("id" = String, Path), ("message_id" = String, Path)),
    responses(
        (status = 201, body = ChatView),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
    ))]
async fn fork_chat(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, message_id)): Path<(String, String)>,
) -> ApiResult<(StatusCode, Json<ChatView>)> {
    let chat = owned_chat(&state, &user, &id).await?;
    let leaf = ObjectId::parse_str(&message_id).map_err(|_| ApiError::NotFound("message"))?;
    let all = messages::for_chat(&state.store.messages, chat.id).await?;
    let path = path_to(&all, leaf).ok_or(ApiError::NotFound("message"))?;
    if path.iter().any(|m| m.status == Status::Streaming) {
        return Err(ApiError::ConflictCode {
            code: "still_generating",
            message: "this branch has an answer still being generated; fork it once it ends",
        });
    }
    let mut fork = ChatDoc::new(user.user_id, chat.title.clone(), chat.parameters.clone());
    fork.preset_id = chat.preset_id;
    let copied = copies(&path, &fork);
    fork.current_message_id = copied.last().map(|m| m.id);
    // All or nothing: the chat and its messages in one transaction.
    state.store.insert_conversation(&fork, &copied, &[]).await?;
    let view = ChatView::from(&fork);
    state
        .events
        .publish(user.user_id, LiveEvent::chat_created(view.clone()));
    Ok((StatusCode::CREATED, Json(view)))
}
