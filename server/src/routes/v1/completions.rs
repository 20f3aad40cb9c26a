//! `POST /v1/chat/completions`. Not saved (the default), the answer is the caller's alone
//! (`generation::direct`: counted against the owner's limits and quotas, logged to
//! `CHAT_LOG`, never stored). Saved (`"confab": {"save": true}` or `X-Confab-Save: true`), the
//! exchange becomes a chat of the owner's — the earlier messages as they were sent, the last
//! user message answered by the server's own generation, which the owner's open clients see
//! stream live, and which goes on if the caller goes away.

use std::{convert::Infallible, sync::Arc, time::Duration};

use axum::{
    Json,
    body::Bytes,
    extract::{State, rejection::BytesRejection},
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode},
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use futures::{Stream, StreamExt as _, stream::BoxStream};
use mongodb::bson::oid::ObjectId;
use serde_json::{Value, json};

use super::{
    OpenAiError, V1Result, authenticated,
    request::{self, Completion},
};
use crate::{
    domain::{Param, ParamValue, Role, SamplingParams, Turn},
    error::{ApiError, RateWindow},
    events::LiveEvent,
    generation::{
        self, Generation, Request, Started, Window,
        direct::{self, CallError},
    },
    http::Received,
    llm::{Resolved, UpstreamEvent},
    state::AppState,
    store::{ChatDoc, MessageDoc, chats, messages::Status},
    views::ChatView,
};

/// Asks for the exchange to be saved as a chat, as `"confab": {"save": true}` does.
const SAVE_HEADER: &str = "x-confab-save";
/// Names the parameters the model's upstream does not read (they were not sent).
const IGNORED_HEADER: HeaderName = HeaderName::from_static("x-confab-ignored-parameters");
/// Names the chat a saved exchange went to.
const CHAT_HEADER: HeaderName = HeaderName::from_static("x-confab-chat-id");

/// What an answer is made of, from either kind of call.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    End(End),
}

#[derive(Debug, Clone, PartialEq, Default)]
struct End {
    finish_reason: Option<String>,
    /// (prompt, completion) tokens.
    usage: Option<(u64, u64)>,
    /// Why it failed, OpenAI's way.
    error: Option<(u16, String, String)>,
}

type Pieces = BoxStream<'static, Piece>;

pub async fn create(
    State(state): State<AppState>,
    Received(received): Received,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match respond(&state, received, &headers, body).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn respond(
    state: &AppState,
    received: std::time::Instant,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> V1Result<Response> {
    let user = authenticated(state, headers).await?;
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            OpenAiError::from(ApiError::PayloadTooLarge {
                limit: state.settings.http.max_body_bytes,
            })
        } else {
            OpenAiError::invalid(None, format!("could not read the body: {rejection}"))
        }
    })?;
    let value: Value = serde_json::from_slice(&body)
        .map_err(|err| OpenAiError::invalid(None, format!("the body is not valid JSON: {err}")))?;
    let mut completion = request::read(value)?;
    completion.save |= headers
        .get(SAVE_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true") || v.trim() == "1");
    let resolved = resolve(state, &completion)?;
    let ignored: Vec<&str> = completion
        .params
        .iter()
        .filter(|(param, _)| resolved.params.get(*param).is_none())
        .map(|(param, _)| param.name())
        .collect();
    let limits = state
        .generations
        .limits
        .for_account(user.limits)
        .counting_api_calls(true);
    let id = format!("chatcmpl-{}", ObjectId::new().to_hex());
    let model = resolved.model.id.clone();
    let (pieces, window, chat_id) = if completion.save {
        let (pieces, window, chat) = saved(
            state,
            user.user_id,
            limits,
            &completion,
            &resolved,
            received,
        )
        .await?;
        (pieces, window, Some(chat))
    } else {
        let (call, window) = direct::call(
            state,
            user.user_id,
            limits,
            resolved,
            completion.turns.clone(),
        )
        .await
        .map_err(call_error)?;
        (direct_pieces(call), window, None)
    };
    let mut response = if completion.stream {
        sse(pieces, id, model, completion.include_usage)
    } else {
        collect(pieces, &id, &model).await?
    };
    let extra = response.headers_mut();
    if !ignored.is_empty()
        && let Ok(value) = HeaderValue::from_str(&ignored.join(", "))
    {
        extra.insert(IGNORED_HEADER, value);
    }
    if let Some(chat) = chat_id
        && let Ok(value) = HeaderValue::from_str(&chat.to_hex())
    {
        extra.insert(CHAT_HEADER, value);
    }
    for (name, value) in window
        .map(RateWindow::from)
        .iter()
        .flat_map(RateWindow::headers)
    {
        extra.insert(name, value);
    }
    Ok(response)
}

