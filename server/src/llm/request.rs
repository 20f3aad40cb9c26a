//! The chat-completion request body, in the dialect of the model's upstream.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{ModelInfo, Param};
use crate::domain::SamplingParams;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

/// One message of the conversation sent upstream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatTurn {
    pub role: Role,
    pub content: String,
}

impl ChatTurn {
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
        }
    }
}

/// Builds the JSON body: `{"model", "messages": [system?, …turns], "stream": true,
/// "stream_options": {"include_usage": true}}` plus each set parameter the model's upstream
/// accepts, under its wire name. A non-blank `system_prompt` becomes the first message.
pub fn build_body(model: &ModelInfo, params: &SamplingParams, turns: &[ChatTurn]) -> Value {
    let system = params
        .system_prompt
        .as_deref()
        .filter(|prompt| !prompt.trim().is_empty())
        .map(|prompt| ChatTurn::new(Role::System, prompt));
    let messages: Vec<&ChatTurn> = system.iter().chain(turns).collect();
    let mut body = Map::new();
    body.insert("model".to_owned(), Value::from(model.id.as_str()));
    body.insert("messages".to_owned(), json!(messages));
    body.insert("stream".to_owned(), Value::Bool(true));
    body.insert(
        "stream_options".to_owned(),
        json!({ "include_usage": true }),
    );
    for param in Param::ALL {
        if let (Some(wire_name), Some(value)) = (model.kind.wire_name(param), param.value(params)) {
            body.insert(wire_name.to_owned(), value);
        }
    }
    Value::Object(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::{NameMap, UpstreamKind};

    fn every_param() -> SamplingParams {
        SamplingParams {
            model: Some("ignored-here".into()),
            temperature: Some(0.7),
            top_p: Some(0.9),
            top_k: Some(40),
            max_tokens: Some(256),
            repetition_penalty: Some(1.1),
            frequency_penalty: Some(0.5),
            presence_penalty: Some(-0.5),
            seed: Some(42),
            stop: Some(vec!["END".into()]),
            system_prompt: Some("Be brief.".into()),
        }
    }

    fn keys(kind: UpstreamKind, params: &SamplingParams) -> Vec<String> {
        let model = ModelInfo::for_tests("m", kind);
        let body = build_body(&model, params, &[ChatTurn::new(Role::User, "hi")]);
        let mut keys: Vec<String> = body
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        keys.sort();
        keys
    }

    fn sorted(names: &[&str]) -> Vec<String> {
        let mut names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        names.extend(["messages", "model", "stream", "stream_options"].map(str::to_owned));
        names.sort();
        names
    }

    #[test]
    fn each_kind_uses_its_own_field_names() {
        let common = [
            "temperature",
            "top_p",
            "frequency_penalty",
            "presence_penalty",
            "seed",
            "stop",
        ];
        let with = |extra: &[&str]| sorted(&[&common[..], extra].concat());
        let cases = [
            (UpstreamKind::OpenAi, with(&["max_completion_tokens"])),
            (
                UpstreamKind::Vllm,
                with(&["max_tokens", "top_k", "repetition_penalty"]),
            ),
            (
                UpstreamKind::LlamaCpp,
                with(&["max_tokens", "top_k", "repeat_penalty"]),
            ),
            (UpstreamKind::Ollama, with(&["max_tokens"])),
            (
                UpstreamKind::Tgi,
                with(&["max_tokens", "top_k", "repetition_penalty"]),
            ),
            (
                UpstreamKind::Custom(
                    NameMap::default()
                        .with(Param::TopK, "k")
                        .with(Param::MaxTokens, "n_predict"),
                ),
                sorted(&["k", "n_predict"]),
            ),
        ];
        for (kind, expected) in cases {
            assert_eq!(keys(kind.clone(), &every_param()), expected, "{kind}");
        }
    }

    #[test]
    fn unset_parameters_are_absent() {
        for kind in [
            UpstreamKind::OpenAi,
            UpstreamKind::Vllm,
            UpstreamKind::LlamaCpp,
        ] {
            assert_eq!(keys(kind, &SamplingParams::default()), sorted(&[]));
        }
        let empty_stop = SamplingParams {
            stop: Some(vec![]),
            ..Default::default()
        };
        assert_eq!(keys(UpstreamKind::Vllm, &empty_stop), sorted(&[]));
    }

    #[test]
    fn values_model_and_messages_are_exact() {
        let model = ModelInfo::for_tests("llama", UpstreamKind::LlamaCpp);
        let turns = [
            ChatTurn::new(Role::User, "hi"),
            ChatTurn::new(Role::Assistant, "hello"),
        ];
        let body = build_body(&model, &every_param(), &turns);
        assert_eq!(body["model"], "llama");
        assert_eq!(body["stream"], true);
        assert_eq!(body["stream_options"], json!({ "include_usage": true }));
        assert_eq!(body["repeat_penalty"], 1.1);
        assert_eq!(body["max_tokens"], 256);
        assert_eq!(body["seed"], 42);
        assert_eq!(body["stop"], json!(["END"]));
        assert_eq!(
            body["messages"],
            json!([
                { "role": "system", "content": "Be brief." },
                { "role": "user", "content": "hi" },
                { "role": "assistant", "content": "hello" },
            ])
        );
        let blank = SamplingParams {
            system_prompt: Some("  ".into()),
            ..Default::default()
        };
        let body = build_body(&model, &blank, &turns);
        assert_eq!(body["messages"][0]["role"], "user");
    }
}
