//! Confab's own export (`confab.chat`, version 1: see `routes::export`) read back: the same
//! tree with every version, the branch on screen, parameters, stats, structured verdicts,
//! continuations and votes, under new ids. Pinned, archived and the folder (by its name in an
//! account export) are kept; the preset link is not (presets are the exporter's).

use std::collections::HashMap;

use chrono::{DateTime as ChronoTime, Utc};
use mongodb::bson::{DateTime, oid::ObjectId};
use serde::Deserialize;
use serde_json::Value;

use super::{MAX_MESSAGES, MAX_TEXT_BYTES, Parsed, Problem, clean_title};
use crate::{
    domain::{Role, SamplingParams, params::response_format::Structured},
    store::{
        ChatDoc, VoteDoc,
        messages::{Continuation, MessageError, Status, Usage},
        votes::Vote,
    },
};

/// The format's name, as `routes::export` writes it.
pub const FORMAT: &str = "confab.chat";
/// The newest version this server reads.
pub const VERSION: u32 = 1;

/// The source id of an exported chat.
pub fn key(chat_id: &str) -> String {
    format!("confab:{chat_id}")
}

#[derive(Deserialize)]
struct Export {
    format: String,
    version: u32,
    chat: Chat,
    messages: Vec<Message>,
}

#[derive(Deserialize)]
struct Chat {
    id: String,
    title: Option<String>,
    #[serde(default)]
    parameters: SamplingParams,
    current_message_id: Option<String>,
    created_at: ChronoTime<Utc>,
    updated_at: ChronoTime<Utc>,
    #[serde(default)]
    pinned: bool,
    #[serde(default)]
    archived: bool,
    folder_id: Option<String>,
}

#[derive(Deserialize)]
struct Message {
    id: String,
    parent_id: Option<String>,
    role: Role,
    content: String,
    status: Status,
    created_at: ChronoTime<Utc>,
    parameters: Option<SamplingParams>,
    model: Option<String>,
    usage: Option<Usage>,
    ttft_ms: Option<i64>,
    duration_ms: Option<i64>,
    tokens_per_second: Option<f64>,
    finish_reason: Option<String>,
    error: Option<MessageError>,
    structured: Option<Structured>,
    #[serde(default)]
    continuations: Vec<ContinuationIn>,
    vote: Option<String>,
}

#[derive(Deserialize)]
struct ContinuationIn {
    parameters: SamplingParams,
    status: Status,
    finish_reason: Option<String>,
    error: Option<MessageError>,
    usage: Usage,
    ttft_ms: Option<i64>,
    duration_ms: i64,
    tokens_per_second: Option<f64>,
    started_at: ChronoTime<Utc>,
}

/// Whether a JSON value is a chat in this format (any version).
pub fn is_export(value: &Value) -> bool {
    value.get("format").and_then(Value::as_str) == Some(FORMAT)
}

/// What an answer that was still streaming when exported becomes: stopped, as it was left.
fn settled(status: Status) -> Status {
    match status {
        Status::Streaming => Status::Stopped,
        other => other,
    }
}

