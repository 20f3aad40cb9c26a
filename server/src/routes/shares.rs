//! Share links: `POST /api/chats/{id}/shares` publishes a read-only snapshot of a branch (up
//! to `message_id`, default the branch on screen) at `/s/{token}`; `GET /api/shares` lists the
//! caller's, `DELETE /api/shares/{id}` revokes one at once. `GET /api/shared/{token}` needs no
//! sign-in and answers the snapshot: its messages (and, if the owner chose, each answer's model
//! and parameters), never who the owner is; `noindex`, `Cache-Control: private`.

use axum::{
    Json,
    extract::State,
    http::{HeaderName, HeaderValue, StatusCode, header},
    response::IntoResponse,
};
use mongodb::bson::{DateTime, oid::ObjectId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use validator::Validate;

use super::{chats::owned_chat, fork::path_to};
use crate::{
    auth::CurrentUser,
    domain::{Param, Role},
    error::{ApiError, ApiResult, ErrorBody},
    events::LiveEvent,
    http::{Path, ValidatedJson},
    state::AppState,
    store::{
        ChatDoc, MessageDoc,
        messages::{self, Status},
        shares::{self, ShareDoc, SharedMessage},
    },
    views::{ChatView, ShareView, SharedChatView},
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_share))
        .routes(routes!(list_shares))
        .routes(routes!(revoke_share))
        .routes(routes!(shared_chat))
        .routes(routes!(copy_shared))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"include_parameters": true}))]
pub struct CreateShare {
    /// The last message to share (default: the end of the branch on screen).
    message_id: Option<String>,
    /// Show each answer's model and parameters (default: no).
    #[serde(default)]
    include_parameters: bool,
}

/// Publishes a snapshot of a branch of the chat (201). Later changes to the chat do not change
/// it. 409 `still_generating` while an answer of the branch streams, `empty_chat` for a chat
/// with no message.
#[utoipa::path(post, path = "/api/chats/{id}/shares", tag = "shares", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = CreateShare,
    responses(
        (status = 201, body = ShareView),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn create_share(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    ValidatedJson(body): ValidatedJson<CreateShare>,
) -> ApiResult<(StatusCode, Json<ShareView>)> {
    let chat = owned_chat(&state, &user, &id).await?;
    let all = messages::for_chat(&state.store.messages, chat.id).await?;
    let not_here = || ApiError::field("message_id", "is not a message of this chat");
    let leaf = match body.message_id.as_deref() {
        Some(raw) => ObjectId::parse_str(raw).map_err(|_| not_here())?,
        None => chat
            .current_message_id
            .or_else(|| all.last().map(|m| m.id))
            .ok_or(ApiError::ConflictCode {
                code: "empty_chat",
                message: "this chat has no message to share yet",
            })?,
    };
    let path = path_to(&all, leaf).ok_or_else(not_here)?;
    if path.iter().any(|m| m.status == Status::Streaming) {
        return Err(ApiError::ConflictCode {
            code: "still_generating",
            message: "this branch has an answer still being generated; share it once it ends",
        });
    }
    if shares::count_of(&state.store.shares, user.user_id).await? >= shares::MAX_PER_USER {
        return Err(ApiError::ConflictCode {
            code: "too_many_shares",
            message: "an account keeps at most 500 share links; revoke some first",
        });
    }
    let snapshot = path
        .iter()
        .filter(|m| !m.content.trim().is_empty())
        .map(|m| {
            let answer = m.role == Role::Assistant && body.include_parameters;
            SharedMessage {
                role: m.role,
                content: m.content.clone(),
                model: m.model.clone().filter(|_| answer),
                parameters: m.parameters.clone().filter(|_| answer),
            }
        })
        .collect();
    let share = ShareDoc {
        id: ObjectId::new(),
        user_id: user.user_id,
        chat_id: chat.id,
        message_id: leaf,
        token: shares::new_token(),
        title: chat.title.clone(),
        messages: snapshot,
        created_at: DateTime::now(),
    };
    shares::insert(&state.store.shares, &share).await?;
    Ok((StatusCode::CREATED, Json(ShareView::from(&share))))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ShareList {
    /// Newest first.
    shares: Vec<ShareView>,
}

/// The caller's share links.
#[utoipa::path(get, path = "/api/shares", tag = "shares", security(("bearer" = [])),
    responses((status = 200, body = ShareList), (status = 401, body = ErrorBody)))]
