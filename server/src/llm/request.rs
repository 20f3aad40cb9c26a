//! The chat-completion request body, in the dialect of the model's upstream.

use serde_json::{Map, Value, json};

use super::{ModelInfo, UpstreamKind};
use crate::domain::{
    Param, ParamValue, SamplingParams, Turn,
    params::response_format::{self, Format},
};

/// Builds the JSON body: `{"model", "messages": turns, "stream": true,
/// "stream_options": {"include_usage": true}}` plus each set parameter the model's upstream
/// accepts, under its wire name. `turns` is the whole prompt (see `domain::prompt`).
pub fn build_body(model: &ModelInfo, params: &SamplingParams, turns: &[Turn]) -> Value {
    let mut body = Map::new();
    body.insert("model".to_owned(), Value::from(model.id.as_str()));
    body.insert("messages".to_owned(), json!(turns));
    body.insert("stream".to_owned(), Value::Bool(true));
    body.insert(
        "stream_options".to_owned(),
        json!({ "include_usage": true }),
    );
    for (param, value) in params.iter() {
        // An empty stop list means none.
        let empty = matches!(value, ParamValue::List(items) if items.is_empty());
        if let Some(wire_name) = model.kind.wire_name(param).filter(|_| !empty) {
            let value = match (param, &model.kind) {
                (Param::RESPONSE_FORMAT, UpstreamKind::Tgi) => tgi_grammar(&value.to_json()),
                _ => value.to_json(),
            };
            body.insert(wire_name.to_owned(), value);
        }
    }
    Value::Object(body)
}

/// Asks the upstream to continue the final assistant message of the prompt instead of
/// answering after it: vLLM wants `continue_final_message` (and no generation prompt);
/// llama-server does it by itself for a final assistant message.
pub fn prefill(kind: &UpstreamKind, body: &mut Value) {
    if *kind == UpstreamKind::Vllm
        && let Some(body) = body.as_object_mut()
    {
        body.insert("continue_final_message".to_owned(), Value::Bool(true));
        body.insert("add_generation_prompt".to_owned(), Value::Bool(false));
    }
}

/// TGI's `response_format`: `{"type": "json_object", "value": schema}` (any object for a
/// plain JSON object).
fn tgi_grammar(response_format: &Value) -> Value {
    let schema = match response_format::format(response_format) {
        Some(Format::JsonSchema { schema }) => schema.clone(),
        _ => json!({ "type": "object" }),
    };
    json!({ "type": "json_object", "value": schema })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{domain::Role, llm::NameMap};

    fn every_param() -> SamplingParams {
        SamplingParams::from_json(serde_json::json!({
            "model": "ignored-here",
            "temperature": 0.7,
            "top_p": 0.9,
            "top_k": 40,
            "max_tokens": 256,
            "repetition_penalty": 1.1,
            "frequency_penalty": 0.5,
            "presence_penalty": -0.5,
            "seed": 42,
            "stop": ["END"],
            "system_prompt": "Be brief.",
        }))
        .expect("valid parameters")
    }

    fn keys(kind: UpstreamKind, params: &SamplingParams) -> Vec<String> {
        let model = ModelInfo::for_tests("m", kind);
        let body = build_body(&model, params, &[Turn::new(Role::User, "hi")]);
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
                        .with(Param::from_name("top_k").expect("top_k"), "k")
                        .with(Param::MAX_TOKENS, "n_predict"),
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
        let empty_stop =
            SamplingParams::from_json(json!({ "stop": [] })).expect("valid parameters");
        assert_eq!(keys(UpstreamKind::Vllm, &empty_stop), sorted(&[]));
    }

    #[test]
    fn values_model_and_messages_are_exact() {
        let model = ModelInfo::for_tests("llama", UpstreamKind::LlamaCpp);
        let turns = [
            Turn::new(Role::System, "Be brief."),
            Turn::new(Role::User, "hi"),
            Turn::new(Role::Assistant, "hello"),
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
    }

    #[test]
    fn response_format_goes_in_the_shape_each_kind_reads() {
        let schema = json!({ "type": "object", "properties": { "a": { "type": "integer" } } });
        let asked = json!({ "type": "json_schema", "json_schema": { "name": "a", "schema": schema, "strict": true } });
        let params = SamplingParams::from_json(json!({ "response_format": asked.clone() }))
            .expect("valid parameters");
        let body = |kind| {
            let model = ModelInfo::for_tests("m", kind);
            build_body(&model, &params, &[Turn::new(Role::User, "hi")])["response_format"].clone()
        };
        // The nested OpenAI shape everywhere (llama.cpp included: it ignores the flat one)…
        for kind in [
            UpstreamKind::OpenAi,
            UpstreamKind::Vllm,
            UpstreamKind::LlamaCpp,
            UpstreamKind::Ollama,
        ] {
            assert_eq!(body(kind.clone()), asked, "{kind}");
        }
        assert_eq!(
            body(UpstreamKind::LlamaCpp)["json_schema"]["schema"],
            schema
        );
        // …but TGI's grammar.
        assert_eq!(
            body(UpstreamKind::Tgi),
            json!({ "type": "json_object", "value": schema })
        );
        let object =
            SamplingParams::from_json(json!({ "response_format": { "type": "json_object" } }))
                .expect("valid parameters");
        let model = ModelInfo::for_tests("m", UpstreamKind::Tgi);
        assert_eq!(
            build_body(&model, &object, &[])["response_format"],
            json!({ "type": "json_object", "value": { "type": "object" } })
        );
    }
}
