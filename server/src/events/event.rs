//! One typed vocabulary of what happens to a user's data. Sockets receive each event as a
//! frame `{type, id, at, chat_id?, message_id?, data?}`; an answer's SSE stream is the same
//! events of one generation under its own names (`user_message`, `assistant_message`, `delta`,
//! `done`, `error`: see `routes::stream`). Both carry the same payload types.

use chrono::{DateTime, Utc};
use mongodb::bson::oid::ObjectId;
use serde::Serialize;
use utoipa::ToSchema;

use crate::views::{
    ChatView, FolderView, ImportView, LoadingModel, MessageView, TextDelta, VoteView,
};

/// Every event, tagged by `type`. `chat_id` and `message_id` say what it is about.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "type")]
pub enum LiveEvent {
    #[serde(rename = "chat.created")]
    ChatCreated { chat_id: String, data: ChatView },
    /// Title, parameters or the branch on screen changed.
    #[serde(rename = "chat.updated")]
    ChatUpdated { chat_id: String, data: ChatView },
    #[serde(rename = "chat.deleted")]
    ChatDeleted { chat_id: String },
    #[serde(rename = "message.created")]
    MessageCreated {
        chat_id: String,
        message_id: String,
        data: MessageView,
    },
    #[serde(rename = "message.voted")]
    MessageVoted {
        chat_id: String,
        message_id: String,
        data: VoteView,
    },
    /// An answer began (`data` is the answer, `streaming`, empty).
    #[serde(rename = "generation.started")]
    GenerationStarted {
        chat_id: String,
        message_id: String,
        data: MessageView,
    },
    /// The answer's model is being loaded into its server's memory first (before any text).
    #[serde(rename = "generation.loading")]
    GenerationLoading {
        chat_id: String,
        message_id: String,
        data: LoadingModel,
    },
    /// More of an answer's text (coalesced: at most one every 100 ms per answer).
    #[serde(rename = "generation.delta")]
    GenerationDelta {
        chat_id: String,
        message_id: String,
        data: TextDelta,
    },
    /// An answer ended and is stored (`data`: as stored: `complete`, `stopped` or `error`).
    #[serde(rename = "generation.finished")]
    GenerationFinished {
        chat_id: String,
        message_id: String,
        data: MessageView,
    },
    /// An answer ended but could not be stored yet (the database is unreachable); the server
    /// keeps retrying and sends `generation.finished` once it is stored.
    #[serde(rename = "generation.unsaved")]
    GenerationUnsaved {
        chat_id: String,
        message_id: String,
        data: MessageView,
    },
    #[serde(rename = "folder.created")]
    FolderCreated { folder_id: String, data: FolderView },
    /// Renamed or reordered.
    #[serde(rename = "folder.updated")]
    FolderUpdated { folder_id: String, data: FolderView },
    /// Deleted; its chats were taken out of it (each gets `chat.updated`).
    #[serde(rename = "folder.deleted")]
    FolderDeleted { folder_id: String },
    /// An import's progress: when it starts, every few seconds while it runs, and when it ends
    /// (the chats it made are then in the list: clients reload it).
    #[serde(rename = "import.updated")]
    ImportUpdated { import_id: String, data: ImportView },
    /// A session was signed out or revoked: its tokens stop working and its sockets close.
    #[serde(rename = "session.ended")]
    SessionEnded { session_id: String },
}

impl LiveEvent {
    pub fn chat_created(chat: ChatView) -> Self {
        Self::ChatCreated {
            chat_id: chat.id.clone(),
            data: chat,
        }
    }

    pub fn chat_updated(chat: ChatView) -> Self {
        Self::ChatUpdated {
            chat_id: chat.id.clone(),
            data: chat,
        }
    }

    pub fn chat_deleted(chat_id: ObjectId) -> Self {
        Self::ChatDeleted {
            chat_id: chat_id.to_hex(),
        }
    }

    pub fn message_created(message: MessageView) -> Self {
        Self::MessageCreated {
            chat_id: message.chat_id.clone(),
            message_id: message.id.clone(),
            data: message,
        }
    }

    pub fn message_voted(chat_id: ObjectId, vote: VoteView) -> Self {
        Self::MessageVoted {
            chat_id: chat_id.to_hex(),
            message_id: vote.message_id.clone(),
            data: vote,
        }
    }

    pub fn generation_started(answer: MessageView) -> Self {
        Self::GenerationStarted {
            chat_id: answer.chat_id.clone(),
            message_id: answer.id.clone(),
            data: answer,
        }
    }

    pub fn generation_loading(chat_id: ObjectId, message_id: ObjectId, model: &str) -> Self {
        Self::GenerationLoading {
            chat_id: chat_id.to_hex(),
            message_id: message_id.to_hex(),
            data: LoadingModel {
                model: model.to_owned(),
            },
        }
    }

    pub fn generation_delta(chat_id: ObjectId, message_id: ObjectId, delta: TextDelta) -> Self {
        Self::GenerationDelta {
            chat_id: chat_id.to_hex(),
            message_id: message_id.to_hex(),
            data: delta,
        }
    }

    /// The end of an answer: `finished` once stored, else `unsaved`.
    pub fn generation_ended(answer: MessageView, stored: bool) -> Self {
        let (chat_id, message_id) = (answer.chat_id.clone(), answer.id.clone());
        if stored {
            Self::GenerationFinished {
                chat_id,
                message_id,
                data: answer,
            }
        } else {
            Self::GenerationUnsaved {
                chat_id,
                message_id,
                data: answer,
            }
        }
    }

