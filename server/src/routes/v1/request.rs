//! Reading an OpenAI chat-completion request: every field is known or refused (a field
//! silently dropped would make a caller believe it took effect). Sampling parameters are the
//! rows of Confab's parameter table under their names (`max_completion_tokens` is OpenAI's
//! newer name for `max_tokens`; a lone `stop` string is a list of one); their values are
//! checked by the catalog, as the chat routes do.

use serde_json::{Map, Value};

use super::OpenAiError;
use crate::domain::{Param, Role, SamplingParams, Turn};

/// A chat-completion request, read.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// The sampling parameters, with `model` when one was named.
    pub params: SamplingParams,
    pub turns: Vec<Turn>,
    pub stream: bool,
    /// `stream_options.include_usage`: a last chunk with the usage.
    pub include_usage: bool,
    /// `confab.save`: also keep the exchange as a chat.
    pub save: bool,
}

/// OpenAI fields Confab does not implement: refused by name, with why.
const UNSUPPORTED: [&str; 12] = [
    "tools",
    "tool_choice",
    "functions",
    "function_call",
    "parallel_tool_calls",
    "logprobs",
    "top_logprobs",
    "logit_bias",
    "audio",
    "modalities",
    "prediction",
    "web_search_options",
];

/// Fields read here rather than from the parameter table.
const OWN: [&str; 7] = [
    "messages",
    "stream",
    "stream_options",
    "n",
    "user",
    "confab",
    "max_completion_tokens",
];

fn bad(param: &str, message: impl Into<String>) -> OpenAiError {
    OpenAiError::invalid(Some(param), message)
}

fn boolean(value: &Value, param: &str) -> Result<bool, OpenAiError> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::Null => Ok(false),
        _ => Err(bad(param, format!("`{param}` must be true or false"))),
    }
}

/// Reads the body (already parsed as JSON).
pub fn read(body: Value) -> Result<Completion, OpenAiError> {
    let Value::Object(mut fields) = body else {
        return Err(OpenAiError::invalid(None, "the body must be a JSON object"));
    };
    // `null` means "not given", as in OpenAI's API.
    fields.retain(|_, value| !value.is_null());
    for name in fields.keys() {
        if UNSUPPORTED.contains(&name.as_str()) {
            return Err(bad(
                name,
                format!("`{name}` is not supported by this server"),
            ));
        }
        let sampling =
            Param::from_name(name).is_some_and(|p| p.goes_upstream() || p == Param::MODEL);
        if !sampling && !OWN.contains(&name.as_str()) {
            return Err(OpenAiError::invalid(
                Some(name),
                format!("Unrecognized request argument supplied: {name}"),
            )
            .with_code("unknown_parameter"));
        }
    }
    if let Some(n) = fields.remove("n")
        && n != 1
    {
        return Err(bad(
            "n",
            "only `n: 1` is supported (one choice per request)",
        ));
    }
    if let Some(user) = fields.remove("user")
        && !user.is_string()
    {
        return Err(bad("user", "`user` must be a string"));
    }
    let stream = fields
        .remove("stream")
        .map_or(Ok(false), |v| boolean(&v, "stream"))?;
    let include_usage = stream_options(fields.remove("stream_options"), stream)?;
    let save = confab_options(fields.remove("confab"))?;
    let turns = messages(fields.remove("messages"))?;
    if let Some(max) = fields.remove("max_completion_tokens") {
        match fields.get("max_tokens") {
            Some(other) if *other != max => {
                return Err(bad(
                    "max_completion_tokens",
                    "`max_completion_tokens` and `max_tokens` disagree; give one",
                ));
            }
            _ => {
                fields.insert("max_tokens".to_owned(), max);
            }
        }
    }
    if let Some(stop @ Value::String(_)) = fields.get("stop") {
        let one = Value::Array(vec![stop.clone()]);
        fields.insert("stop".to_owned(), one);
    }
    Ok(Completion {
        params: sampling(fields)?,
        turns,
        stream,
        include_usage,
        save,
    })
}

/// Each parameter on its own, so that an error names it.
fn sampling(fields: Map<String, Value>) -> Result<SamplingParams, OpenAiError> {
    let mut params = SamplingParams::default();
    for (name, value) in fields {
        let one = SamplingParams::from_json(Value::Object(Map::from_iter([(name.clone(), value)])))
            .map_err(|err| {
                bad(
                    &name,
                    format!("{name}: {}", strip_position(&err.to_string())),
                )
            })?;
        for (param, value) in one.iter() {
            params.set(param, value.clone());
        }
    }
    Ok(params)
}

