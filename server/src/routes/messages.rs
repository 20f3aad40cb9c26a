//! `/api/chats/{id}/messages`: the message tree, and the streaming routes that add to it
//! (send, edit, regenerate) or stop an answer.

use std::time::Duration;

use axum::{Json, extract::State, http::HeaderMap, response::Response};
use mongodb::bson::oid::ObjectId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use validator::Validate;

use super::{chats::owned_chat, stream};
use crate::{
    auth::CurrentUser,
    domain::SamplingParams,
    error::{ApiError, ApiResult, ErrorBody},
    generation::{self, Request},
    http::{Path, Query, Received, ValidatedJson},
    state::AppState,
    store::messages,
    views::{MessageView, StreamEvent},
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_messages, send_message))
        .routes(routes!(edit_message))
        .routes(routes!(regenerate_message))
        .routes(routes!(continue_message))
        .routes(routes!(stop_message))
        .routes(routes!(reattach))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageList {
    /// Every message of the chat (all branches), oldest first.
    messages: Vec<MessageView>,
}

/// The whole message tree of a chat. Answers still being generated show their latest text.
#[utoipa::path(get, path = "/api/chats/{id}/messages", tag = "messages", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = MessageList), (status = 404, body = ErrorBody)))]
async fn list_messages(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Json<MessageList>> {
    let chat = owned_chat(&state, &user, &id).await?;
    let docs = messages::for_chat(&state.store.messages, chat.id).await?;
    // The caller's votes on this chat's answers, in one query.
    let votes = crate::store::votes::for_chat(&state.store.votes, user.user_id, chat.id).await?;
    let views = docs
        .iter()
        .map(|doc| {
            let mut view = MessageView::from(doc);
            if let Some(live) = state.generations.get(doc.id) {
                match live.ending() {
                    Some(ended) => view = MessageView::from(&ended.message),
                    None => view.content = live.tail(0).0,
                }
            }
            view.vote = votes.get(&doc.id).map(|v| v.as_str().to_owned());
            view
        })
        .collect();
    Ok(Json(MessageList { messages: views }))
}

fn message_id(raw: &str) -> ApiResult<ObjectId> {
    ObjectId::parse_str(raw).map_err(|_| ApiError::NotFound("message"))
}

fn chat_id(raw: &str) -> ApiResult<ObjectId> {
    ObjectId::parse_str(raw).map_err(|_| ApiError::NotFound("chat"))
}

/// Starts `request` in the caller's chat and answers with its event stream.
async fn stream_answer(
    state: &AppState,
    user: &CurrentUser,
    chat: &str,
    request: Request,
    Received(received): Received,
) -> ApiResult<Response> {
    let limits = state
        .generations
        .limits
        .for_account(user.limits)
        .counting_api_calls(user.api_keys);
    let (started, window) = generation::start(
        state,
        user.user_id,
        limits,
        chat_id(chat)?,
        request,
        received,
    )
    .await?;
    let mut response = stream::respond(state, started);
    for (name, value) in window
        .map(crate::error::RateWindow::from)
        .iter()
        .flat_map(crate::error::RateWindow::headers)
    {
        response.headers_mut().insert(name, value);
    }
    Ok(response)
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"content": "Plan three days in Lisbon.", "parameters": {"temperature": 0.8, "seed": 42}, "client_request_id": "9b2f6c1e-0d4b-4a57-9f5e-2f1d8c3a7b10"}))]
pub struct SendMessage {
    /// The user's message (1 – MAX_MESSAGE_LENGTH characters, not only blanks).
    #[schema(min_length = 1, pattern = r"\S")]
    content: String,
    /// Answer under this message instead of at the end of the branch on screen.
    parent_id: Option<String>,
    /// Overrides the chat's parameters for this answer.
    parameters: Option<SamplingParams>,
    /// Idempotency key: the same key twice creates one message and attaches to its stream.
    #[validate(length(min = 1, max = 128, message = "must be 1 to 128 characters long"))]
    #[schema(min_length = 1, max_length = 128)]
    client_request_id: Option<String>,
}

/// Sends a message and streams the answer (`text/event-stream`): `user_message`,
/// `assistant_message`, `delta` `{content}`…, then `done` (the saved answer) or `error`
/// `{code, message, assistant_message}`.
#[utoipa::path(post, path = "/api/chats/{id}/messages", tag = "messages", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = SendMessage,
    responses(
        (status = 200, description = "Server-sent events: see the `StreamEvent` schema", content_type = "text/event-stream", body = StreamEvent),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn send_message(
    State(state): State<AppState>,
    received: Received,
    user: CurrentUser,
    Path(id): Path<String>,
    ValidatedJson(body): ValidatedJson<SendMessage>,
) -> ApiResult<Response> {
    let parent_id = match body.parent_id.as_deref() {
        Some(raw) => Some(
            ObjectId::parse_str(raw)
                .map_err(|_| ApiError::field("parent_id", "is not a message of this chat"))?,
        ),
        None => None,
    };
    let request = Request::New {
        content: body.content,
        parent_id,
        parameters: body.parameters,
        client_request_id: body.client_request_id,
    };
    stream_answer(&state, &user, &id, request, received).await
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"content": "Plan four days in Lisbon instead."}))]
pub struct EditMessage {
    /// The new text (1 – MAX_MESSAGE_LENGTH characters, not only blanks).
    #[schema(min_length = 1, pattern = r"\S")]
    content: String,
    parameters: Option<SamplingParams>,
}

