//! Sampling parameters a user may set on a conversation or a single message.
//!
//! `check` holds the context-free rules; what a given model accepts (and its `max_tokens`
//! limit) is decided by `llm::Catalog::resolve`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::FieldErrors;

/// Sampling parameters; every field optional: unset means "not sent upstream".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SamplingParams {
    /// Model id, one of `GET /api/models`; unset: the server's default model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "llama-3-8b", max_length = 200)]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0.0, maximum = 2.0)]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(exclusive_minimum = 0.0, maximum = 1.0)]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub top_k: Option<u32>,
    /// At most the model's limit (see `GET /api/models`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub max_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(exclusive_minimum = 0.0, maximum = 2.0)]
    pub repetition_penalty: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = -2.0, maximum = 2.0)]
    pub frequency_penalty: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = -2.0, maximum = 2.0)]
    pub presence_penalty: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// Up to 4 non-empty sequences of at most 256 characters each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_items = 4)]
    pub stop: Option<Vec<String>>,
    /// Sent as the first (system) message; an empty string means no system prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 16000)]
    pub system_prompt: Option<String>,
}

impl SamplingParams {
    pub const MAX_MODEL_ID_CHARS: usize = 200;
    pub const MAX_TEMPERATURE: f64 = 2.0;
    pub const MAX_REPETITION_PENALTY: f64 = 2.0;
    /// Frequency and presence penalties lie in `-MAX_PENALTY..=MAX_PENALTY`.
    pub const MAX_PENALTY: f64 = 2.0;
    pub const MAX_STOP_SEQUENCES: usize = 4;
    pub const MAX_STOP_CHARS: usize = 256;
    pub const MAX_SYSTEM_PROMPT_CHARS: usize = 16_000;

    /// Context-free range checks. Errors are keyed `"<prefix>.<field>"` (e.g.
    /// `"parameters.temperature"`; just the field when `prefix` is empty) → a human message.
    /// NaN and infinite numbers are rejected.
    pub fn check(&self, prefix: &str) -> Result<(), FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut report = |field: &str, problem: Option<String>| {
            if let Some(problem) = problem {
                errors.insert(field_key(prefix, field), problem);
            }
        };
        report("model", self.model.as_deref().and_then(model_problem));
        report(
            "temperature",
            number(self.temperature, |v| {
                (0.0..=Self::MAX_TEMPERATURE).contains(&v)
            })
            .then(|| "must be between 0 and 2".to_owned()),
        );
        report(
            "top_p",
            number(self.top_p, |v| v > 0.0 && v <= 1.0)
                .then(|| "must be greater than 0 and at most 1".to_owned()),
        );
        report(
            "top_k",
            (self.top_k == Some(0)).then(|| "must be at least 1".to_owned()),
        );
        report(
            "max_tokens",
            (self.max_tokens == Some(0)).then(|| "must be at least 1".to_owned()),
        );
        report(
            "repetition_penalty",
            number(self.repetition_penalty, |v| {
                v > 0.0 && v <= Self::MAX_REPETITION_PENALTY
            })
            .then(|| "must be greater than 0 and at most 2".to_owned()),
        );
        for (field, value) in [
            ("frequency_penalty", self.frequency_penalty),
            ("presence_penalty", self.presence_penalty),
        ] {
            report(
                field,
                number(value, |v| {
                    (-Self::MAX_PENALTY..=Self::MAX_PENALTY).contains(&v)
                })
                .then(|| "must be between -2 and 2".to_owned()),
            );
        }
        report("stop", self.stop.as_deref().and_then(stop_problem));
        report(
            "system_prompt",
            self.system_prompt
                .as_deref()
                .filter(|p| p.chars().count() > Self::MAX_SYSTEM_PROMPT_CHARS)
                .map(|_| "must be at most 16000 characters long".to_owned()),
        );
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Fields set in `self` win over `base`.
    pub fn overlay(&self, base: &SamplingParams) -> SamplingParams {
        fn pick<T: Clone>(top: &Option<T>, base: &Option<T>) -> Option<T> {
            top.as_ref().or(base.as_ref()).cloned()
        }
        SamplingParams {
            model: pick(&self.model, &base.model),
            temperature: pick(&self.temperature, &base.temperature),
            top_p: pick(&self.top_p, &base.top_p),
            top_k: pick(&self.top_k, &base.top_k),
            max_tokens: pick(&self.max_tokens, &base.max_tokens),
            repetition_penalty: pick(&self.repetition_penalty, &base.repetition_penalty),
            frequency_penalty: pick(&self.frequency_penalty, &base.frequency_penalty),
            presence_penalty: pick(&self.presence_penalty, &base.presence_penalty),
            seed: pick(&self.seed, &base.seed),
            stop: pick(&self.stop, &base.stop),
            system_prompt: pick(&self.system_prompt, &base.system_prompt),
        }
    }
}

/// `"<prefix>.<field>"`, or just `field` when the prefix is empty.
fn field_key(prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_owned()
    } else {
        format!("{prefix}.{field}")
    }
}

/// Whether a set value is out of range (NaN and infinities always are).
fn number(value: Option<f64>, in_range: impl Fn(f64) -> bool) -> bool {
    value.is_some_and(|v| !v.is_finite() || !in_range(v))
}

fn model_problem(model: &str) -> Option<String> {
    if model.trim().is_empty() {
        Some("must not be empty".to_owned())
    } else if model.chars().count() > SamplingParams::MAX_MODEL_ID_CHARS {
        Some("must be at most 200 characters long".to_owned())
    } else {
        None
    }
}