/// serde's "… at line 1 column 20" says nothing useful about a value read on its own.
fn strip_position(message: &str) -> &str {
    message
        .rfind(" at line ")
        .map_or(message, |at| &message[..at])
}

fn stream_options(value: Option<Value>, stream: bool) -> Result<bool, OpenAiError> {
    let Some(value) = value else {
        return Ok(false);
    };
    let Value::Object(options) = value else {
        return Err(bad("stream_options", "`stream_options` must be an object"));
    };
    if !stream {
        return Err(bad(
            "stream_options",
            "`stream_options` is only allowed when `stream` is true",
        ));
    }
    let mut include_usage = false;
    for (key, value) in &options {
        match key.as_str() {
            "include_usage" => include_usage = boolean(value, "stream_options.include_usage")?,
            // Asks for usage on every chunk; Confab has it only at the end, so it is the same.
            "continuous_usage_stats" => {
                boolean(value, "stream_options.continuous_usage_stats")?;
            }
            other => {
                return Err(bad(
                    &format!("stream_options.{other}"),
                    format!("Unrecognized request argument supplied: stream_options.{other}"),
                ));
            }
        }
    }
    Ok(include_usage)
}

fn confab_options(value: Option<Value>) -> Result<bool, OpenAiError> {
    let Some(value) = value else {
        return Ok(false);
    };
    let Value::Object(options) = value else {
        return Err(bad(
            "confab",
            "`confab` must be an object such as {\"save\": true}",
        ));
    };
    let mut save = false;
    for (key, value) in &options {
        match key.as_str() {
            "save" => save = boolean(value, "confab.save")?,
            other => {
                return Err(bad(
                    &format!("confab.{other}"),
                    format!(
                        "Unrecognized request argument supplied: confab.{other} (expected `save`)"
                    ),
                ));
            }
        }
    }
    Ok(save)
}

fn messages(value: Option<Value>) -> Result<Vec<Turn>, OpenAiError> {
    let Some(Value::Array(items)) = value else {
        return Err(bad(
            "messages",
            "`messages` is required: an array of {role, content}",
        ));
    };
    if items.is_empty() {
        return Err(bad("messages", "`messages` must hold at least one message"));
    }
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| message(i, item))
        .collect()
}

fn message(i: usize, item: Value) -> Result<Turn, OpenAiError> {
    let at = |field: &str| format!("messages[{i}].{field}");
    let Value::Object(fields) = item else {
        return Err(bad(
            &format!("messages[{i}]"),
            "each message must be an object {role, content}",
        ));
    };
    let mut role = None;
    let mut content = None;
    for (key, value) in fields {
        match key.as_str() {
            "role" => role = Some(value),
            "content" => content = Some(value),
            // A participant's name: accepted, not sent on (not every upstream reads it).
            "name" => {}
            other => {
                return Err(bad(
                    &at(other),
                    format!("`{other}` is not supported on messages (tool calls are not)"),
                ));
            }
        }
    }
    let role = match role.as_ref().and_then(Value::as_str) {
        Some("system" | "developer") => Role::System,
        Some("user") => Role::User,
        Some("assistant") => Role::Assistant,
        Some(other) => {
            return Err(bad(
                &at("role"),
                format!("role `{other}` is not supported (system, developer, user or assistant)"),
            ));
        }
        None => return Err(bad(&at("role"), "every message needs a `role`")),
    };
    let text = match content {
        Some(Value::String(text)) => text,
        Some(Value::Array(parts)) => text_parts(&at("content"), parts)?,
        Some(Value::Null) | None => {
            return Err(bad(&at("content"), "every message needs a `content`"));
        }
        Some(_) => {
            return Err(bad(
                &at("content"),
                "`content` must be a string or an array of text parts",
            ));
        }
    };
    Ok(Turn::new(role, text))
}