/// The model and parameters it runs with, checked as the chat routes check them.
fn resolve(state: &AppState, completion: &Completion) -> V1Result<Resolved> {
    if state.catalog.is_empty() {
        return Err(ApiError::NoUpstream.into());
    }
    if let Some(id) = completion.params.model()
        && state.catalog.model(id).is_none()
    {
        return Err(OpenAiError::model_not_found(id));
    }
    state
        .catalog
        .resolve(&completion.params, "")
        .map_err(|fields| ApiError::Validation(fields).into())
}

fn call_error(error: CallError) -> OpenAiError {
    match error {
        CallError::Start(error) => ApiError::from(error).into(),
        CallError::Upstream(error) => OpenAiError::upstream(&error),
    }
}

/// The upstream's events as pieces: text as it comes, then how it ended.
fn direct_pieces(call: direct::Call) -> Pieces {
    futures::stream::unfold((Some(call), End::default()), |(call, mut end)| async move {
        let mut call = call?;
        loop {
            match call.next().await {
                Some(Ok(UpstreamEvent::Delta(text))) => {
                    return Some((Piece::Text(text), (Some(call), end)));
                }
                Some(Ok(UpstreamEvent::Usage {
                    prompt_tokens,
                    completion_tokens,
                })) => end.usage = Some((prompt_tokens, completion_tokens)),
                Some(Ok(UpstreamEvent::Finish(reason))) => end.finish_reason = Some(reason),
                Some(Err(error)) => {
                    let refused = OpenAiError::upstream(&error);
                    end.error = Some((
                        refused.status.as_u16(),
                        error.code().to_owned(),
                        refused.message,
                    ));
                    return Some((Piece::End(end), (None, End::default())));
                }
                None => return Some((Piece::End(end), (None, End::default()))),
            }
        }
    })
    .boxed()
}

