//! An answer as it streams (`send`, `edit`, `regenerate`): read it to the end (`until_done`,
//! `done`) or bit by bit (`started`, `read_words`, `next`), and the events it was made of.

use std::ops::Deref;

use reqwest::{Response, StatusCode};
use serde_json::Value;

use crate::{
    Message, MessageId,
    sse::{SseEvent, SseReader, deltas, find},
};

/// The event stream of one answer.
pub struct Answer {
    reader: SseReader,
}

impl Answer {
    /// Reads a streaming route's response, asserting it is a 200 `text/event-stream`.
    pub async fn from_response(response: Response) -> Self {
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{}",
            response.text().await.unwrap_or_default()
        );
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .to_owned();
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        Self {
            reader: SseReader::new(response),
        }
    }

    /// The next event, or `None` when the stream has ended.
    pub async fn next(&mut self) -> Option<SseEvent> {
        self.reader.next().await
    }

    /// Reads until the answer's placeholder is announced; its id.
    pub async fn started(&mut self) -> MessageId {
        self.read_words(0).await.0
    }

    /// Reads until the answer has shown at least `words` words; its id and the text so far.
    pub async fn read_words(&mut self, words: usize) -> (MessageId, String) {
        let (id, shown) = self.reader.read_answer_until(words).await;
        (MessageId::from(id), shown)
    }

    /// Every event until the stream ends (with `done`, `error`, or nothing).
    pub async fn until_done(self) -> Events {
        Events(self.reader.collect().await)
    }

    /// The answer as the stream's `done` event gives it (panics if it ends otherwise).
    pub async fn done(self) -> Message {
        self.until_done().await.done()
    }
}

/// The events of an answer's stream, in order.
#[derive(Debug, Clone)]
pub struct Events(Vec<SseEvent>);

impl Events {
    /// The data of the first event with this name.
    pub fn find(&self, name: &str) -> Option<&Value> {
        find(&self.0, name)
    }

    /// The first event with this name, as a message (panics if there is none).
    fn message(&self, name: &str) -> Message {
        let data = self
            .find(name)
            .unwrap_or_else(|| panic!("no `{name}` event in {:?}", self.names()));
        Message::from_json(data.clone())
    }

    /// The user's message (`user_message`).
    pub fn question(&self) -> Message {
        self.message("user_message")
    }

    /// The answer as first announced (`assistant_message`, still streaming).
    pub fn placeholder(&self) -> Message {
        self.message("assistant_message")
    }

    /// The finished answer (`done`).
    pub fn done(&self) -> Message {
        self.message("done")
    }

    /// The `error` event's data (panics if there is none).
    pub fn error(&self) -> &Value {
        self.find("error")
            .unwrap_or_else(|| panic!("no `error` event in {:?}", self.names()))
    }

    /// The text of all `delta` events.
    pub fn text(&self) -> String {
        deltas(&self.0)
    }

    /// The event names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.0.iter().map(|e| e.event.as_str()).collect()
    }
}

impl Deref for Events {
    type Target = [SseEvent];
    fn deref(&self) -> &[SseEvent] {
        &self.0
    }
}
