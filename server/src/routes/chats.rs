//! `/api/chats`: create, list (cursor-paginated, searchable), read, update, delete.
//! Every query is scoped to the caller; another user's chat is 404.

use axum::{Json, extract::State, http::StatusCode, response::IntoResponse};
use mongodb::bson::oid::ObjectId;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use validator::Validate;

use crate::views::ChatView;
use crate::{
    auth::CurrentUser,
    domain::SamplingParams,
    error::{ApiError, ApiResult, ErrorBody},
    events::LiveEvent,
    http::{Path, Query, ValidatedJson},
    state::AppState,
    store::{
        ChatDoc,
        chats::{self, ChatUpdate, Cursor},
        messages, votes,
    },
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_chat, list_chats))
        .routes(routes!(get_chat, update_chat, delete_chat))
}

const MAX_TITLE: u64 = 200;

/// Parses a chat id from the path: anything that is not one of the caller's chats is 404.
pub async fn owned_chat(state: &AppState, user: &CurrentUser, raw_id: &str) -> ApiResult<ChatDoc> {
    let id = ObjectId::parse_str(raw_id).map_err(|_| ApiError::NotFound("chat"))?;
    chats::find_owned(&state.store.chats, user.user_id, id)
        .await?
        .ok_or(ApiError::NotFound("chat"))
}

/// Stored parameters (a chat's defaults, a preset's): the catalog's rules (resolved only when an
/// answer uses them).
pub(super) fn check_parameters(state: &AppState, parameters: &SamplingParams) -> ApiResult<()> {
    state
        .catalog
        .validate(parameters, "parameters")
        .map_err(ApiError::Validation)
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"title": "Trip planning", "parameters": {"temperature": 0.7, "max_tokens": 512, "system_prompt": "You are a concise travel agent."}}))]
pub struct CreateChat {
    #[validate(length(max = MAX_TITLE, message = "must be at most 200 characters long"))]
    #[schema(max_length = 200)]
    title: Option<String>,
    /// Default sampling parameters for the chat's answers.
    parameters: Option<SamplingParams>,
    /// Copy these parameters from a preset (one of the caller's, or a shared one) instead.
    preset_id: Option<String>,
}

/// The parameters of a preset the caller sees, named by `preset_id` in a body (else 422).
async fn preset_parameters(
    state: &AppState,
    user: &CurrentUser,
    raw_id: &str,
    parameters_too: bool,
) -> ApiResult<(ObjectId, SamplingParams)> {
    if parameters_too {
        return Err(ApiError::field(
            "preset_id",
            "give either preset_id or parameters, not both",
        ));
    }
    let preset = super::presets::visible_preset(state, user, raw_id)
        .await?
        .ok_or_else(|| ApiError::field("preset_id", "is not a preset of yours or a shared one"))?;
    // Checked again: the models may have changed since the preset was saved.
    check_parameters(state, &preset.parameters)?;
    Ok((preset.id, preset.parameters))
}

/// Creates a chat.
#[utoipa::path(post, path = "/api/chats", tag = "chats", security(("bearer" = [])),
    request_body = CreateChat,
    responses(
        (status = 201, body = ChatView),
        (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn create_chat(
    State(state): State<AppState>,
    user: CurrentUser,
    ValidatedJson(body): ValidatedJson<CreateChat>,
) -> ApiResult<impl IntoResponse> {
    let (preset_id, parameters) = match body.preset_id.as_deref() {
        Some(raw) => {
            let (id, parameters) =
                preset_parameters(&state, &user, raw, body.parameters.is_some()).await?;
            (Some(id), parameters)
        }
        None => (None, body.parameters.unwrap_or_default()),
    };
    check_parameters(&state, &parameters)?;
    let title = body
        .title
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty());
    let mut chat = ChatDoc::new(user.user_id, title, parameters);
    chat.preset_id = preset_id;
    chats::insert(&state.store.chats, &chat).await?;
    let view = ChatView::from(&chat);
    // Its first answer can start before the chat is read again (the read still confirms it).
    state
        .known_chats
        .remember(std::sync::Arc::new((chat, Vec::new())));
    state
        .events
        .publish(user.user_id, LiveEvent::chat_created(view.clone()));
    Ok((StatusCode::CREATED, Json(view)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// 1–100, default 30.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
    /// `next_cursor` of the previous page (opaque).
    cursor: Option<String>,
    /// Searches titles and message text (case-insensitive, literal); finds archived chats too.
    #[param(max_length = 200)]
    q: Option<String>,
    /// `true`: only the archived chats (else they are left out, but for a search).
    archived: Option<bool>,
    /// Only the chats in this folder (one of the caller's).
    folder_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChatPage {
    chats: Vec<ChatView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    next_cursor: Option<String>,
}

/// The caller's chats: pinned ones first, then by most recent activity.
#[utoipa::path(get, path = "/api/chats", tag = "chats", security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, body = ChatPage),
        (status = 401, body = ErrorBody),
        (status = 404, description = "`folder_id` is not one of the caller's folders", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn list_chats(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<ListQuery>,
) -> ApiResult<Json<ChatPage>> {
    let limit = query.limit.unwrap_or(30);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::field("limit", "must be between 1 and 100"));
    }
    let after = match query.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(raw) => Some(
            Cursor::decode(raw)
                .ok_or_else(|| ApiError::field("cursor", "is not a valid cursor"))?,
        ),
        None => None,
    };
    let search = match query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        Some(q) if q.chars().count() > 200 => {
            return Err(ApiError::field("q", "must be at most 200 characters long"));
        }
        Some(q) => {
            let pattern = regex::escape(q);
            let hits =
                messages::chats_matching(&state.store.messages, user.user_id, &pattern).await?;
            Some((pattern, hits))
        }
        None => None,
    };
    let folder_id = match query.folder_id.as_deref() {
        Some(raw) => Some(owned_folder(&state, user.user_id, raw).await?.id),
        None => None,
    };
    let listing = chats::Listing {
        archived: query.archived == Some(true),
        folder_id,
    };
    let mut page = chats::list(
        &state.store.chats,
        user.user_id,
        limit + 1,
        after,
        search.as_ref().map(|(p, ids)| (p.as_str(), ids.clone())),
        &listing,
    )
    .await?;
    let more = page.len() as i64 > limit;
    page.truncate(usize::try_from(limit).unwrap_or(30));
    let next_cursor = more
        .then(|| page.last())
        .flatten()
        .map(|last| Cursor::of(last).encode());
    Ok(Json(ChatPage {
        chats: page.iter().map(ChatView::from).collect(),
        next_cursor,
    }))
}

/// One chat.
#[utoipa::path(get, path = "/api/chats/{id}", tag = "chats", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = ChatView), (status = 404, body = ErrorBody)))]
async fn get_chat(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Json<ChatView>> {
    Ok(Json(ChatView::from(&owned_chat(&state, &user, &id).await?)))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"title": "Trip to Lisbon", "parameters": {"temperature": 0.3, "top_p": 0.9}}))]
