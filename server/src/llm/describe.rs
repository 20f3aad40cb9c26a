//! `GET /api/models`: what clients may choose, each parameter's range and whether the
//! model's upstream accepts it.

use serde::Serialize;
use utoipa::ToSchema;

use super::{Catalog, ModelInfo, Param};
use crate::domain::SamplingParams;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ModelsView {
    /// The models are the built-in demo, not a real LLM.
    pub demo: bool,
    /// Used when a request names no model; absent when there are no models.
    pub default_model: Option<String>,
    pub models: Vec<ModelView>,
    pub limits: LimitsView,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ModelView {
    pub id: String,
    pub label: String,
    /// `openai`, `vllm`, `llamacpp`, `ollama`, `tgi` or `custom`.
    pub kind: String,
    /// The largest `max_tokens` a request may ask for.
    pub max_tokens: u32,
    pub parameters: ParametersView,
}

/// One entry per sampling parameter.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ParametersView {
    pub temperature: ParamView,
    pub top_p: ParamView,
    pub top_k: ParamView,
    pub max_tokens: ParamView,
    pub repetition_penalty: ParamView,
    pub frequency_penalty: ParamView,
    pub presence_penalty: ParamView,
    pub seed: ParamView,
    pub stop: ParamView,
    pub system_prompt: ParamView,
}

/// Whether a parameter is accepted and, if so, its bounds (absent: none).
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct ParamView {
    pub accepted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// `min` itself is not allowed (the value must be greater).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub min_exclusive: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// The value used when the request sets none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<f64>,
    /// For lists: the most items.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_items: Option<usize>,
    /// For text (or each item of a list): the most characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_length: Option<usize>,
    /// Why it is not accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LimitsView {
    /// The longest user message, in characters.
    pub max_message_length: usize,
    /// How many earlier messages are sent with a new one.
    pub max_conversation_history: usize,
}

impl Catalog {
    /// For `GET /api/models`.
    pub fn describe(&self) -> ModelsView {
        ModelsView {
            demo: self.is_demo(),
            default_model: self.default_model().map(str::to_owned),
            models: self
                .models()
                .iter()
                .map(|m| describe_model(m, self.default_temperature()))
                .collect(),
            limits: LimitsView {
                max_message_length: self.max_message_length(),
                max_conversation_history: self.max_history(),
            },
        }
    }
}

fn describe_model(model: &ModelInfo, default_temperature: Option<f64>) -> ModelView {
    let range = |min: f64, max: Option<f64>| ParamView {
        accepted: true,
        min: Some(min),
        max,
        ..ParamView::default()
    };
    let param = |param: Param, accepted: ParamView| {
        if model.kind.accepts(param) {
            accepted
        } else {
            ParamView {
                reason: Some(format!(
                    "not accepted by this model's upstream ({})",
                    model.kind.name()
                )),
                ..ParamView::default()
            }
        }
    };
    let penalty = range(
        -SamplingParams::MAX_PENALTY,
        Some(SamplingParams::MAX_PENALTY),
    );
    ModelView {
        id: model.id.clone(),
        label: model.label.clone(),
        kind: model.kind.name().to_owned(),
        max_tokens: model.max_tokens,
        parameters: ParametersView {
            temperature: param(
                Param::Temperature,
                ParamView {
                    default: default_temperature,
                    ..range(0.0, Some(SamplingParams::MAX_TEMPERATURE))
                },
            ),
            top_p: param(
                Param::TopP,
                ParamView {
                    min_exclusive: true,
                    ..range(0.0, Some(1.0))
                },
            ),
            top_k: param(Param::TopK, range(1.0, None)),
            max_tokens: param(
                Param::MaxTokens,
                range(1.0, Some(f64::from(model.max_tokens))),
            ),
            repetition_penalty: param(
                Param::RepetitionPenalty,
                ParamView {
                    min_exclusive: true,
                    ..range(0.0, Some(SamplingParams::MAX_REPETITION_PENALTY))
                },
            ),
            frequency_penalty: param(Param::FrequencyPenalty, penalty.clone()),
            presence_penalty: param(Param::PresencePenalty, penalty),
            seed: param(
                Param::Seed,
                ParamView {
                    accepted: true,
                    ..ParamView::default()
                },
            ),
            stop: param(
                Param::Stop,
                ParamView {
                    accepted: true,
                    max_items: Some(SamplingParams::MAX_STOP_SEQUENCES),
                    max_length: Some(SamplingParams::MAX_STOP_CHARS),
                    ..ParamView::default()
                },
            ),
            system_prompt: ParamView {
                accepted: true,
                max_length: Some(SamplingParams::MAX_SYSTEM_PROMPT_CHARS),
                ..ParamView::default()
            },
        },
    }
}