/// `[{type: "text", text}, …]`, joined; other part types are refused.
fn text_parts(at: &str, parts: Vec<Value>) -> Result<String, OpenAiError> {
    let mut text = String::new();
    for (j, part) in parts.into_iter().enumerate() {
        let kind = part.get("type").and_then(Value::as_str);
        match (kind, part.get("text").and_then(Value::as_str)) {
            (Some("text"), Some(piece)) => text.push_str(piece),
            (Some("text"), None) => {
                return Err(bad(&format!("{at}[{j}].text"), "a text part needs `text`"));
            }
            (Some(other), _) => {
                return Err(bad(
                    &format!("{at}[{j}].type"),
                    format!("content parts of type `{other}` are not supported (only text)"),
                ));
            }
            (None, _) => return Err(bad(&format!("{at}[{j}].type"), "each part needs a `type`")),
        }
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::ParamValue;

    fn refused(body: Value) -> (Option<String>, String) {
        let error = read(body.clone()).expect_err(&body.to_string());
        (error.param.clone(), error.message.clone())
    }

    #[test]
    fn every_sampling_parameter_is_read_under_its_name() {
        let read = read(json!({
            "model": "m", "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": [{"type": "text", "text": "Hi "}, {"type": "text", "text": "there"}]},
                {"role": "assistant", "content": "Hello.", "name": "bot"},
                {"role": "developer", "content": "Rules."},
                {"role": "user", "content": "Again?"},
            ],
            "temperature": 0.3, "top_p": 0.9, "top_k": 20, "min_p": 0.05, "seed": 7,
            "max_completion_tokens": 50, "repetition_penalty": 1.1, "presence_penalty": 0.5,
            "frequency_penalty": -0.5, "stop": "\n\n", "stream": true,
            "stream_options": {"include_usage": true}, "n": 1, "user": "u-1",
            "logprobs": null, "confab": {"save": true},
            "response_format": {"type": "json_object"},
        }))
        .expect("valid");
        assert!(read.stream && read.include_usage && read.save);
        let p = &read.params;
        assert_eq!(p.model(), Some("m"));
        assert_eq!(p.get(Param::MAX_TOKENS), Some(&ParamValue::Integer(50)));
        assert_eq!(p.number(Param::TEMPERATURE), Some(0.3));
        assert_eq!(p.integer(Param::SEED), Some(7));
        assert_eq!(
            p.get(Param::from_name("stop").expect("stop")),
            Some(&ParamValue::List(vec!["\n\n".to_owned()]))
        );
        assert_eq!(p.iter().count(), 12, "{p:?}");
        let roles: Vec<Role> = read.turns.iter().map(|t| t.role).collect();
        assert_eq!(
            roles,
            [
                Role::System,
                Role::User,
                Role::Assistant,
                Role::System,
                Role::User
            ]
        );
        assert_eq!(read.turns[1].content, "Hi there");
    }

    #[test]
    fn unknown_and_unsupported_fields_are_refused_by_name() {
        let base = |extra: Value| {
            let mut body = json!({"model": "m", "messages": [{"role": "user", "content": "q"}]});
            if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
                body.extend(extra);
            }
            body
        };
        for (extra, param, says) in [
            (
                json!({"frobnicate": 1}),
                "frobnicate",
                "Unrecognized request argument",
            ),
            (json!({"tools": []}), "tools", "not supported"),
            (
                json!({"system_prompt": "x"}),
                "system_prompt",
                "Unrecognized",
            ),
            (json!({"n": 2}), "n", "n: 1"),
            (json!({"temperature": "hot"}), "temperature", "temperature:"),
            (
                json!({"stream_options": {"include_usage": true}}),
                "stream_options",
                "only allowed",
            ),
            (
                json!({"stream": true, "stream_options": {"x": 1}}),
                "stream_options.x",
                "Unrecognized",
            ),
            (
                json!({"confab": {"keep": true}}),
                "confab.keep",
                "expected `save`",
            ),
            (
                json!({"max_tokens": 5, "max_completion_tokens": 6}),
                "max_completion_tokens",
                "disagree",
            ),
            (json!({"stream": "yes"}), "stream", "true or false"),
        ] {
            let (got_param, message) = refused(base(extra.clone()));
            assert_eq!(got_param.as_deref(), Some(param), "{extra}: {message}");
            assert!(message.contains(says), "{extra}: {message}");
        }
    }

    #[test]
    fn messages_must_be_text_with_a_known_role() {
        for (messages, param) in [
            (json!(null), "messages"),
            (json!([]), "messages"),
            (json!("hi"), "messages"),
            (json!([1]), "messages[0]"),
            (
                json!([{"role": "tool", "content": "x"}]),
                "messages[0].role",
            ),
            (json!([{"content": "x"}]), "messages[0].role"),
            (json!([{"role": "user"}]), "messages[0].content"),
            (
                json!([{"role": "user", "content": 3}]),
                "messages[0].content",
            ),
            (
                json!([{"role": "user", "content": "x", "tool_calls": []}]),
                "messages[0].tool_calls",
            ),
            (
                json!([{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]),
                "messages[0].content[0].type",
            ),
        ] {
            let (got, message) = refused(json!({"model": "m", "messages": messages}));
            assert_eq!(got.as_deref(), Some(param), "{messages}: {message}");
        }
        let (param, _) = refused(json!([1, 2]));
        assert_eq!(param, None);
    }
}
