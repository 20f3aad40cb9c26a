//! The payloads of an answer's events (`user_message`, `assistant_message` and `done` carry a
//! `MessageView`).

use serde::Serialize;
use utoipa::ToSchema;

use super::MessageView;

/// A piece of an answer's text (the socket's `generation.delta` and the stream's `delta`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TextDelta {
    pub content: String,
    /// The answer's length before this piece, in UTF-16 code units (as JavaScript counts):
    /// a reader that has the text up to here appends, one that has more skips what it has.
    pub offset: usize,
}

/// `loading` (the socket's `generation.loading`): the answer's model is not in its server's
/// memory; it is being loaded, which may take a while before the first token.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct LoadingModel {
    /// The model's id.
    pub model: String,
}

/// `error`: the answer ended without `done`.
#[derive(Serialize, ToSchema)]
pub struct StreamError<'a> {
    /// `upstream_rate_limited`, `upstream_error`, `upstream_unreachable`, `upstream_timeout`,
    /// `upstream_interrupted`, `upstream_protocol`, or `not_saved` (the answer is complete on
    /// screen but could not be stored yet; the server keeps trying).
    pub code: &'a str,
    pub message: &'a str,
    /// The answer as saved (with its partial text), or as it will be saved (`not_saved`).
    pub assistant_message: &'a MessageView,
}

/// One server-sent event of an answer stream: `event` names it, `data` is JSON. The OpenAPI
/// document replaces this placeholder with one branch per event (see `routes::openapi`).
#[derive(ToSchema)]
#[allow(dead_code)] // only its schema is used
pub struct StreamEvent {
    /// `user_message`, `assistant_message`, `loading`, `delta`, `done` or `error`.
    pub event: String,
    /// JSON: a `MessageView`, a `LoadingModel`, a `TextDelta` or a `StreamError`.
    pub data: String,
}
