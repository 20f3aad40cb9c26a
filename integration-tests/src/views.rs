//! What the API answers, as tests read it: a typed id, and the rest of the JSON as it came
//! (`chat["title"]`, `answer["usage"]`), since what those fields hold is what tests check.

use std::{fmt, ops::Deref};

use serde_json::Value;

use crate::{ChatId, MessageId};

/// A chat as the API shows it.
#[derive(Debug, Clone)]
pub struct Chat {
    pub id: ChatId,
    json: Value,
}

impl Chat {
    pub fn from_json(json: Value) -> Self {
        Self {
            id: ChatId::of(&json["id"]),
            json,
        }
    }
}

impl Deref for Chat {
    type Target = Value;
    fn deref(&self) -> &Value {
        &self.json
    }
}

impl fmt::Display for Chat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.json.fmt(f)
    }
}

impl AsRef<ChatId> for Chat {
    fn as_ref(&self) -> &ChatId {
        &self.id
    }
}

/// A message (a question or an answer) as the API shows it, in a list or an event.
#[derive(Debug, Clone)]
pub struct Message {
    pub id: MessageId,
    json: Value,
}

impl Message {
    pub fn from_json(json: Value) -> Self {
        Self {
            id: MessageId::of(&json["id"]),
            json,
        }
    }

    /// Its text (panics if it has none).
    pub fn content(&self) -> &str {
        self.json["content"].as_str().expect("content")
    }
}

impl Deref for Message {
    type Target = Value;
    fn deref(&self) -> &Value {
        &self.json
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.json.fmt(f)
    }
}

impl AsRef<MessageId> for Message {
    fn as_ref(&self) -> &MessageId {
        &self.id
    }
}

/// One page of `GET /api/chats`.
#[derive(Debug, Clone)]
pub struct ChatPage {
    pub chats: Vec<Chat>,
    /// Where the next page starts; `None` on the last page.
    pub next_cursor: Option<String>,
}

impl ChatPage {
    pub fn from_json(json: &Value) -> Self {
        Self {
            chats: json["chats"]
                .as_array()
                .expect("chats")
                .iter()
                .cloned()
                .map(Chat::from_json)
                .collect(),
            next_cursor: json["next_cursor"].as_str().map(str::to_owned),
        }
    }

    /// The ids of the chats on this page, in order.
    pub fn ids(&self) -> Vec<ChatId> {
        self.chats.iter().map(|c| c.id.clone()).collect()
    }
}
