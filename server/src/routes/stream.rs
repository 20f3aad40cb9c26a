//! The `text/event-stream` of a generation: its live events, under the names API clients
//! know: `user_message`, `assistant_message`, `delta`…, then `done` or `error`. Any number of
//! streams can follow one generation; each sends the text it has not sent yet whenever the
//! generation moves, so a slow reader gets coalesced deltas instead of falling behind.

use std::{convert::Infallible, sync::Arc};

use axum::{
    http::{HeaderValue, header},
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use serde::Serialize;
use tokio::sync::mpsc;
use tokio_stream::{StreamExt as _, wrappers::ReceiverStream};

use crate::{
    events::LiveEvent,
    generation::{Generation, Started},
    state::AppState,
    store::messages::Status,
    store::messages::{self as stored, MessageDoc},
    views::{MessageView, StreamError, TextDelta},
};

/// Told instead of `done` when the answer could not be stored (MongoDB unreachable).
pub const NOT_SAVED: &str = "not_saved";
const NOT_SAVED_MESSAGE: &str = "the answer is shown here but could not be saved yet \
    (the database is unreachable); Confab keeps trying to save it";

fn named<T: Serialize>(name: &str, data: &T) -> Event {
    Event::default()
        .event(name)
        .json_data(data)
        .unwrap_or_else(|_| Event::default().event(name).data("{}"))
}

/// An answer's event as its stream tells it; `None` for events that are not about an answer.
fn sse(event: &LiveEvent) -> Option<Event> {
    let failed = |code: &str, message: &str, answer: &MessageView| {
        named(
            "error",
            &StreamError {
                code,
                message,
                assistant_message: answer,
            },
        )
    };
    // Text-bearing events carry the answer's length so far (UTF-16 units) as their SSE id: a
    // client reconnects with `Last-Event-ID` (or `?from=`) and continues from exactly there.
    let length = |text: &str| text.encode_utf16().count();
    Some(match event {
        LiveEvent::MessageCreated { data, .. } => named("user_message", data),
        LiveEvent::GenerationStarted { data, .. } => named("assistant_message", data),
        LiveEvent::GenerationLoading { data, .. } => named("loading", data),
        LiveEvent::GenerationDelta { data, .. } => {
            named("delta", data).id((data.offset + length(&data.content)).to_string())
        }
        LiveEvent::GenerationFinished { data, .. } => match (&data.status, &data.error) {
            (Status::Error, Some(error)) => failed(&error.code, &error.message, data),
            _ => named("done", data),
        }
        .id(length(&data.content).to_string()),
        LiveEvent::GenerationUnsaved { data, .. } => {
            failed(NOT_SAVED, NOT_SAVED_MESSAGE, data).id(length(&data.content).to_string())
        }
        _ => return None,
    })
}

/// Sends `events` in order; false once the reader is gone.
async fn send_all(
    tx: &mpsc::Sender<Result<Event, Infallible>>,
    events: impl IntoIterator<Item = LiveEvent>,
) -> bool {
    for event in events {
        if let Some(frame) = sse(&event)
            && tx.send(Ok(frame)).await.is_err()
        {
            return false;
        }
    }
    true
}

pub fn respond(state: &AppState, started: Started) -> Response {
    let (tx, rx) = mpsc::channel::<Result<Event, Infallible>>(64);
    match started {
        Started::Live(generation) => {
            // A continued answer's stream starts after the text it had (which its start tells).
            let from = generation.placeholder.content.encode_utf16().count();
            tokio::spawn(follow_from(generation, tx, from, true));
        }
        Started::Elsewhere {
            user_message,
            answer,
        } => {
            tokio::spawn(follow_elsewhere(state.clone(), user_message, answer, tx, 0));
        }
        Started::Finished {
            user_message,
            answer,
        } => {
            tokio::spawn(async move {
                send_all(&tx, ended(user_message.as_deref(), &answer, 0)).await;
            });
        }
    }
    sse_response(rx)
}

/// `GET …/messages/{id}/stream`: the answer from `from` (UTF-16 units) on, wherever it runs:
/// followed here, followed from another process, or ended.
///
/// `feed` is the user's feed, opened before `answer` was read: following another process's
/// answer starts from `answer` as read, without reading it again.
pub fn reattach(
    state: &AppState,
    answer: MessageDoc,
    from: usize,
    mut feed: crate::events::Subscription,
) -> Response {
    let (tx, rx) = mpsc::channel::<Result<Event, Infallible>>(64);
    if answer.status == Status::Streaming && state.generations.get(answer.id).is_none() {
        let state = state.clone();
        tokio::spawn(async move {
            followed_elsewhere(&state, &mut feed, None, &answer, &tx, from, Some(&answer)).await;
            state.events.unsubscribe(answer.user_id, feed.id);
        });
        return sse_response(rx);
    }
    state.events.unsubscribe(answer.user_id, feed.id);
    if let Some(generation) = state.generations.get(answer.id) {
        tokio::spawn(follow_from(generation, tx, from, false));
    } else {
        tokio::spawn(async move {
            send_all(&tx, ended(None, &answer, from)).await;
        });
    }
    sse_response(rx)
}

/// An ended answer as a stream tells it: its question (if asked), the answer's start, its text
/// after `from`, and its end.
fn ended(user_message: Option<&MessageDoc>, answer: &MessageDoc, from: usize) -> Vec<LiveEvent> {
    let mut placeholder = answer.clone();
    placeholder.content.clear();
    placeholder.status = Status::Streaming;
    let rest = after_units(&answer.content, from);
    user_message
        .map(|user| LiveEvent::message_created(MessageView::from(user)))
        .into_iter()
        .chain([LiveEvent::generation_started(MessageView::from(
            &placeholder,
        ))])
        .chain((!rest.is_empty()).then(|| {
            LiveEvent::generation_delta(
                answer.chat_id,
                answer.id,
                TextDelta {
                    content: rest.to_owned(),
                    offset: from,
                },
            )
        }))
        .chain([LiveEvent::generation_ended(MessageView::from(answer), true)])
        .collect()
}

fn sse_response(rx: mpsc::Receiver<Result<Event, Infallible>>) -> Response {
    // Counted open while the response body lives (until the stream ends or the client goes).
    let open = crate::metrics::Open::new(crate::metrics::OPEN_SSE_STREAMS);
    let events = ReceiverStream::new(rx).map(move |event| {
        let _counted = &open;
        event
    });
    let mut response = Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response();
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// Follows an answer generated here, from `from` UTF-16 units on (0 for a new stream, which
/// also tells the question when `with_question`).
async fn follow_from(
    generation: Arc<Generation>,
    tx: mpsc::Sender<Result<Event, Infallible>>,
    from: usize,
    with_question: bool,
) {
    let mut version = generation.subscribe();
    // The start tells the text up to `from` at most (a continued answer's earlier text); the
    // rest comes as deltas.
    let mut start = generation.placeholder.clone();
    let beyond = after_units(&start.content, from).len();
    start.content.truncate(start.content.len() - beyond);
    let opening: Vec<LiveEvent> = generation
        .user_message
        .iter()
        .filter(|_| with_question)
        .map(|user| LiveEvent::message_created(MessageView::from(user)))
        .chain([LiveEvent::generation_started(MessageView::from(&start))])
        .collect();
    if !send_all(&tx, opening).await {
        return;
    }
    let (chat_id, message_id) = (generation.chat_id, generation.message_id());
    // Bytes of the text sent so far (unknown until the text reaches `from`), and the same in
    // UTF-16 units (the offsets clients count).
    let (mut sent, mut offset) = (None::<usize>, from);
    let mut told_loading = false;
    let delta = |content: String, offset: &mut usize| {
        let length = content.encode_utf16().count();
        let event = LiveEvent::generation_delta(
            chat_id,
            message_id,
            TextDelta {
                content,
                offset: *offset,
            },
        );
        *offset += length;
        event
    };
    loop {
        version.borrow_and_update();
        if sent.is_none() {
            let (all, end) = generation.tail(0);
            if all.encode_utf16().count() >= from {
                sent = Some(end - after_units(&all, from).len());
            }
        }
        let mut events = Vec::new();
        if !told_loading && let Some(model) = generation.loading() {
            told_loading = true;
            events.push(LiveEvent::generation_loading(chat_id, message_id, &model));
        }
        if let Some(from_byte) = sent {
            let (text, end) = generation.tail(from_byte);
            sent = Some(end);
            if !text.is_empty() {
                events.push(delta(text, &mut offset));
            }
        }
        let ending = generation.ending();
        if let Some(ending) = &ending {
            // Text appended before the end was read above (the runner appends, then finishes).
            if let Some(from_byte) = sent {
                let (rest, _) = generation.tail(from_byte);
                if !rest.is_empty() {
                    events.push(delta(rest, &mut offset));
                }
            }
            events.push(LiveEvent::generation_ended(
                MessageView::from(&ending.message),
                ending.stored,
            ));
        }
        if !send_all(&tx, events).await || ending.is_some() {
            return;
        }
        tokio::select! {
            changed = version.changed() => {
                if changed.is_err() {
                    // The generation is gone without a final state: nothing more will come.
                    return;
                }
            }
            () = tx.closed() => return,
        }
    }
}

/// The text of `content` after `from` UTF-16 units (the unit of delta offsets).
fn after_units(content: &str, from: usize) -> &str {
    let mut units = 0;
    for (index, ch) in content.char_indices() {
        if units >= from {
            return &content[index..];
        }
        units += ch.len_utf16();
    }
    ""
}

/// Follows an answer that another process generates (a repeated submission that process took
/// first): its text so far from the database, then the deltas and the end that reach this
/// process through the event log and the owner's saves.
async fn follow_elsewhere(
    state: AppState,
    user_message: Option<Box<MessageDoc>>,
    answer: Box<MessageDoc>,
    tx: mpsc::Sender<Result<Event, Infallible>>,
    from: usize,
) {
    let mut feed = state.events.subscribe(answer.user_id);
    followed_elsewhere(&state, &mut feed, user_message, &answer, &tx, from, None).await;
    state.events.unsubscribe(answer.user_id, feed.id);
}

async fn followed_elsewhere(
    state: &AppState,
    feed: &mut crate::events::Subscription,
    user_message: Option<Box<MessageDoc>>,
    answer: &MessageDoc,
    tx: &mpsc::Sender<Result<Event, Infallible>>,
    from: usize,
    read_after_feed: Option<&MessageDoc>,
) {
    let (chat_id, message_id) = (answer.chat_id, answer.id);
    let mut placeholder = answer.clone();
    placeholder.content.clear();
    let opening = user_message
        .map(|user| LiveEvent::message_created(MessageView::from(user.as_ref())))
        .into_iter()
        .chain([LiveEvent::generation_started(MessageView::from(
            &placeholder,
        ))]);
    if !send_all(tx, opening).await {
        return;
    }
    // Text sent so far (or that the client has), in UTF-16 units; `catch_up` sends what
    // `content` (starting at `from`) has beyond it.
    let mut sent = from;
    let catch_up = |content: &str, from: usize, sent: &mut usize| {
        if from > *sent {
            return None;
        }
        let rest = after_units(content, *sent - from).to_owned();
        if rest.is_empty() {
            return None;
        }
        let offset = *sent;
        *sent += rest.encode_utf16().count();
        Some(LiveEvent::generation_delta(
            chat_id,
            message_id,
            TextDelta {
                offset,
                content: rest,
            },
        ))
    };
    // The answer as stored now (the feed, opened first, brings whatever happens after).
    let current = match read_after_feed {
        Some(current) => current.clone(),
        None => match stored::find_by_id(&state.store.messages, message_id).await {
            Ok(Some(current)) => current,
            Ok(None) => return end_deleted(tx, answer).await,
            Err(_) => answer.clone(),
        },
    };
    let finished = current.status != stored::Status::Streaming;
    let mut events: Vec<LiveEvent> = catch_up(&current.content, 0, &mut sent)
        .into_iter()
        .collect();
    if finished {
        events.push(LiveEvent::generation_ended(
            MessageView::from(&current),
            true,
        ));
    }
    if !send_all(tx, events).await || finished {
        return;
    }
    let hex = message_id.to_hex();
    let mut pending = std::collections::VecDeque::new();
    loop {
        if pending.is_empty() {
            let frames = tokio::select! {
                frames = feed.events.recv() => frames,
                () = tx.closed() => return,
            };
            let Some(frames) = frames else {
                // This process closed the feed (shutdown, or it fell behind): say so.
                let _ = send_all(
                    tx,
                    [LiveEvent::generation_ended(
                        MessageView::from(answer),
                        false,
                    )],
                )
                .await;
                return;
            };
            pending.extend(frames.iter().cloned());
            continue;
        }
        let Some(delivery) = pending.pop_front() else {
            continue;
        };
        let Ok(frame) = serde_json::from_str::<serde_json::Value>(&delivery.frame) else {
            continue;
        };
        let kind = frame["type"].as_str().unwrap_or_default();
        if kind == "chat.deleted" && frame["chat_id"] == chat_id.to_hex().as_str() {
            return end_deleted(tx, answer).await;
        }
        if frame["message_id"] != hex.as_str() {
            continue;
        }
        match kind {
            "generation.delta" => {
                let offset = frame["data"]["offset"].as_u64().unwrap_or(u64::MAX);
                let offset = usize::try_from(offset).unwrap_or(usize::MAX);
                let content = frame["data"]["content"].as_str().unwrap_or_default();
                if let Some(event) = catch_up(content, offset, &mut sent)
                    && !send_all(tx, [event]).await
                {
                    return;
                }
            }
            "generation.finished" | "generation.unsaved" => {
                let stored_now = kind == "generation.finished";
                let last = match stored::find_by_id(&state.store.messages, message_id).await {
                    Ok(Some(doc)) => doc,
                    Ok(None) => return end_deleted(tx, answer).await,
                    Err(_) => answer.clone(),
                };
                let mut events: Vec<LiveEvent> =
                    catch_up(&last.content, 0, &mut sent).into_iter().collect();
                events.push(LiveEvent::generation_ended(
                    MessageView::from(&last),
                    stored_now || last.status != stored::Status::Streaming,
                ));
                let _ = send_all(tx, events).await;
                return;
            }
            _ => {}
        }
    }
}

/// The chat of a followed answer was deleted: the stream ends with an error, not a cut.
async fn end_deleted(tx: &mpsc::Sender<Result<Event, Infallible>>, answer: &MessageDoc) {
    let mut view = MessageView::from(answer);
    view.status = Status::Stopped;
    let _ = tx
        .send(Ok(named(
            "error",
            &StreamError {
                code: "chat_deleted",
                message: "the chat was deleted",
                assistant_message: &view,
            },
        )))
        .await;
}