/// The exported chat as a chat of `user_id`.
pub fn conversation(value: Value, user_id: ObjectId) -> Result<Parsed, Problem> {
    if let Some(version) = value.get("version").and_then(Value::as_u64)
        && version > u64::from(VERSION)
    {
        return Err(Problem::at(
            "version",
            format!("version {version} is newer than this server reads ({VERSION})"),
        ));
    }
    let export: Export = serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        Problem::at(
            if path == "." { String::new() } else { path },
            err.into_inner().to_string(),
        )
    })?;
    if export.format != FORMAT || export.version == 0 {
        return Err(Problem::at(
            "format",
            format!("expected {FORMAT} version 1"),
        ));
    }
    if export.messages.len() > MAX_MESSAGES {
        return Err(Problem::at(
            "messages",
            format!("has more than {MAX_MESSAGES} messages"),
        ));
    }
    let nodes: Vec<(&str, Option<&str>)> = export
        .messages
        .iter()
        .map(|m| (m.id.as_str(), m.parent_id.as_deref()))
        .collect();
    let order = super::tree::parents_first(&nodes).map_err(|(i, what)| {
        Problem::at(
            format!("messages[{i}].parent_id"),
            format!("message {} {what}", nodes[i].0),
        )
    })?;
    if let Some(i) = export
        .messages
        .iter()
        .position(|m| m.content.len() > MAX_TEXT_BYTES)
    {
        return Err(Problem::at(
            format!("messages[{i}].content"),
            format!("is longer than {MAX_TEXT_BYTES} bytes"),
        ));
    }

    let source = &export.chat;
    let mut chat = ChatDoc::new(
        user_id,
        clean_title(source.title.as_deref()),
        source.parameters.clone(),
    );
    chat.created_at = DateTime::from_chrono(source.created_at);
    chat.updated_at = DateTime::from_chrono(source.updated_at);
    chat.pinned = source.pinned;
    chat.archived = source.archived;
    chat.import_key = Some(key(&source.id));

    let new_ids: HashMap<&str, ObjectId> = nodes.iter().map(|n| (n.0, ObjectId::new())).collect();
    let mut messages = Vec::with_capacity(order.len());
    let mut votes = Vec::new();
    for i in order {
        let source = &export.messages[i];
        let id = new_ids[source.id.as_str()];
        let at = DateTime::from_chrono(source.created_at);
        let mut message = super::message(
            &chat,
            source.parent_id.as_deref().map(|p| new_ids[p]),
            source.role,
            source.content.clone(),
            at,
        );
        message.id = id;
        message.status = settled(source.status);
        message.parameters = source.parameters.clone();
        message.model = source.model.clone();
        message.usage = source.usage.clone();
        message.ttft_ms = source.ttft_ms;
        message.duration_ms = source.duration_ms;
        message.tokens_per_second = source.tokens_per_second;
        message.finish_reason = source.finish_reason.clone();
        message.error = source.error.clone();
        message.structured = source.structured.clone();
        message.continuations = source
            .continuations
            .iter()
            .map(|c| Continuation {
                parameters: c.parameters.clone(),
                status: settled(c.status),
                finish_reason: c.finish_reason.clone(),
                error: c.error.clone(),
                usage: c.usage.clone(),
                ttft_ms: c.ttft_ms,
                duration_ms: c.duration_ms,
                tokens_per_second: c.tokens_per_second,
                started_at: DateTime::from_chrono(c.started_at),
            })
            .collect();
        let vote = match source.vote.as_deref() {
            Some("up") => Some(Vote::Up),
            Some("down") => Some(Vote::Down),
            None => None,
            Some(_) => {
                return Err(Problem::at(
                    format!("messages[{i}].vote"),
                    "must be \"up\", \"down\" or null",
                ));
            }
        };
        if let Some(vote) = vote {
            votes.push(VoteDoc {
                id: ObjectId::new(),
                user_id,
                chat_id: chat.id,
                message_id: id,
                vote,
                reason: None,
                created_at: at,
                updated_at: at,
            });
        }
        messages.push(message);
    }
    chat.current_message_id = match source.current_message_id.as_deref() {
        Some(current) => Some(*new_ids.get(current).ok_or_else(|| {
            Problem::at(
                "chat.current_message_id",
                "names a message that is not in the chat",
            )
        })?),
        None => None,
    };
    Ok(Parsed {
        chat,
        messages,
        votes,
        skipped_messages: 0,
        skipped_parts: 0,
        folder: export.chat.folder_id.clone(),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn export() -> Value {
        json!({
            "format": "confab.chat", "version": 1, "exported_at": "2026-11-29T10:00:00Z",
            "chat": {"id": "c1", "title": "Trip", "parameters": {"temperature": 0.5},
                     "current_message_id": "m3", "created_at": "2026-11-01T10:00:00Z",
                     "updated_at": "2026-11-02T10:00:00Z", "pinned": true, "archived": false,
                     "folder_id": "f1"},
            "messages": [
                {"id": "m1", "chat_id": "c1", "parent_id": null, "role": "user", "content": "hi",
                 "status": "complete", "created_at": "2026-11-01T10:00:00Z", "vote": null},
                {"id": "m2", "chat_id": "c1", "parent_id": "m1", "role": "assistant",
                 "content": "hello", "status": "complete", "created_at": "2026-11-01T10:00:01Z",
                 "parameters": {"model": "demo", "temperature": 0.5}, "model": "demo",
                 "usage": {"prompt_tokens": 3, "completion_tokens": 2, "estimated": false},
                 "ttft_ms": 20, "duration_ms": 80, "vote": "down"},
                {"id": "m3", "chat_id": "c1", "parent_id": "m1", "role": "assistant",
                 "content": "hel", "status": "streaming", "created_at": "2026-11-01T10:00:02Z",
                 "vote": "up"}
            ]
        })
    }

    #[test]
    fn an_export_comes_back_with_its_tree_stats_and_votes() {
        let user = ObjectId::new();
        let parsed = conversation(export(), user).expect("imports");
        assert_eq!(parsed.chat.import_key.as_deref(), Some("confab:c1"));
        assert!(parsed.chat.pinned);
        assert_eq!(parsed.folder.as_deref(), Some("f1"));
        assert_eq!(parsed.messages.len(), 3);
        let root = parsed.messages[0].id;
        assert!(
            parsed.messages[1..]
                .iter()
                .all(|m| m.parent_id == Some(root))
        );
        assert_eq!(parsed.chat.current_message_id, Some(parsed.messages[2].id));
        assert_eq!(parsed.messages[2].status, Status::Stopped);
        assert_eq!(parsed.messages[1].ttft_ms, Some(20));
        assert_eq!(parsed.messages[1].model.as_deref(), Some("demo"));
        let votes: Vec<_> = parsed.votes.iter().map(|v| v.vote).collect();
        assert_eq!(votes, [Vote::Down, Vote::Up]);
        assert!(parsed.messages.iter().all(|m| m.user_id == user));
    }

    #[test]
    fn broken_exports_say_where() {
        let problem = |value: Value| conversation(value, ObjectId::new()).expect_err("refused");
        let mut newer = export();
        newer["version"] = json!(2);
        assert_eq!(problem(newer).path, "version");
        let mut bad_parameter = export();
        bad_parameter["messages"][1]["parameters"]["warmth"] = json!(1);
        assert_eq!(problem(bad_parameter).path, "messages[1].parameters.warmth");
        let mut orphan = export();
        orphan["messages"][2]["parent_id"] = json!("m9");
        assert_eq!(problem(orphan).path, "messages[2].parent_id");
        let mut lost = export();
        lost["chat"]["current_message_id"] = json!("m9");
        assert_eq!(problem(lost).path, "chat.current_message_id");
        let mut vote = export();
        vote["messages"][0]["vote"] = json!("sideways");
        assert_eq!(problem(vote).path, "messages[0].vote");
    }
}
