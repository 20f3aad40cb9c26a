//! One conversation of ChatGPT's data export (`conversations.json`) as a chat.
//!
//! A conversation is `{id, title, create_time, update_time, current_node, mapping}` where
//! `mapping` is a tree of nodes `{id, parent, children, message}`; a message is `{author:
//! {role}, content: {content_type, parts}, create_time, metadata: {model_slug, …}}`. Every
//! branch is kept (an edited question or a regenerated answer is a sibling), `current_node`
//! becomes the branch on screen. What is kept:
//! - `user`, `assistant` and `system` messages of content type `text` or `multimodal_text`,
//!   with their text parts; other parts (images, files, audio) are left out and counted.
//!   System messages with text (custom instructions) stay as system messages.
//! - Left out and counted: `tool` messages (browsing, code results, plugins), messages of any
//!   other content type (code sent to a tool, browsing quotes, reasoning summaries…) and
//!   messages marked hidden that have text.
//! - Left out without counting: nodes without a message (the root) and messages without text
//!   (the empty system message each conversation begins with).
//!
//! A left-out node's children hang from its nearest kept ancestor. An answer the export splits
//! around tool calls (assistant → tool → assistant, with no branch between) becomes one answer.

use std::collections::HashMap;

use mongodb::bson::{DateTime, oid::ObjectId};
use serde_json::{Map, Value};

use super::{MAX_MESSAGES, MAX_TEXT_BYTES, Parsed, Problem, clean_title, from_seconds, message};
use crate::{
    domain::{Role, SamplingParams},
    store::{ChatDoc, MessageDoc},
};

/// The source id of a conversation (what makes a second import skip it).
pub fn key(id: &str) -> String {
    format!("chatgpt:{id}")
}

/// What one node contributes.
enum Kept {
    /// Nothing, and not worth counting (no message, no text).
    Empty,
    /// Left out, counted.
    Skipped,
    Message {
        role: Role,
        text: String,
        model: Option<String>,
        finish: Option<String>,
    },
}

fn text_of(content: &Map<String, Value>, parts_skipped: &mut u64) -> String {
    let mut texts = Vec::new();
    for part in content
        .get("parts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match part {
            Value::String(text) if !text.is_empty() => texts.push(text.as_str()),
            Value::String(_) | Value::Null => {}
            _ => *parts_skipped += 1,
        }
    }
    texts.join("\n\n")
}