/// Saves the exchange as a new chat and starts its answer there.
async fn saved(
    state: &AppState,
    user_id: ObjectId,
    limits: generation::FairUse,
    completion: &Completion,
    resolved: &Resolved,
    received: std::time::Instant,
) -> V1Result<(Pieces, Option<Window>, ObjectId)> {
    let turns = &completion.turns;
    let system_turns = turns.iter().take_while(|t| t.role == Role::System).count();
    let (question, history) = match turns[system_turns..].split_last() {
        Some((last, history)) if last.role == Role::User => (last, history),
        _ => {
            return Err(OpenAiError::invalid(
                Some("messages"),
                "to save the exchange, the last message must be the user's",
            ));
        }
    };
    if history.iter().any(|t| t.role == Role::System) {
        return Err(OpenAiError::invalid(
            Some("messages"),
            "to save the exchange, system messages must come first",
        ));
    }
    let mut parameters: SamplingParams = completion.params.clone();
    parameters.set(Param::MODEL, ParamValue::Text(resolved.model.id.clone()));
    let system: Vec<&str> = turns[..system_turns]
        .iter()
        .map(|t| t.content.as_str())
        .collect();
    if !system.is_empty() {
        parameters.set(Param::SYSTEM_PROMPT, ParamValue::Text(system.join("\n\n")));
    }
    state
        .catalog
        .validate(&parameters, "")
        .map_err(|fields| OpenAiError::from(ApiError::Validation(fields)))?;
    let chat = ChatDoc::new(user_id, None, parameters);
    let earlier = history_docs(chat.id, user_id, history);
    let parent_id = earlier.last().map(|m| m.id);
    chats::insert(&state.store.chats, &chat)
        .await
        .map_err(ApiError::from)?;
    if !earlier.is_empty() {
        state
            .store
            .batched
            .insert_messages(earlier)
            .await
            .map_err(ApiError::from)?;
    }
    state
        .events
        .publish(user_id, LiveEvent::chat_created(ChatView::from(&chat)));
    let request = Request::New {
        content: question.content.clone(),
        parent_id,
        parameters: None,
        client_request_id: None,
    };
    let (started, window) =
        match generation::start(state, user_id, limits, chat.id, request, received).await {
            Ok(started) => started,
            Err(error) => {
                // Nothing was answered (over a limit, shutting down…): the chat made for the
                // exchange goes again, and the owner's clients are told.
                discard(state, user_id, chat.id).await;
                return Err(ApiError::from(error).into());
            }
        };
    let pieces = match started {
        Started::Live(generation) => generation_pieces(generation),
        Started::Finished { answer, .. } => futures::stream::iter(ended_pieces(&answer)).boxed(),
        Started::Elsewhere { .. } => {
            return Err(ApiError::Unavailable(anyhow::anyhow!(
                "a new chat's answer runs on another process"
            ))
            .into());
        }
    };
    Ok((pieces, window, chat.id))
}

/// Deletes a chat made for an exchange that did not start (best effort: logged if it fails).
async fn discard(state: &AppState, user_id: ObjectId, chat_id: ObjectId) {
    let deleted = tokio::try_join!(
        chats::delete(&state.store.chats, user_id, chat_id),
        crate::store::messages::delete_for_chat(&state.store.messages, chat_id),
    );
    if let Err(err) = deleted {
        tracing::warn!(%chat_id, error = %err, "deleting the chat of an exchange that did not start failed");
    }
    state
        .events
        .publish(user_id, LiveEvent::chat_deleted(chat_id));
}

/// The earlier messages of a saved exchange, as one branch.
fn history_docs(chat_id: ObjectId, user_id: ObjectId, history: &[Turn]) -> Vec<MessageDoc> {
    let mut docs: Vec<MessageDoc> = Vec::with_capacity(history.len());
    for turn in history {
        let parent = docs.last().map(|m| m.id);
        let mut doc = MessageDoc::user(chat_id, user_id, parent, turn.content.clone(), None);
        doc.role = turn.role;
        docs.push(doc);
    }
    docs
}

/// An ended answer, as pieces.
fn ended_pieces(answer: &MessageDoc) -> Vec<Piece> {
    let mut pieces = Vec::new();
    if !answer.content.is_empty() {
        pieces.push(Piece::Text(answer.content.clone()));
    }
    let error = match (&answer.status, &answer.error) {
        (Status::Error, Some(error)) => Some((502, error.code.clone(), error.message.clone())),
        _ => None,
    };
    pieces.push(Piece::End(End {
        finish_reason: answer
            .finish_reason
            .clone()
            .or_else(|| (answer.status == Status::Stopped).then(|| "stop".to_owned())),
        usage: answer
            .usage
            .as_ref()
            .map(|u| (u.prompt_tokens, u.completion_tokens)),
        error,
    }));
    pieces
}