/// Creates a sibling of a user message with new text and streams its answer (same events as
/// sending). The old branch is kept.
#[utoipa::path(post, path = "/api/chats/{id}/messages/{message_id}/edit", tag = "messages",
    security(("bearer" = [])),
    params(("id" = String, Path), ("message_id" = String, Path)), request_body = EditMessage,
    responses(
        (status = 200, description = "Server-sent events: see the `StreamEvent` schema", content_type = "text/event-stream", body = StreamEvent),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn edit_message(
    State(state): State<AppState>,
    received: Received,
    user: CurrentUser,
    Path((id, message)): Path<(String, String)>,
    ValidatedJson(body): ValidatedJson<EditMessage>,
) -> ApiResult<Response> {
    let request = Request::Edit {
        message_id: message_id(&message)?,
        content: body.content,
        parameters: body.parameters,
    };
    stream_answer(&state, &user, &id, request, received).await
}

#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"parameters": {"temperature": 1.1}}))]
pub struct RegenerateMessage {
    /// Overrides the chat's parameters for the new answer.
    parameters: Option<SamplingParams>,
}

/// Generates another answer: a sibling of an answer (or a new answer to a user message), streamed.
#[utoipa::path(post, path = "/api/chats/{id}/messages/{message_id}/regenerate", tag = "messages",
    security(("bearer" = [])),
    params(("id" = String, Path), ("message_id" = String, Path)), request_body = RegenerateMessage,
    responses(
        (status = 200, description = "Server-sent events: see the `StreamEvent` schema", content_type = "text/event-stream", body = StreamEvent),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn regenerate_message(
    State(state): State<AppState>,
    received: Received,
    user: CurrentUser,
    Path((id, message)): Path<(String, String)>,
    ValidatedJson(body): ValidatedJson<RegenerateMessage>,
) -> ApiResult<Response> {
    let request = Request::Regenerate {
        message_id: message_id(&message)?,
        parameters: body.parameters,
    };
    stream_answer(&state, &user, &id, request, received).await
}

#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"parameters": {"max_tokens": 256}}))]
pub struct ContinueMessage {
    /// Overrides the answer's own parameters for the continuation.
    parameters: Option<SamplingParams>,
}

/// Continues an answer that ended early (`stopped`, cut at `max_tokens` — finish reason
/// `length` —, or interrupted), in the same message: its text so far is kept and the model
/// goes on from it (assistant prefill; `GET /api/models` says which models can). Streamed as
/// regenerate; the `delta` offsets go on after the text it had. Usage adds up, and each
/// continuation's parameters and stats are recorded in the answer's `continuations`.
#[utoipa::path(post, path = "/api/chats/{id}/messages/{message_id}/continue", tag = "messages",
    security(("bearer" = [])),
    params(("id" = String, Path), ("message_id" = String, Path)), request_body = ContinueMessage,
    responses(
        (status = 200, description = "Server-sent events: see the `StreamEvent` schema", content_type = "text/event-stream", body = StreamEvent),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`not_continuable`: the answer did not end early, or is being continued", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn continue_message(
    State(state): State<AppState>,
    received: Received,
    user: CurrentUser,
    Path((id, message)): Path<(String, String)>,
    ValidatedJson(body): ValidatedJson<ContinueMessage>,
) -> ApiResult<Response> {
    let request = Request::Continue {
        message_id: message_id(&message)?,
        parameters: body.parameters,
    };
    stream_answer(&state, &user, &id, request, received).await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ReattachQuery {
    /// Continue from this length of the answer (UTF-16 code units, the `id` of the last event
    /// received); the same as the `Last-Event-ID` header, which wins when both are given.
    /// Absent: from the start.
    #[param(value_type = Option<u32>, minimum = 0, maximum = 1073741824)]
    from: Option<String>,
}

/// The largest `from` accepted (an answer is far shorter).
const MAX_FROM: usize = 1 << 30;

fn parse_from(raw: Option<&str>, field: &str) -> ApiResult<usize> {
    // Absent: from the start. Present, it must be a length: an empty value or `null` is refused
    // like any other non-number (a browser's EventSource sends no header rather than an empty one).
    let Some(raw) = raw else {
        return Ok(0);
    };
    match raw.trim().parse::<usize>() {
        Ok(from) if from <= MAX_FROM => Ok(from),
        _ => Err(ApiError::Validation(
            [(
                field.to_owned(),
                "must be a whole number of UTF-16 code units (the id of the last event received)"
                    .to_owned(),
            )]
            .into(),
        )),
    }
}

/// Reattaches to an answer, on any process: an event stream (`text/event-stream`) with the
/// answer's start (`assistant_message`), its text after `from` as `delta` events, then live
/// deltas until it ends with `done` or `error`, as on the stream that started it; for an answer
/// that has ended, its text and its end at once. Text-bearing events carry as SSE `id` the
/// answer's length so far in UTF-16 code units: reconnect with `Last-Event-ID` (or `?from=`) to
/// continue from exactly there.
#[utoipa::path(get, path = "/api/chats/{id}/messages/{message_id}/stream", tag = "messages",
    security(("bearer" = [])),
    params(("id" = String, Path), ("message_id" = String, Path), ReattachQuery,
        ("Last-Event-ID" = Option<u32>, Header, nullable = false, minimum = 0, maximum = 1073741824,
            description = "Continue from this length (UTF-16 code units); absent: from the start")),
    responses(
        (status = 200, description = "Server-sent events: see the `StreamEvent` schema", content_type = "text/event-stream", body = StreamEvent),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn reattach(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    Path((id, message)): Path<(String, String)>,
    Query(query): Query<ReattachQuery>,
) -> ApiResult<Response> {
    // Both are checked; the header wins when both are given.
    let from_query = parse_from(query.from.as_deref(), "from")?;
    let from = match headers.get("last-event-id") {
        Some(value) => parse_from(Some(value.to_str().unwrap_or("invalid")), "Last-Event-ID")?,
        None => from_query,
    };
    let (chat, answer) = (chat_id(&id)?, message_id(&message)?);
    // The user's feed opens before the answer is read: whatever happens to it afterwards
    // arrives through the feed, so the answer as read here is where following starts.
    let feed = state.events.subscribe(user.user_id);
    let found = tokio::try_join!(owned_chat(&state, &user, &id), async {
        messages::find_in_chat(&state.store.messages, chat, answer)
            .await
            .map_err(ApiError::from)
    },);
    let answer = match found {
        Ok((_, Some(answer))) if answer.role == messages::Role::Assistant => Ok(answer),
        Ok(_) => Err(ApiError::NotFound("message")),
        Err(err) => Err(err),
    }
    .inspect_err(|_| state.events.unsubscribe(user.user_id, feed.id))?;
    Ok(stream::reattach(&state, answer, from, feed))
}

/// Stops an answer being generated: the upstream request is cancelled and the partial text is
/// saved as `stopped`. Returns the answer as saved (unchanged if it had already ended).
#[utoipa::path(post, path = "/api/chats/{id}/messages/{message_id}/stop", tag = "messages",
    security(("bearer" = [])),
    params(("id" = String, Path), ("message_id" = String, Path)),
    responses((status = 200, body = MessageView), (status = 404, body = ErrorBody)))]
async fn stop_message(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, message)): Path<(String, String)>,
) -> ApiResult<Json<MessageView>> {
    let chat = owned_chat(&state, &user, &id).await?;
    let message_id = message_id(&message)?;
    if let Some(live) = state
        .generations
        .get(message_id)
        .filter(|g| g.chat_id == chat.id)
    {
        let mut version = live.subscribe();
        live.stop();
        let wait = async {
            loop {
                if let Some(ended) = live.ending() {
                    return ended.message;
                }
                if version.changed().await.is_err() {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        };
        if let Ok(done) = tokio::time::timeout(Duration::from_secs(10), wait).await {
            return Ok(Json(MessageView::from(&done)));
        }
    }
    let saved = messages::find_in_chat(&state.store.messages, chat.id, message_id)
        .await?
        .ok_or(ApiError::NotFound("message"))?;
    if saved.status != messages::Status::Streaming || state.generations.get(message_id).is_some() {
        return Ok(Json(MessageView::from(&saved)));
    }
    // Generated by another process: ask its owner (through the answer's document) and wait for
    // the answer's end to come through the event log.
    let mut feed = state.events.subscribe(user.user_id);
    let requested = messages::request_stop(&state.store.messages, message_id, user.user_id).await;
    if matches!(requested, Ok(true)) {
        let hex = message_id.to_hex();
        let ended = async {
            while let Some(frames) = feed.events.recv().await {
                for delivery in frames.iter() {
                    let Ok(frame) = serde_json::from_str::<serde_json::Value>(&delivery.frame)
                    else {
                        continue;
                    };
                    if frame["message_id"] == hex.as_str()
                        && matches!(
                            frame["type"].as_str(),
                            Some("generation.finished" | "generation.unsaved")
                        )
                    {
                        return;
                    }
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(10), ended).await;
    }
    state.events.unsubscribe(user.user_id, feed.id);
    requested?;
    let saved = messages::find_in_chat(&state.store.messages, chat.id, message_id)
        .await?
        .ok_or(ApiError::NotFound("message"))?;
    Ok(Json(MessageView::from(&saved)))
}