fn kept(message: &Value, parts_skipped: &mut u64) -> Kept {
    let Some(message) = message.as_object() else {
        return Kept::Empty;
    };
    let role = message
        .get("author")
        .and_then(|a| a.get("role"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let content = message.get("content").and_then(Value::as_object);
    let content_type = content
        .and_then(|c| c.get("content_type"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let metadata = message.get("metadata").and_then(Value::as_object);
    let hidden = metadata
        .and_then(|m| m.get("is_visually_hidden_from_conversation"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let role = match role {
        "user" => Role::User,
        "assistant" => Role::Assistant,
        "system" => Role::System,
        _ => return Kept::Skipped,
    };
    let Some(content) = content.filter(|_| matches!(content_type, "text" | "multimodal_text"))
    else {
        return Kept::Skipped;
    };
    let mut parts = 0;
    let text = text_of(content, &mut parts);
    if text.trim().is_empty() {
        // A message with only an image, or the empty hidden system message: nothing to show.
        *parts_skipped += parts;
        return if parts > 0 {
            Kept::Skipped
        } else {
            Kept::Empty
        };
    }
    if hidden {
        return Kept::Skipped;
    }
    *parts_skipped += parts;
    let model = metadata
        .and_then(|m| m.get("model_slug"))
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
        .map(str::to_owned);
    let finish = metadata
        .and_then(|m| m.get("finish_details"))
        .and_then(|f| f.get("type"))
        .and_then(Value::as_str)
        .map(|reason| match reason {
            "max_tokens" => "length".to_owned(),
            other => other.to_owned(),
        });
    Kept::Message {
        role,
        text,
        model,
        finish,
    }
}

fn time(value: Option<&Value>) -> Option<DateTime> {
    value.and_then(Value::as_f64).and_then(from_seconds)
}

/// The conversation as a chat of `user_id`.
pub fn conversation(value: &Value, user_id: ObjectId) -> Result<Parsed, Problem> {
    let object = value
        .as_object()
        .ok_or_else(|| Problem::at("", "a conversation must be a JSON object"))?;
    let id = ["conversation_id", "id"]
        .iter()
        .find_map(|name| object.get(*name).and_then(Value::as_str))
        .filter(|id| !id.trim().is_empty() && id.len() <= 200)
        .ok_or_else(|| Problem::at("id", "missing: a conversation needs its id"))?;
    let mapping = object
        .get("mapping")
        .and_then(Value::as_object)
        .ok_or_else(|| Problem::at("mapping", "missing or not an object"))?;
    if mapping.len() > MAX_MESSAGES {
        return Err(Problem::at(
            "mapping",
            format!("has more than {MAX_MESSAGES} nodes"),
        ));
    }
    let now = DateTime::now();
    let created = time(object.get("create_time")).unwrap_or(now);
    let updated = time(object.get("update_time")).unwrap_or(created);

    // The tree, checked: every parent exists, no cycle.
    let mut nodes: Vec<(&str, Option<&str>)> = Vec::with_capacity(mapping.len());
    let mut bodies: Vec<&Value> = Vec::with_capacity(mapping.len());
    for (node_id, node) in mapping {
        let parent = match node.get("parent") {
            None | Some(Value::Null) => None,
            Some(Value::String(parent)) => Some(parent.as_str()),
            Some(_) => {
                return Err(Problem::at(
                    format!("mapping.{node_id}.parent"),
                    "must be a node id or null",
                ));
            }
        };
        if !node.is_object() {
            return Err(Problem::at(
                format!("mapping.{node_id}"),
                "a node must be an object",
            ));
        }
        nodes.push((node_id.as_str(), parent));
        bodies.push(node.get("message").unwrap_or(&Value::Null));
    }
    let order = super::tree::parents_first(&nodes).map_err(|(i, what)| {
        Problem::at(
            format!("mapping.{}.parent", nodes[i].0),
            format!("node {} {what}", nodes[i].0),
        )
    })?;

    let mut chat = ChatDoc::new(
        user_id,
        clean_title(object.get("title").and_then(Value::as_str)),
        SamplingParams::default(),
    );
    chat.created_at = created;
    chat.updated_at = updated;
    chat.archived = object
        .get("is_archived")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    chat.import_key = Some(key(id));

    let mut messages: Vec<MessageDoc> = Vec::new();
    // Each node's message in `messages` (its own, or its nearest kept ancestor's).
    let mut lands: Vec<Option<usize>> = vec![None; nodes.len()];
    let index: HashMap<&str, usize> = nodes.iter().enumerate().map(|(i, n)| (n.0, i)).collect();
    // How many kept messages hang directly from each message (merging needs "only child").
    let mut kept_children: Vec<usize> = Vec::new();
    // What each node holds, read once.
    let mut skipped_parts = 0;
    let mut holds: Vec<Kept> = bodies
        .iter()
        .map(|body| kept(body, &mut skipped_parts))
        .collect();
    // How many children of each node hold a message of their own (two or more: a branch).
    let mut message_children: HashMap<&str, usize> = HashMap::new();
    for (node, held) in nodes.iter().zip(&holds) {
        if let (Some(parent), Kept::Message { .. }) = (node.1, held) {
            *message_children.entry(parent).or_default() += 1;
        }
    }
    let mut skipped_messages = 0;
    for i in order {
        let parent = nodes[i]
            .1
            .and_then(|p| index.get(p))
            .and_then(|&p| lands[p]);
        let (role, text, model, finish) = match std::mem::replace(&mut holds[i], Kept::Empty) {
            Kept::Empty => {
                lands[i] = parent;
                continue;
            }
            Kept::Skipped => {
                skipped_messages += 1;
                lands[i] = parent;
                continue;
            }
            Kept::Message {
                role,
                text,
                model,
                finish,
            } => (role, text, model, finish),
        };
        if text.len() > MAX_TEXT_BYTES {
            return Err(Problem::at(
                format!("mapping.{}.message.content", nodes[i].0),
                format!("is longer than {MAX_TEXT_BYTES} bytes"),
            ));
        }
        // An answer continued after a tool call, with no branch in between: one answer.
        if let Some(p) = parent
            && role == Role::Assistant
            && messages[p].role == Role::Assistant
            && kept_children[p] == 0
            && nodes[i].1.and_then(|node| message_children.get(node)) == Some(&1)
        {
            let previous = &mut messages[p];
            previous.content.push_str("\n\n");
            previous.content.push_str(&text);
            if previous.model.is_none() {
                previous.model = model;
            }
            if finish.is_some() {
                previous.finish_reason = finish;
            }
            lands[i] = Some(p);
            continue;
        }
        let at = time(bodies[i].get("create_time"))
            .or_else(|| parent.map(|p| messages[p].created_at))
            .unwrap_or(created);
        let mut doc = message(&chat, parent.map(|p| messages[p].id), role, text, at);
        if role == Role::Assistant {
            doc.model = model;
            doc.finish_reason = finish;
        }
        if let Some(p) = parent {
            kept_children[p] += 1;
        }
        lands[i] = Some(messages.len());
        messages.push(doc);
        kept_children.push(0);
    }
    if messages.is_empty() {
        return Err(Problem::at("mapping", "has no message with text to import"));
    }
    let current = object
        .get("current_node")
        .and_then(Value::as_str)
        .and_then(|node| index.get(node))
        .and_then(|&i| lands[i])
        .unwrap_or_else(|| newest_leaf(&messages, &kept_children));
    chat.current_message_id = Some(messages[current].id);
    Ok(Parsed {
        chat,
        messages,
        votes: Vec::new(),
        skipped_messages,
        skipped_parts,
        folder: None,
    })
}

/// The leaf written last: the branch on screen when `current_node` says nothing usable.
fn newest_leaf(messages: &[MessageDoc], kept_children: &[usize]) -> usize {
    (0..messages.len())
        .filter(|&i| kept_children[i] == 0)
        .max_by_key(|&i| (messages[i].created_at, i))
        .unwrap_or(messages.len() - 1)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn node(id: &str, parent: Option<&str>, role: &str, text: &str, at: f64) -> (String, Value) {
        (
            id.to_owned(),
            json!({
                "id": id, "parent": parent, "children": [],
                "message": {
                    "id": id, "author": {"role": role}, "create_time": at,
                    "content": {"content_type": "text", "parts": [text]},
                    "metadata": {"model_slug": "gpt-4o"}
                }
            }),
        )
    }

    fn conversation_of(nodes: Vec<(String, Value)>, current: &str) -> Value {
        let mut mapping: Map<String, Value> = nodes.into_iter().collect();
        mapping.insert(
            "root".into(),
            json!({"id": "root", "parent": null, "children": [], "message": null}),
        );
        json!({"id": "c1", "title": "Trip", "create_time": 1.7e9, "update_time": 1.7e9 + 60.0,
               "current_node": current, "mapping": mapping})
    }

    fn texts_to_current(parsed: &Parsed) -> Vec<String> {
        let by_id: HashMap<ObjectId, &MessageDoc> =
            parsed.messages.iter().map(|m| (m.id, m)).collect();
        crate::store::messages::branch_to(&by_id, parsed.chat.current_message_id)
            .iter()
            .map(|m| m.content.clone())
            .collect()
    }

    #[test]
    fn branches_are_kept_and_the_current_node_is_on_screen() {
        let value = conversation_of(
            vec![
                node("s", Some("root"), "system", "", 1.7e9),
                node("u1", Some("s"), "user", "first", 1.7e9 + 1.0),
                node("a1", Some("u1"), "assistant", "one", 1.7e9 + 2.0),
                node("u2", Some("s"), "user", "edited", 1.7e9 + 3.0),
                node("a2", Some("u2"), "assistant", "two", 1.7e9 + 4.0),
                node("a3", Some("u2"), "assistant", "two again", 1.7e9 + 5.0),
            ],
            "a2",
        );
        let parsed = conversation(&value, ObjectId::new()).expect("imports");
        assert_eq!(
            parsed.messages.len(),
            5,
            "the empty system message is dropped"
        );
        assert_eq!(parsed.skipped_messages, 0);
        assert_eq!(texts_to_current(&parsed), ["edited", "two"]);
        let roots = parsed.messages.iter().filter(|m| m.parent_id.is_none());
        assert_eq!(roots.count(), 2, "both versions of the question");
        assert_eq!(parsed.chat.import_key.as_deref(), Some("chatgpt:c1"));
        assert_eq!(parsed.chat.title.as_deref(), Some("Trip"));
        assert_eq!(parsed.chat.created_at.timestamp_millis(), 1_700_000_000_000);
        assert!(
            parsed
                .messages
                .iter()
                .all(|m| m.role != Role::Assistant || m.model.as_deref() == Some("gpt-4o"))
        );
    }

    #[test]
    fn tools_are_left_out_and_a_split_answer_is_joined() {
        let mut code = node("code", Some("a1"), "assistant", "print(1)", 3.0);
        code.1["message"]["content"] = json!({"content_type": "code", "text": "print(1)"});
        let mut picture = node("u1", Some("root"), "user", "look", 1.0);
        picture.1["message"]["content"] = json!({"content_type": "multimodal_text",
            "parts": [{"content_type": "image_asset_pointer", "asset_pointer": "file-x"}, "look"]});
        let value = conversation_of(
            vec![
                picture,
                node("a1", Some("u1"), "assistant", "Let me run it.", 2.0),
                code,
                node("t", Some("code"), "tool", "1", 4.0),
                node("a2", Some("t"), "assistant", "It prints 1.", 5.0),
            ],
            "a2",
        );
        let parsed = conversation(&value, ObjectId::new()).expect("imports");
        assert_eq!(
            texts_to_current(&parsed),
            ["look", "Let me run it.\n\nIt prints 1."]
        );
        assert_eq!(parsed.skipped_messages, 2, "the code and the tool result");
        assert_eq!(parsed.skipped_parts, 1, "the image");
    }

    #[test]
    fn broken_conversations_say_where() {
        let problem = |value: Value| conversation(&value, ObjectId::new()).expect_err("refused");
        assert_eq!(
            problem(json!([])).message,
            "a conversation must be a JSON object"
        );
        assert_eq!(problem(json!({"mapping": {}})).path, "id");
        assert_eq!(problem(json!({"id": "x"})).path, "mapping");
        let orphan = conversation_of(vec![node("u", Some("nowhere"), "user", "hi", 1.0)], "u");
        assert_eq!(problem(orphan).path, "mapping.u.parent");
        let cycle = conversation_of(
            vec![
                node("a", Some("b"), "user", "hi", 1.0),
                node("b", Some("a"), "user", "hi", 1.0),
            ],
            "a",
        );
        assert!(problem(cycle).message.contains("cycle"));
        let empty = conversation_of(vec![node("s", Some("root"), "system", "", 1.0)], "s");
        assert_eq!(problem(empty).message, "has no message with text to import");
    }

    #[test]
    fn a_missing_current_node_shows_the_newest_leaf_and_system_text_stays() {
        let value = conversation_of(
            vec![
                node("s", Some("root"), "system", "Be brief.", 1.0),
                node("u", Some("s"), "user", "hi", 2.0),
                node("a", Some("u"), "assistant", "old", 3.0),
                node("b", Some("u"), "assistant", "new", 4.0),
            ],
            "gone",
        );
        let parsed = conversation(&value, ObjectId::new()).expect("imports");
        assert_eq!(texts_to_current(&parsed), ["Be brief.", "hi", "new"]);
        assert_eq!(parsed.messages[0].role, Role::System);
    }
}
