//! The `text/event-stream` of a generation: `user_message`, `assistant_message`, `delta`…,
//! then `done` or `error`. Any number of streams can follow one generation; each sends the
//! text it has not sent yet whenever the generation moves, so a slow reader gets coalesced
//! deltas instead of falling behind.

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
use tokio_stream::wrappers::ReceiverStream;
use utoipa::ToSchema;

use super::views::MessageView;
use crate::{
    generation::{Generation, Started},
    store::{MessageDoc, messages::Status},
};

/// `delta`: the next piece of the answer's text.
#[derive(Serialize, ToSchema)]
pub struct StreamDelta<'a> {
    content: &'a str,
}

/// `error`: the answer ended without `done`.
#[derive(Serialize, ToSchema)]
pub struct StreamError<'a> {
    /// `upstream_rate_limited`, `upstream_error`, `upstream_unreachable`, `upstream_timeout`,
    /// `upstream_interrupted`, `upstream_protocol`, or `not_saved` (the answer is complete on
    /// screen but could not be stored yet; the server keeps trying).
    code: &'a str,
    message: &'a str,
    /// The answer as saved (with its partial text), or as it will be saved (`not_saved`).
    assistant_message: &'a MessageView,
}

/// One server-sent event of an answer stream: `event` names it, `data` is JSON. The OpenAPI
/// document replaces this placeholder with one branch per event (see `routes::openapi`).
#[derive(ToSchema)]
#[allow(dead_code)] // only its schema is used
pub struct StreamEvent {
    /// `user_message`, `assistant_message`, `delta`, `done` or `error`.
    pub event: String,
    /// JSON: a `MessageView`, a `StreamDelta` or a `StreamError`.
    pub data: String,
}

fn event<T: Serialize>(name: &str, data: &T) -> Event {
    Event::default()
        .event(name)
        .json_data(data)
        .unwrap_or_else(|_| Event::default().event(name).data("{}"))
}

/// Told instead of `done` when the answer could not be stored (MongoDB unreachable).
pub const NOT_SAVED: &str = "not_saved";
const NOT_SAVED_MESSAGE: &str = "the answer is shown here but could not be saved yet \
    (the database is unreachable); Confab keeps trying to save it";

fn ending(message: &MessageDoc, stored: bool) -> Event {
    let view = MessageView::from(message);
    if !stored {
        return event(
            "error",
            &StreamError {
                code: NOT_SAVED,
                message: NOT_SAVED_MESSAGE,
                assistant_message: &view,
            },
        );
    }
    match (&message.status, &message.error) {
        (Status::Error, Some(error)) => event(
            "error",
            &StreamError {
                code: &error.code,
                message: &error.message,
                assistant_message: &view,
            },
        ),
        _ => event("done", &view),
    }
}

pub fn respond(started: Started) -> Response {
    let (tx, rx) = mpsc::channel::<Result<Event, Infallible>>(64);
    match started {
        Started::Live(generation) => {
            tokio::spawn(follow(generation, tx));
        }
        Started::Finished {
            user_message,
            answer,
        } => {
            tokio::spawn(async move {
                let answer = *answer;
                let mut placeholder = answer.clone();
                placeholder.content.clear();
                placeholder.status = Status::Streaming;
                let mut events = Vec::new();
                if let Some(user) = &user_message {
                    events.push(event("user_message", &MessageView::from(user.as_ref())));
                }
                events.push(event("assistant_message", &MessageView::from(&placeholder)));
                if !answer.content.is_empty() {
                    events.push(event(
                        "delta",
                        &StreamDelta {
                            content: &answer.content,
                        },
                    ));
                }
                events.push(ending(&answer, true));
                for e in events {
                    if tx.send(Ok(e)).await.is_err() {
                        break;
                    }
                }
            });
        }
    }
    let mut response = Sse::new(ReceiverStream::new(rx))
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

async fn follow(generation: Arc<Generation>, tx: mpsc::Sender<Result<Event, Infallible>>) {
    let mut version = generation.subscribe();
    let mut opening = Vec::new();
    if let Some(user) = &generation.user_message {
        opening.push(event("user_message", &MessageView::from(user)));
    }
    opening.push(event(
        "assistant_message",
        &MessageView::from(&generation.placeholder),
    ));
    for e in opening {
        if tx.send(Ok(e)).await.is_err() {
            return;
        }
    }
    let mut sent = 0;
    loop {
        version.borrow_and_update();
        let (new_text, end, _) = generation.tail(sent);
        if !new_text.is_empty() {
            let delta = StreamDelta { content: &new_text };
            if tx.send(Ok(event("delta", &delta))).await.is_err() {
                return;
            }
        }
        sent = end;
        if let Some(end) = generation.ending() {
            // Text appended before the end was read above (the runner appends, then finishes).
            let (rest, _, _) = generation.tail(sent);
            if !rest.is_empty()
                && tx
                    .send(Ok(event("delta", &StreamDelta { content: &rest })))
                    .await
                    .is_err()
            {
                return;
            }
            let _ = tx.send(Ok(ending(&end.message, end.stored))).await;
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