fn stop_problem(stop: &[String]) -> Option<String> {
    if stop.len() > SamplingParams::MAX_STOP_SEQUENCES {
        Some("must have at most 4 sequences".to_owned())
    } else if stop.iter().any(String::is_empty) {
        Some("sequences must not be empty".to_owned())
    } else if stop
        .iter()
        .any(|s| s.chars().count() > SamplingParams::MAX_STOP_CHARS)
    {
        Some("sequences must be at most 256 characters long".to_owned())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn params(value: Value) -> SamplingParams {
        serde_json::from_value(value).expect("valid JSON parameters")
    }

    /// Only the float fields, set to any `f64` (JSON cannot carry NaN or infinities).
    fn float(field: &str, v: f64) -> SamplingParams {
        let mut p = SamplingParams::default();
        match field {
            "temperature" => p.temperature = Some(v),
            "top_p" => p.top_p = Some(v),
            "repetition_penalty" => p.repetition_penalty = Some(v),
            "frequency_penalty" => p.frequency_penalty = Some(v),
            _ => p.presence_penalty = Some(v),
        }
        p
    }

    fn accepts(p: SamplingParams) {
        assert!(p.check("p").is_ok(), "{p:?}: {:?}", p.check("p"));
    }

    fn rejects(p: SamplingParams, field: &str) {
        let errors = p.check("parameters").expect_err("invalid");
        let key = format!("parameters.{field}");
        assert!(
            errors.contains_key(&key) && errors.len() == 1,
            "{p:?}: {errors:?}"
        );
    }

    #[test]
    fn float_ranges_hold_at_and_just_beyond_their_bounds() {
        let cases: [(&str, &[f64], &[f64]); 5] = [
            ("temperature", &[0.0, 1.0, 2.0], &[-0.001, 2.001]),
            ("top_p", &[0.001, 0.5, 1.0], &[0.0, -0.1, 1.001]),
            ("repetition_penalty", &[0.001, 1.0, 2.0], &[0.0, 2.001]),
            ("frequency_penalty", &[-2.0, 0.0, 2.0], &[-2.001, 2.001]),
            ("presence_penalty", &[-2.0, 0.0, 2.0], &[-2.001, 2.001]),
        ];
        for (field, ok, bad) in cases {
            ok.iter().for_each(|&v| accepts(float(field, v)));
            let non_finite = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY];
            bad.iter()
                .chain(&non_finite)
                .for_each(|&v| rejects(float(field, v), field));
        }
    }

    #[test]
    fn integers_start_at_one_and_unset_is_valid() {
        accepts(SamplingParams::default());
        accepts(params(
            json!({"top_k": 1, "max_tokens": 1, "seed": i64::MIN}),
        ));
        accepts(params(
            json!({"top_k": u32::MAX, "max_tokens": u32::MAX, "seed": i64::MAX}),
        ));
        rejects(params(json!({"top_k": 0})), "top_k");
        rejects(params(json!({"max_tokens": 0})), "max_tokens");
    }

    #[test]
    fn stop_sequences_are_few_non_empty_and_short() {
        accepts(params(json!({"stop": []})));
        let longest = ["x".repeat(256), "a".into(), "b".into(), "é".repeat(256)];
        accepts(params(json!({ "stop": longest })));
        rejects(params(json!({"stop": ["a", "b", "c", "d", "e"]})), "stop");
        rejects(params(json!({"stop": [""]})), "stop");
        rejects(params(json!({ "stop": ["x".repeat(257)] })), "stop");
    }

    #[test]
    fn system_prompt_and_model_lengths() {
        accepts(params(json!({"system_prompt": ""})));
        accepts(params(json!({ "system_prompt": "é".repeat(16_000) })));
        rejects(
            params(json!({ "system_prompt": "é".repeat(16_001) })),
            "system_prompt",
        );
        accepts(params(json!({ "model": "m".repeat(200) })));
        rejects(params(json!({ "model": "m".repeat(201) })), "model");
        rejects(params(json!({"model": "  "})), "model");
    }

    #[test]
    fn errors_are_keyed_by_prefix_and_name_the_range() {
        let p = params(json!({"temperature": 3.0, "top_k": 0}));
        let errors = p.check("parameters").expect_err("invalid");
        assert_eq!(errors["parameters.temperature"], "must be between 0 and 2");
        assert_eq!(errors["parameters.top_k"], "must be at least 1");
        let bare = p.check("").expect_err("invalid");
        assert!(bare.contains_key("temperature"), "{bare:?}");
    }

    #[test]
    fn unknown_fields_are_refused_and_unset_fields_not_serialized() {
        let parsed = serde_json::from_value::<SamplingParams>(json!({"temprature": 1}));
        assert!(parsed.is_err());
        let json = serde_json::to_string(&params(json!({"seed": 7}))).expect("serializes");
        assert_eq!(json, r#"{"seed":7}"#);
    }

    #[test]
    fn overlay_prefers_the_top_layer() {
        let base = params(json!({"model": "base", "temperature": 0.5, "stop": ["x"]}));
        let top = params(json!({"temperature": 1.5, "seed": 1}));
        let expected = json!({"model": "base", "temperature": 1.5, "stop": ["x"], "seed": 1});
        assert_eq!(top.overlay(&base), params(expected));
        assert_eq!(SamplingParams::default().overlay(&base), base);
    }
}
