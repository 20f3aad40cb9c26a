//! What a signed-in user does to messages: send one, edit a question, regenerate or stop an
//! answer, vote on it. The three that generate return the streaming `Answer`.

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::{
    Answer, ChatId, Message, MessageId, SignedIn,
    client::expect_json,
    paths::{self, Action},
};

/// What can be sent as a message: text (`"hello"`), or a whole body (`json!({ "content": …,
/// "parameters": … })`), malformed ones included.
pub trait MessageBody {
    fn into_body(self) -> Value;
}

impl MessageBody for &str {
    fn into_body(self) -> Value {
        json!({ "content": self })
    }
}

impl MessageBody for String {
    fn into_body(self) -> Value {
        self.as_str().into_body()
    }
}

impl MessageBody for &String {
    fn into_body(self) -> Value {
        self.as_str().into_body()
    }
}

impl MessageBody for Value {
    fn into_body(self) -> Value {
        self
    }
}

impl MessageBody for &Value {
    fn into_body(self) -> Value {
        self.clone()
    }
}

impl SignedIn {
    /// Sends a message to the chat; its answer, streaming (asserting a 200 event stream).
    pub async fn send(&self, chat: impl AsRef<ChatId>, message: impl MessageBody) -> Answer {
        Answer::from_response(self.try_send(chat, message).await).await
    }

    pub async fn try_send(&self, chat: impl AsRef<ChatId>, message: impl MessageBody) -> Response {
        let path = paths::messages(chat.as_ref());
        self.raw(Method::POST, &path, Some(&message.into_body()))
            .await
    }

    /// Edits a question: a sibling with the new text, and its answer, streaming.
    pub async fn edit(
        &self,
        chat: impl AsRef<ChatId>,
        question: impl AsRef<MessageId>,
        message: impl MessageBody,
    ) -> Answer {
        Answer::from_response(self.try_edit(chat, question, message).await).await
    }

    pub async fn try_edit(
        &self,
        chat: impl AsRef<ChatId>,
        question: impl AsRef<MessageId>,
        message: impl MessageBody,
    ) -> Response {
        let path = paths::message(chat.as_ref(), question.as_ref(), Action::Edit);
        self.raw(Method::POST, &path, Some(&message.into_body()))
            .await
    }

    /// Another answer in place of `message`, with these parameters (`None`: the chat's).
    pub async fn regenerate(
        &self,
        chat: impl AsRef<ChatId>,
        message: impl AsRef<MessageId>,
        parameters: Option<Value>,
    ) -> Answer {
        Answer::from_response(self.try_regenerate(chat, message, parameters).await).await
    }

    pub async fn try_regenerate(
        &self,
        chat: impl AsRef<ChatId>,
        message: impl AsRef<MessageId>,
        parameters: Option<Value>,
    ) -> Response {
        let path = paths::message(chat.as_ref(), message.as_ref(), Action::Regenerate);
        let body = match parameters {
            Some(parameters) => json!({ "parameters": parameters }),
            None => json!({}),
        };
        self.raw(Method::POST, &path, Some(&body)).await
    }

    /// More of the answer `message`, in the same message, with these overrides of its own
    /// parameters (`None`: none).
    pub async fn continue_answer(
        &self,
        chat: impl AsRef<ChatId>,
        message: impl AsRef<MessageId>,
        parameters: Option<Value>,
    ) -> Answer {
        Answer::from_response(self.try_continue(chat, message, parameters).await).await
    }

    pub async fn try_continue(
        &self,
        chat: impl AsRef<ChatId>,
        message: impl AsRef<MessageId>,
        parameters: Option<Value>,
    ) -> Response {
        let path = paths::message(chat.as_ref(), message.as_ref(), Action::Continue);
        let body = match parameters {
            Some(parameters) => json!({ "parameters": parameters }),
            None => json!({}),
        };
        self.raw(Method::POST, &path, Some(&body)).await
    }

    /// Stops a streaming answer, asserting 200; the answer as saved.
    pub async fn stop(&self, chat: impl AsRef<ChatId>, answer: impl AsRef<MessageId>) -> Message {
        let response = self.try_stop(chat, answer).await;
        Message::from_json(expect_json(response, StatusCode::OK).await)
    }

    pub async fn try_stop(
        &self,
        chat: impl AsRef<ChatId>,
        answer: impl AsRef<MessageId>,
    ) -> Response {
        let path = paths::message(chat.as_ref(), answer.as_ref(), Action::Stop);
        self.raw(Method::POST, &path, None).await
    }

    /// `GET …/messages/{answer}/stream[?from=]` with an optional `Last-Event-ID`: the raw
    /// response (an answer's stream when 200).
    pub async fn try_reattach(
        &self,
        chat: impl AsRef<ChatId>,
        answer: impl AsRef<MessageId>,
        from: Option<&str>,
        last_event_id: Option<&str>,
    ) -> Response {
        let mut path = format!(
            "{}/{}/stream",
            paths::messages(chat.as_ref()),
            answer.as_ref()
        );
        if let Some(from) = from {
            path.push_str(&format!("?from={from}"));
        }
        self.get_with(&path, last_event_id.map(|id| ("last-event-id", id)))
            .await
    }

    /// Reattaches to an answer's stream (asserting a 200 event stream).
    pub async fn reattach(
        &self,
        chat: impl AsRef<ChatId>,
        answer: impl AsRef<MessageId>,
        from: Option<&str>,
        last_event_id: Option<&str>,
    ) -> Answer {
        Answer::from_response(self.try_reattach(chat, answer, from, last_event_id).await).await
    }

    /// Votes on an answer (`json!({ "vote": "up" })`, `null` to withdraw), asserting 200; the
    /// vote as recorded.
    pub async fn vote(
        &self,
        chat: impl AsRef<ChatId>,
        answer: impl AsRef<MessageId>,
        vote: Value,
    ) -> Value {
        expect_json(self.try_vote(chat, answer, &vote).await, StatusCode::OK).await
    }

    pub async fn try_vote(
        &self,
        chat: impl AsRef<ChatId>,
        answer: impl AsRef<MessageId>,
        vote: &Value,
    ) -> Response {
        let path = paths::message(chat.as_ref(), answer.as_ref(), Action::Vote);
        self.raw(Method::PUT, &path, Some(vote)).await
    }
}
