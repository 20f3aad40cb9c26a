//! ChatGPT data exports the tests generate, shaped as ChatGPT writes them (`conversations.json`:
//! an array of conversations, each a `mapping` of nodes `{id, message, parent, children}`).
//!
//! [`conversation`] has everything an import must handle, in the shape of a real export:
//!
//! ```text
//! root (no message)
//! └─ sys: system, empty, hidden
//!    ├─ q1: "Question {n}"            (the first version of the question)
//!    │  ├─ a1: "Answer {n}"
//!    │  └─ a1b: "Answer {n}, again"   (regenerated)
//!    └─ q2: "Question {n}, edited"    (the edited question)
//!       └─ a2: "Let me compute."
//!          └─ code: assistant → python (content type `code`)
//!             └─ tool: tool result (`execution_output`)
//!                └─ a3: "It is 42."   (the same answer, after the tool)
//!                   └─ q3: [image] + "What is in this picture?"
//!                      └─ a4: "A cat."          ← current_node
//! ```
//!
//! Imported, that is 7 messages (a2 and a3 as one answer), 2 left out (code, tool), 1 image part
//! left out, two versions of the question as roots, and the branch on screen is
//! [`current_branch`].

use serde_json::{Map, Value, json};

/// The branch on screen after import, for conversation `n`.
pub fn current_branch(n: usize) -> Vec<String> {
    vec![
        format!("Question {n}, edited"),
        "Let me compute.\n\nIt is 42.".to_owned(),
        "What is in this picture?".to_owned(),
        "A cat.".to_owned(),
    ]
}

/// Messages kept, messages left out and parts left out, per [`conversation`].
pub const KEPT: u64 = 7;
pub const LEFT_OUT: u64 = 2;
pub const PARTS_LEFT_OUT: u64 = 1;

fn text(role: &str, parts: Value, at: f64) -> Value {
    json!({
        "author": {"role": role, "name": null, "metadata": {}},
        "create_time": at,
        "update_time": null,
        "content": {"content_type": "text", "parts": parts},
        "status": "finished_successfully",
        "end_turn": true,
        "weight": 1.0,
        "metadata": {"model_slug": "gpt-4o", "finish_details": {"type": "stop"}},
        "recipient": "all",
    })
}

/// Conversation `n` of an export (ids and texts carry `n`).
pub fn conversation(n: usize) -> Value {
    let t = 1_700_000_000.0 + (n as f64) * 1000.0;
    let id = |node: &str| format!("{node}-{n}");
    let mut nodes: Vec<(&str, Option<&str>, Value)> = Vec::new();
    nodes.push(("root", None, Value::Null));
    let mut system = text("system", json!([""]), t);
    system["metadata"] = json!({"is_visually_hidden_from_conversation": true});
    nodes.push(("sys", Some("root"), system));
    nodes.push((
        "q1",
        Some("sys"),
        text("user", json!([format!("Question {n}")]), t + 1.0),
    ));
    nodes.push((
        "a1",
        Some("q1"),
        text("assistant", json!([format!("Answer {n}")]), t + 2.0),
    ));
    nodes.push((
        "a1b",
        Some("q1"),
        text("assistant", json!([format!("Answer {n}, again")]), t + 3.0),
    ));
    nodes.push((
        "q2",
        Some("sys"),
        text("user", json!([format!("Question {n}, edited")]), t + 4.0),
    ));
    nodes.push((
        "a2",
        Some("q2"),
        text("assistant", json!(["Let me compute."]), t + 5.0),
    ));
    let mut code = text("assistant", json!([]), t + 6.0);
    code["content"] = json!({"content_type": "code", "language": "python", "text": "6 * 7"});
    code["recipient"] = json!("python");
    nodes.push(("code", Some("a2"), code));
    let mut tool = text("tool", json!([]), t + 7.0);
    tool["author"]["name"] = json!("python");
    tool["content"] = json!({"content_type": "execution_output", "text": "42"});
    nodes.push(("tool", Some("code"), tool));
    nodes.push((
        "a3",
        Some("tool"),
        text("assistant", json!(["It is 42."]), t + 8.0),
    ));
    let mut picture = text("user", json!([]), t + 9.0);
    picture["content"] = json!({
        "content_type": "multimodal_text",
        "parts": [
            {"content_type": "image_asset_pointer", "asset_pointer": "file-service://file-abc",
             "size_bytes": 1024, "width": 32, "height": 32},
            "What is in this picture?"
        ]
    });
    nodes.push(("q3", Some("a3"), picture));
    nodes.push((
        "a4",
        Some("q3"),
        text("assistant", json!(["A cat."]), t + 10.0),
    ));

    let mut mapping = Map::new();
    for (node, parent, message) in &nodes {
        let children: Vec<String> = nodes
            .iter()
            .filter(|(_, p, _)| *p == Some(*node))
            .map(|(child, _, _)| id(child))
            .collect();
        let mut message = message.clone();
        if message.is_object() {
            message["id"] = json!(id(node));
        }
        mapping.insert(
            id(node),
            json!({"id": id(node), "message": message, "parent": parent.map(id), "children": children}),
        );
    }
    json!({
        "title": format!("Conversation {n}"),
        "create_time": t,
        "update_time": t + 10.0,
        "mapping": mapping,
        "moderation_results": [],
        "current_node": id("a4"),
        "plugin_ids": null,
        "conversation_id": format!("conv-{n}"),
        "conversation_template_id": null,
        "gizmo_id": null,
        "is_archived": false,
        "safe_urls": [],
        "default_model_slug": "gpt-4o",
        "id": format!("conv-{n}"),
    })
}

/// A conversation whose tree is broken: a node's parent is not in the mapping.
pub fn broken(n: usize) -> Value {
    let mut value = conversation(n);
    value["mapping"][format!("a4-{n}")]["parent"] = json!("nowhere");
    value["title"] = json!(format!("Broken {n}"));
    value
}

/// `conversations.json` with conversations `0..count`.
pub fn export(count: usize) -> Value {
    Value::Array((0..count).map(conversation).collect())
}