    /// `folder.created` or, for a change, `folder.updated`.
    pub fn folder(folder: FolderView, created: bool) -> Self {
        let folder_id = folder.id.clone();
        if created {
            Self::FolderCreated {
                folder_id,
                data: folder,
            }
        } else {
            Self::FolderUpdated {
                folder_id,
                data: folder,
            }
        }
    }

    pub fn folder_deleted(folder_id: ObjectId) -> Self {
        Self::FolderDeleted {
            folder_id: folder_id.to_hex(),
        }
    }

    pub fn import_updated(import: ImportView) -> Self {
        Self::ImportUpdated {
            import_id: import.id.clone(),
            data: import,
        }
    }

    pub fn session_ended(session_id: ObjectId) -> Self {
        Self::SessionEnded {
            session_id: session_id.to_hex(),
        }
    }

    /// The `type` tag.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::ChatCreated { .. } => "chat.created",
            Self::ChatUpdated { .. } => "chat.updated",
            Self::ChatDeleted { .. } => "chat.deleted",
            Self::MessageCreated { .. } => "message.created",
            Self::MessageVoted { .. } => "message.voted",
            Self::GenerationStarted { .. } => "generation.started",
            Self::GenerationLoading { .. } => "generation.loading",
            Self::GenerationDelta { .. } => "generation.delta",
            Self::GenerationFinished { .. } => "generation.finished",
            Self::GenerationUnsaved { .. } => "generation.unsaved",
            Self::FolderCreated { .. } => "folder.created",
            Self::FolderUpdated { .. } => "folder.updated",
            Self::FolderDeleted { .. } => "folder.deleted",
            Self::ImportUpdated { .. } => "import.updated",
            Self::SessionEnded { .. } => "session.ended",
        }
    }

    /// The chat, message and session the event is about.
    pub fn about(&self) -> (Option<ObjectId>, Option<ObjectId>, Option<ObjectId>) {
        let id = |hex: &str| ObjectId::parse_str(hex).ok();
        match self {
            Self::ChatCreated { chat_id, .. }
            | Self::ChatUpdated { chat_id, .. }
            | Self::ChatDeleted { chat_id } => (id(chat_id), None, None),
            Self::MessageCreated {
                chat_id,
                message_id,
                ..
            }
            | Self::MessageVoted {
                chat_id,
                message_id,
                ..
            }
            | Self::GenerationStarted {
                chat_id,
                message_id,
                ..
            }
            | Self::GenerationLoading {
                chat_id,
                message_id,
                ..
            }
            | Self::GenerationDelta {
                chat_id,
                message_id,
                ..
            }
            | Self::GenerationFinished {
                chat_id,
                message_id,
                ..
            }
            | Self::GenerationUnsaved {
                chat_id,
                message_id,
                ..
            } => (id(chat_id), id(message_id), None),
            Self::SessionEnded { session_id } => (None, None, id(session_id)),
            Self::FolderCreated { .. }
            | Self::FolderUpdated { .. }
            | Self::FolderDeleted { .. }
            | Self::ImportUpdated { .. } => (None, None, None),
        }
    }

    /// The socket frame: the event with a unique id and the time it was sent.
    pub fn frame(&self) -> serde_json::Result<String> {
        serde_json::to_string(&Frame {
            id: uuid::Uuid::new_v4().simple().to_string(),
            at: Utc::now(),
            event: self,
        })
    }
}

/// A logged frame with its `seq` (the frame is a JSON object: `seq` goes first).
pub fn with_seq(frame: &str, seq: i64) -> String {
    match frame.strip_prefix('{') {
        Some(rest) if rest.trim_start().starts_with('}') => format!("{{\"seq\":{seq}}}"),
        Some(rest) => format!("{{\"seq\":{seq},{rest}"),
        None => frame.to_owned(),
    }
}

/// What a socket receives.
#[derive(Serialize)]
struct Frame<'a> {
    /// Unique id of this event.
    id: String,
    at: DateTime<Utc>,
    #[serde(flatten)]
    event: &'a LiveEvent,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_keep_the_envelope_clients_read() {
        let event = LiveEvent::generation_delta(
            ObjectId::new(),
            ObjectId::new(),
            TextDelta {
                content: "hé".into(),
                offset: 3,
            },
        );
        let frame: serde_json::Value =
            serde_json::from_str(&event.frame().expect("serialises")).expect("JSON");
        assert_eq!(frame["type"], "generation.delta");
        assert_eq!(
            frame["data"],
            serde_json::json!({ "content": "hé", "offset": 3 })
        );
        for key in ["id", "at", "chat_id", "message_id"] {
            assert!(frame[key].is_string(), "{key}: {frame}");
        }
        let deleted: serde_json::Value = serde_json::from_str(
            &LiveEvent::chat_deleted(ObjectId::new())
                .frame()
                .expect("serialises"),
        )
        .expect("JSON");
        assert_eq!(deleted["type"], "chat.deleted");
        assert!(deleted.get("message_id").is_none() && deleted.get("data").is_none());
        let numbered: serde_json::Value =
            serde_json::from_str(&with_seq(&event.frame().expect("serialises"), 42)).expect("JSON");
        assert_eq!(numbered["seq"], 42);
        assert_eq!(numbered["type"], "generation.delta");
    }
}
