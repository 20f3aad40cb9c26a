//! Upstream flavours and the names they give (or refuse) each sampling parameter.
//!
//! Every server speaks the OpenAI chat-completions protocol, but not the same dialect: OpenAI
//! wants `max_completion_tokens`, llama.cpp spells `repeat_penalty`, and several servers
//! silently ignore parameters they do not know. A parameter without a wire name is never sent.

use std::{collections::BTreeMap, fmt, str::FromStr};

use crate::domain::params::{Dialect, Param, Shape};

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
    /// The request field carrying `param` (from the parameter table, or the custom map);
    /// `None`: not sent, because this upstream does not accept it or Confab itself uses it.
    pub fn wire_name(&self, param: Param) -> Option<&str> {
        match self.dialect() {
            Some(dialect) => param.wire_name(dialect),
            None => match self {
                UpstreamKind::Custom(map) if param.goes_upstream() => map.get(param),
                _ => None,
            },
        }
    }

    /// Whether a request may set `param` for this upstream (the model and the system prompt
    /// always: Confab itself uses them).
    pub fn accepts(&self, param: Param) -> bool {
        !param.goes_upstream() || self.wire_name(param).is_some()
    }

    /// The values this upstream reads for `param`: the table's range, or the narrower one
    /// its dialect really accepts.
    pub fn shape(&self, param: Param) -> Shape {
        self.dialect()
            .map_or(param.shape(), |dialect| param.shape_for(dialect))
    }

    /// Whether it can continue an answer (`Err`: why not): the servers that take a final
    /// assistant message as the start of their answer (assistant prefill).
    pub fn continues(&self) -> Result<(), &'static str> {
        match self {
            // `continue_final_message` (with `add_generation_prompt: false`).
            UpstreamKind::Vllm => Ok(()),
            // llama-server prefills a final assistant message (unless `--no-prefill-assistant`).
            UpstreamKind::LlamaCpp => Ok(()),
            UpstreamKind::OpenAi => {
                Err("OpenAI's chat API cannot continue an answer (no assistant prefill)")
            }
            UpstreamKind::Ollama => Err(
                "Ollama's OpenAI-compatible API cannot continue an answer (no assistant prefill)",
            ),
            UpstreamKind::Tgi => {
                Err("TGI's chat API cannot continue an answer (no assistant prefill)")
            }
            UpstreamKind::Custom(_) => Err("a custom upstream is not known to continue answers"),
        }
    }

    fn dialect(&self) -> Option<Dialect> {
        match self {
            UpstreamKind::OpenAi => Some(Dialect::OpenAi),
            UpstreamKind::Vllm => Some(Dialect::Vllm),
            UpstreamKind::LlamaCpp => Some(Dialect::LlamaCpp),
            UpstreamKind::Ollama => Some(Dialect::Ollama),
            UpstreamKind::Tgi => Some(Dialect::Tgi),
            UpstreamKind::Custom(_) => None,
        }
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
    fn a_custom_kind_sends_only_what_its_map_names() {
        let top_k = Param::from_name("top_k").expect("top_k");
        let kind = UpstreamKind::Custom(NameMap::default().with(top_k, "k"));
        assert_eq!(kind.wire_name(top_k), Some("k"));
        assert_eq!(kind.wire_name(Param::TEMPERATURE), None);
        assert!(!kind.accepts(Param::TEMPERATURE));
        assert!(kind.accepts(Param::SYSTEM_PROMPT) && kind.accepts(Param::MODEL));
        assert_eq!(kind.wire_name(Param::SYSTEM_PROMPT), None);
    }
}