pub struct UpdateChat {
    /// An empty title clears it.
    #[validate(length(max = MAX_TITLE, message = "must be at most 200 characters long"))]
    #[schema(max_length = 200)]
    title: Option<String>,
    /// Replaces the chat's default parameters as a whole.
    parameters: Option<SamplingParams>,
    /// Replaces them with a copy of a preset's (one of the caller's, or a shared one).
    preset_id: Option<String>,
    /// The branch on screen: a message of this chat.
    current_message_id: Option<String>,
    /// Pinned chats are listed first.
    pinned: Option<bool>,
    /// Archived chats are left out of the list (but not of search).
    archived: Option<bool>,
    /// The caller's folder to file it in; `null` takes it out of its folder.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable)]
    folder_id: Option<Option<String>>,
}

/// A field that may be `null` (`Some(None)`), as opposed to absent (`None`).
fn present<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

/// The caller's folder by the id given (404 `folder` otherwise).
pub async fn owned_folder(
    state: &AppState,
    user_id: ObjectId,
    raw: &str,
) -> ApiResult<crate::store::folders::FolderDoc> {
    let id = ObjectId::parse_str(raw).map_err(|_| ApiError::NotFound("folder"))?;
    crate::store::folders::find_owned(&state.store.folders, user_id, id)
        .await?
        .ok_or(ApiError::NotFound("folder"))
}

/// Renames a chat, changes its default parameters, records the branch on screen, pins or
/// archives it, or files it in a folder (pinning, archiving and filing are not activity: the
/// chat keeps its place by `updated_at`).
#[utoipa::path(patch, path = "/api/chats/{id}", tag = "chats", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = UpdateChat,
    responses(
        (status = 200, body = ChatView),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn update_chat(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    ValidatedJson(body): ValidatedJson<UpdateChat>,
) -> ApiResult<Json<ChatView>> {
    let chat = owned_chat(&state, &user, &id).await?;
    let mut change = ChatUpdate {
        title: body
            .title
            .map(|title| Some(title.trim().to_owned()).filter(|t| !t.is_empty())),
        ..ChatUpdate::default()
    };
    if let Some(raw) = body.preset_id.as_deref() {
        let (id, parameters) =
            preset_parameters(&state, &user, raw, body.parameters.is_some()).await?;
        change.parameters = Some(parameters);
        change.preset_id = Some(Some(id));
    } else if let Some(parameters) = body.parameters {
        check_parameters(&state, &parameters)?;
        // Set by hand: no longer the preset's.
        if parameters != chat.parameters {
            change.preset_id = Some(None);
        }
        change.parameters = Some(parameters);
    }
    if let Some(raw) = body.current_message_id {
        let not_here = || ApiError::field("current_message_id", "is not a message of this chat");
        let message_id = ObjectId::parse_str(&raw).map_err(|_| not_here())?;
        messages::find_in_chat(&state.store.messages, chat.id, message_id)
            .await?
            .ok_or_else(not_here)?;
        change.current_message_id = Some(message_id);
    }
    change.pinned = body.pinned;
    change.archived = body.archived;
    change.folder_id = match body.folder_id {
        Some(Some(raw)) => Some(Some(owned_folder(&state, user.user_id, &raw).await?.id)),
        Some(None) => Some(None),
        None => None,
    };
    let updated = chats::update(&state.store.chats, user.user_id, chat.id, &change)
        .await?
        .ok_or(ApiError::NotFound("chat"))?;
    let view = ChatView::from(&updated);
    state
        .events
        .publish(user.user_id, LiveEvent::chat_updated(view.clone()));
    Ok(Json(view))
}

/// Deletes a chat and all its messages, stopping its generation if one is running.
#[utoipa::path(delete, path = "/api/chats/{id}", tag = "chats", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_chat(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let chat = owned_chat(&state, &user, &id).await?;
    state.generations.stop_chat(chat.id);
    chats::delete(&state.store.chats, user.user_id, chat.id).await?;
    messages::delete_for_chat(&state.store.messages, chat.id).await?;
    votes::delete_for_chat(&state.store.votes, chat.id).await?;
    state
        .events
        .publish(user.user_id, LiveEvent::chat_deleted(chat.id));
    Ok(StatusCode::NO_CONTENT)
}
