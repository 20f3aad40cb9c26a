//! Upstream flavours and the names they give (or refuse) each sampling parameter.
//!
//! Every server speaks the OpenAI chat-completions protocol, but not the same dialect: OpenAI
//! wants `max_completion_tokens`, llama.cpp spells `repeat_penalty`, and several servers
//! silently ignore parameters they do not know. A parameter without a wire name is never sent.

use std::{collections::BTreeMap, fmt, str::FromStr};

use serde_json::Value;

use crate::domain::SamplingParams;

/// A sampling parameter that travels as a request field (`system_prompt` becomes a message).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Param {
    Temperature,
    TopP,
    TopK,
    MaxTokens,
    RepetitionPenalty,
    FrequencyPenalty,
    PresencePenalty,
    Seed,
    Stop,
}

impl Param {
    pub const ALL: [Param; 9] = [
        Param::Temperature,
        Param::TopP,
        Param::TopK,
        Param::MaxTokens,
        Param::RepetitionPenalty,
        Param::FrequencyPenalty,
        Param::PresencePenalty,
        Param::Seed,
        Param::Stop,
    ];

    /// The field's name in [`SamplingParams`] (and in Confab's API).
    pub fn name(self) -> &'static str {
        match self {
            Param::Temperature => "temperature",
            Param::TopP => "top_p",
            Param::TopK => "top_k",
            Param::MaxTokens => "max_tokens",
            Param::RepetitionPenalty => "repetition_penalty",
            Param::FrequencyPenalty => "frequency_penalty",
            Param::PresencePenalty => "presence_penalty",
            Param::Seed => "seed",
            Param::Stop => "stop",
        }
    }

    pub fn from_name(name: &str) -> Option<Param> {
        Param::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The value set in `params` as JSON; `None` when unset (an empty stop list counts as unset).
    pub(crate) fn value(self, params: &SamplingParams) -> Option<Value> {
        match self {
            Param::Temperature => params.temperature.map(Value::from),
            Param::TopP => params.top_p.map(Value::from),
            Param::TopK => params.top_k.map(Value::from),
            Param::MaxTokens => params.max_tokens.map(Value::from),
            Param::RepetitionPenalty => params.repetition_penalty.map(Value::from),
            Param::FrequencyPenalty => params.frequency_penalty.map(Value::from),
            Param::PresencePenalty => params.presence_penalty.map(Value::from),
            Param::Seed => params.seed.map(Value::from),
            Param::Stop => params
                .stop
                .as_ref()
                .filter(|stop| !stop.is_empty())
                .map(|stop| Value::from(stop.clone())),
        }
    }

    /// Unsets this parameter in `params`.
    pub(crate) fn clear(self, params: &mut SamplingParams) {
        match self {
            Param::Temperature => params.temperature = None,
            Param::TopP => params.top_p = None,
            Param::TopK => params.top_k = None,
            Param::MaxTokens => params.max_tokens = None,
            Param::RepetitionPenalty => params.repetition_penalty = None,
            Param::FrequencyPenalty => params.frequency_penalty = None,
            Param::PresencePenalty => params.presence_penalty = None,
            Param::Seed => params.seed = None,
            Param::Stop => params.stop = None,
        }
    }
}

/// Explicit wire names for a custom upstream; a parameter missing from the map is not accepted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameMap(BTreeMap<Param, String>);

impl NameMap {
    /// Accept `param`, sent as `wire_name`.
    pub fn with(mut self, param: Param, wire_name: impl Into<String>) -> Self {
        self.0.insert(param, wire_name.into());
        self
    }

    pub fn get(&self, param: Param) -> Option<&str> {
        self.0.get(&param).map(String::as_str)
    }
}

/// Which server family an endpoint is; decides the wire name of each parameter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum UpstreamKind {
    #[default]
    OpenAi,
    Vllm,
    LlamaCpp,
    Ollama,
    Tgi,
    Custom(NameMap),
}

impl UpstreamKind {
    /// The request field carrying `param`; `None`: not accepted, so never sent.
    pub fn wire_name(&self, param: Param) -> Option<&str> {
        use Param::{MaxTokens, RepetitionPenalty, TopK};
        match (self, param) {
            (UpstreamKind::Custom(map), param) => map.get(param),
            (UpstreamKind::OpenAi, MaxTokens) => Some("max_completion_tokens"),
            // OpenAI refuses them; Ollama's OpenAI-compatible endpoint ignores them.
            (UpstreamKind::OpenAi | UpstreamKind::Ollama, TopK | RepetitionPenalty) => None,
            // llama.cpp silently ignores `repetition_penalty`.
            (UpstreamKind::LlamaCpp, RepetitionPenalty) => Some("repeat_penalty"),
            (_, param) => Some(param.name()),
        }
    }

    pub fn accepts(&self, param: Param) -> bool {
        self.wire_name(param).is_some()
    }

    /// `openai`, `vllm`, `llamacpp`, `ollama`, `tgi` or `custom`.
    pub fn name(&self) -> &'static str {
        match self {
            UpstreamKind::OpenAi => "openai",
            UpstreamKind::Vllm => "vllm",
            UpstreamKind::LlamaCpp => "llamacpp",
            UpstreamKind::Ollama => "ollama",
            UpstreamKind::Tgi => "tgi",
            UpstreamKind::Custom(_) => "custom",
        }
    }
}

impl fmt::Display for UpstreamKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for UpstreamKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "openai" => Ok(UpstreamKind::OpenAi),
            "vllm" => Ok(UpstreamKind::Vllm),
            "llamacpp" | "llama.cpp" | "llama-cpp" | "llama_cpp" => Ok(UpstreamKind::LlamaCpp),
            "ollama" => Ok(UpstreamKind::Ollama),
            "tgi" => Ok(UpstreamKind::Tgi),
            other => Err(format!(
                "expected one of `openai`, `vllm`, `llamacpp`, `ollama`, `tgi`, got `{other}`"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_from_their_names() {
        for kind in ["openai", "vllm", "llamacpp", "ollama", "tgi"] {
            let parsed: UpstreamKind = kind.parse().expect(kind);
            assert_eq!(parsed.name(), kind);
        }
        assert_eq!("llama.cpp".parse(), Ok(UpstreamKind::LlamaCpp));
        assert_eq!(" VLLM ".parse(), Ok(UpstreamKind::Vllm));
        let error = "gpt".parse::<UpstreamKind>().expect_err("unknown kind");
        assert!(error.contains("`gpt`"), "{error}");
    }

    #[test]
    fn params_round_trip_through_their_names() {
        for param in Param::ALL {
            assert_eq!(Param::from_name(param.name()), Some(param));
        }
        assert_eq!(Param::from_name("system_prompt"), None);
    }
}