async fn list_shares(
    State(state): State<AppState>,
    user: CurrentUser,
) -> ApiResult<Json<ShareList>> {
    let found = shares::of_user(&state.store.shares, user.user_id).await?;
    Ok(Json(ShareList {
        shares: found.iter().map(ShareView::from).collect(),
    }))
}

/// Revokes a share link: it answers 404 from now on, everywhere.
#[utoipa::path(delete, path = "/api/shares/{id}", tag = "shares", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn revoke_share(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = ObjectId::parse_str(&id).map_err(|_| ApiError::NotFound("share"))?;
    if !shares::revoke(&state.store.shares, user.user_id, id).await? {
        return Err(ApiError::NotFound("share"));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The live share behind a token (404 for anything else, a revoked one included).
async fn by_token(state: &AppState, token: &str) -> ApiResult<ShareDoc> {
    // Anything that cannot be a token is not looked up.
    let plausible = token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    match plausible {
        true => shares::by_token(&state.store.shares, token).await?,
        false => None,
    }
    .ok_or(ApiError::NotFound("share"))
}

/// "Continue this chat": a copy of a shared snapshot in the caller's account (201), each
/// message in order; the last answer's parameters become the chat's when the owner included
/// them (without a model this server does not serve). The snapshot is unchanged.
#[utoipa::path(post, path = "/api/shared/{token}/copy", tag = "shares", security(("bearer" = [])),
    params(("token" = String, Path)),
    responses(
        (status = 201, body = ChatView),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn copy_shared(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(token): Path<String>,
) -> ApiResult<(StatusCode, Json<ChatView>)> {
    let share = by_token(&state, &token).await?;
    let mut parameters = share
        .messages
        .iter()
        .rev()
        .find_map(|m| m.parameters.clone())
        .unwrap_or_default();
    if parameters
        .model()
        .is_some_and(|model| state.catalog.model(model).is_none())
    {
        parameters.remove(Param::MODEL);
    }
    let mut chat = ChatDoc::new(user.user_id, share.title.clone(), parameters);
    let mut copied: Vec<MessageDoc> = Vec::with_capacity(share.messages.len());
    for shared in &share.messages {
        let mut message = MessageDoc::user(
            chat.id,
            user.user_id,
            copied.last().map(|m| m.id),
            shared.content.clone(),
            None,
        );
        message.role = shared.role;
        if shared.role == Role::Assistant {
            message.model = shared.model.clone();
            message.parameters = shared.parameters.clone();
        }
        copied.push(message);
    }
    chat.current_message_id = copied.last().map(|m| m.id);
    state.store.insert_conversation(&chat, &copied, &[]).await?;
    let view = ChatView::from(&chat);
    state
        .events
        .publish(user.user_id, LiveEvent::chat_created(view.clone()));
    Ok((StatusCode::CREATED, Json(view)))
}

/// A shared snapshot, for anyone with its link (no sign-in). Unknown or revoked: 404.
#[utoipa::path(get, path = "/api/shared/{token}", tag = "shares",
    params(("token" = String, Path)),
    responses((status = 200, body = SharedChatView), (status = 404, body = ErrorBody)))]
async fn shared_chat(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let share = by_token(&state, &token).await?;
    Ok((
        [
            (
                HeaderName::from_static("x-robots-tag"),
                HeaderValue::from_static("noindex"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("private")),
        ],
        Json(SharedChatView::from(&share)),
    ))
}