/// A generation's text as it grows, then its ending.
fn generation_pieces(generation: Arc<Generation>) -> Pieces {
    let from = generation.placeholder.content.len();
    let version = generation.subscribe();
    futures::stream::unfold(Some((generation, version, from)), |following| async move {
        let (generation, mut version, from) = following?;
        loop {
            version.borrow_and_update();
            let (text, end) = generation.tail(from);
            if !text.is_empty() {
                return Some((Piece::Text(text), Some((generation, version, end))));
            }
            if let Some(ending) = generation.ending() {
                let mut last = ended_pieces(&ending.message);
                // Its text was all sent above.
                return last.pop().map(|end| (end, None));
            }
            if version.changed().await.is_err() {
                let end = End {
                    error: Some((
                        503,
                        "interrupted".to_owned(),
                        "the answer stopped being generated".to_owned(),
                    )),
                    ..End::default()
                };
                return Some((Piece::End(end), None));
            }
        }
    })
    .boxed()
}

fn usage_json((prompt, completion): (u64, u64)) -> Value {
    json!({
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    })
}

fn created() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A non-streamed answer: all of it, once it has ended.
async fn collect(mut pieces: Pieces, id: &str, model: &str) -> V1Result<Response> {
    let mut text = String::new();
    let mut end = End::default();
    while let Some(piece) = pieces.next().await {
        match piece {
            Piece::Text(more) => text.push_str(&more),
            Piece::End(last) => end = last,
        }
    }
    if let Some((status, code, message)) = end.error {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
        let mut error = OpenAiError::new(status, "server_error", message).with_code(&code);
        error.param = None;
        return Err(error);
    }
    let body = json!({
        "id": id,
        "object": "chat.completion",
        "created": created(),
        "model": model,
        "choices": [{
            "index": 0,
            "message": { "role": "assistant", "content": text, "refusal": null },
            "logprobs": null,
            "finish_reason": end.finish_reason.unwrap_or_else(|| "stop".to_owned()),
        }],
        "usage": end.usage.map(usage_json),
        "system_fingerprint": null,
    });
    Ok(Json(body).into_response())
}

/// A streamed answer: OpenAI's `chat.completion.chunk`s as server-sent events, then
/// `data: [DONE]`; a failure after the start is an `error` object in the stream.
fn sse(pieces: Pieces, id: String, model: String, include_usage: bool) -> Response {
    let chunk = move |delta: Value, finish: Option<&str>| {
        let mut chunk = json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": created(),
            "model": model,
            "system_fingerprint": null,
            "choices": [{ "index": 0, "delta": delta, "logprobs": null, "finish_reason": finish }],
        });
        if include_usage {
            chunk["usage"] = Value::Null;
        }
        chunk
    };
    let data = |value: &Value| Ok::<Event, Infallible>(Event::default().data(value.to_string()));
    let opening = data(&chunk(json!({ "role": "assistant", "content": "" }), None));
    let events = pieces.flat_map(move |piece| {
        let frames: Vec<Result<Event, Infallible>> = match piece {
            Piece::Text(text) => vec![data(&chunk(json!({ "content": text }), None))],
            Piece::End(End {
                error: Some((_, code, message)),
                ..
            }) => vec![data(&json!({ "error": {
                "message": message, "type": "server_error", "param": null, "code": code,
            }}))],
            Piece::End(end) => {
                let finish = end.finish_reason.as_deref().unwrap_or("stop");
                let mut frames = vec![data(&chunk(json!({}), Some(finish)))];
                if include_usage {
                    let mut last = chunk(json!({}), None);
                    last["choices"] = json!([]);
                    last["usage"] = end.usage.map_or(Value::Null, usage_json);
                    frames.push(data(&last));
                }
                frames.push(Ok(Event::default().data("[DONE]")));
                frames
            }
        };
        futures::stream::iter(frames)
    });
    let stream = futures::stream::once(async move { opening }).chain(events);
    sse_response(stream)
}

fn sse_response(
    stream: impl Stream<Item = Result<Event, Infallible>> + Send + 'static,
) -> Response {
    let mut response = Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response();
    response.headers_mut().insert(
        HeaderName::from_static("x-accel-buffering"),
        HeaderValue::from_static("no"),
    );
    response
}
