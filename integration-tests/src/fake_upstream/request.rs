//! The request fields that shape a reply, read from the raw JSON body as clients send it.

use serde_json::Value;

/// The text of a message's `content`: a string, or the text parts of a content-part array.
pub fn content_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|part| part.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

pub fn last_user_text(messages: &[Value]) -> String {
    messages
        .iter()
        .rev()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
        .or_else(|| messages.last())
        .map(|m| content_text(m.get("content")))
        .unwrap_or_default()
}

/// Whitespace-separated words over all message contents, at least 1.
pub fn prompt_tokens(messages: &[Value]) -> usize {
    let words: usize = messages
        .iter()
        .map(|m| content_text(m.get("content")).split_whitespace().count())
        .sum();
    words.max(1)
}

/// The request's `seed`, else a stable hash (FNV-1a) of its messages.
pub fn seed(body: &Value) -> u64 {
    match body.get("seed") {
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_i64().map(|v| v as u64))
            .or_else(|| n.as_f64().map(f64::to_bits))
            .unwrap_or_default(),
        _ => {
            let messages = body
                .get("messages")
                .map(Value::to_string)
                .unwrap_or_default();
            messages.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
                (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
            })
        }
    }
}

/// `max_completion_tokens`, else `max_tokens`.
pub fn max_tokens(body: &Value) -> Option<usize> {
    ["max_completion_tokens", "max_tokens"]
        .iter()
        .find_map(|key| body.get(*key).and_then(Value::as_u64))
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
}

/// `stop` as a string or an array of strings; empty strings are ignored.
pub fn stop_sequences(body: &Value) -> Vec<String> {
    let stops = match body.get("stop") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    stops.into_iter().filter(|s| !s.is_empty()).collect()
}
