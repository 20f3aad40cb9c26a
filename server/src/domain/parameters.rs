//! Sampling parameters a user may set on a conversation or a single message.
//!
//! `check` holds the context-free rules; what a given model accepts (and its `max_tokens`
//! limit) is decided by `llm::Catalog::resolve`.

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use utoipa::ToSchema;

use crate::error::FieldErrors;

/// Sampling parameters; every field optional: unset means "not sent upstream".
///
/// Deserialised from an object only (serde's derive would also take an array, by position).
/// The derive is kept, under `remote = "Self"`, as the inherent `SamplingParams::deserialize`
/// and `::serialize` that the trait impls below call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct SamplingParams {
    /// Model id, one of `GET /api/models` (the document lists this server's); unset: the
    /// server's default model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 200)]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0.0, maximum = 2.0)]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(exclusive_minimum = 0.0, maximum = 1.0)]
    pub top_p: Option<f64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "whole::option"
    )]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 4_294_967_295_i64)]
    pub top_k: Option<u32>,
    /// At most the model's limit (see `GET /api/models`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "whole::option"
    )]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 4_294_967_295_i64)]
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
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "whole::option"
    )]
    pub seed: Option<i64>,
    /// Up to 4 non-empty sequences of at most 256 characters each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = stop_schema)]
    pub stop: Option<Vec<String>>,
    /// Sent as the first (system) message; an empty string means no system prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 16000)]
    pub system_prompt: Option<String>,
}

impl<'de> Deserialize<'de> for SamplingParams {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectOnly;
        impl<'de> de::Visitor<'de> for ObjectOnly {
            type Value = SamplingParams;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of sampling parameters")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<SamplingParams, A::Error> {
                SamplingParams::deserialize(de::value::MapAccessDeserializer::new(map))
            }
        }
        deserializer.deserialize_map(ObjectOnly)
    }
}

impl Serialize for SamplingParams {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        SamplingParams::serialize(self, serializer)
    }
}

/// `stop`: at most 4 items, each 1–256 characters (or `null`, as unset).
fn stop_schema() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type};
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(SamplingParams::MAX_STOP_CHARS)),
        )
        .max_items(Some(SamplingParams::MAX_STOP_SEQUENCES))
        .build()
}

/// Integers that also accept a whole number written as a float (`2.0`): JSON Schema counts it
/// as an integer, and so do JavaScript clients.
mod whole {
    use serde::{Deserializer, de};

    pub fn option<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: TryFrom<i128>,
    {
        deserializer.deserialize_option(Whole::<T>(std::marker::PhantomData))
    }

    struct Whole<T>(std::marker::PhantomData<T>);

    impl<T: TryFrom<i128>> Whole<T> {
        fn fit<E: de::Error>(value: i128) -> Result<Option<T>, E> {
            T::try_from(value)
                .map(Some)
                .map_err(|_| E::custom(format!("{value} is out of range")))
        }
    }

    impl<'de, T: TryFrom<i128>> de::Visitor<'de> for Whole<T> {
        type Value = Option<T>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a whole number")
        }
        fn visit_none<E: de::Error>(self) -> Result<Option<T>, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Option<T>, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<T>, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Option<T>, E> {
            Self::fit(i128::from(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Option<T>, E> {
            Self::fit(i128::from(v))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Option<T>, E> {
            // Beyond 2^63 a float has no fraction to speak of, and no parameter goes that far.
            if v.is_finite() && v.fract() == 0.0 && v.abs() < 9.2e18 {
                Self::fit(v as i128)
            } else {
                Err(E::custom(format!("{v} is not a whole number")))
            }
        }
    }
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
    fn only_an_object_is_parameters_never_an_array() {
        for bad in [
            json!([null, 1.0]),
            json!(["confab-demo", 1.5]),
            json!("x"),
            json!(3),
        ] {
            let parsed = serde_json::from_value::<SamplingParams>(bad.clone());
            assert!(parsed.is_err(), "{bad} was taken as {parsed:?}");
        }
        // And from BSON, as stored.
        let stored = mongodb::bson::to_document(&params(json!({"top_k": 5, "stop": ["x"]})))
            .expect("serializes");
        let back: SamplingParams = mongodb::bson::from_document(stored).expect("reads back");
        assert_eq!(back, params(json!({"top_k": 5, "stop": ["x"]})));
    }

    #[test]
    fn whole_numbers_written_as_floats_are_integers() {
        let p = params(json!({"top_k": 40.0, "max_tokens": 256.0, "seed": -3.0}));
        assert_eq!(
            (p.top_k, p.max_tokens, p.seed),
            (Some(40), Some(256), Some(-3))
        );
        for bad in [
            json!({"top_k": 1.5}),
            json!({"max_tokens": -1}),
            json!({"top_k": 4_294_967_296_u64}),
            json!({"seed": 1e30}),
            json!({"top_k": "5"}),
        ] {
            assert!(
                serde_json::from_value::<SamplingParams>(bad.clone()).is_err(),
                "{bad}"
            );
        }
        assert_eq!(params(json!({"seed": null})).seed, None);
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
