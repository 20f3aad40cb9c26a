//! The rules of the parameter table, through `SamplingParams`.

use serde_json::{Value, json};

use super::*;

fn param(name: &str) -> Param {
    Param::from_name(name).expect("a parameter of the table")
}

fn params(value: Value) -> SamplingParams {
    serde_json::from_value(value).expect("valid JSON parameters")
}

/// A float parameter set to any `f64` (JSON cannot carry NaN or infinities).
fn float(field: &str, v: f64) -> SamplingParams {
    let mut p = SamplingParams::default();
    p.set(param(field), ParamValue::Float(v));
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
        (
            p.integer(param("top_k")),
            p.integer(Param::MAX_TOKENS),
            p.integer(param("seed"))
        ),
        (Some(40), Some(256), Some(-3))
    );
    for bad in [
        json!({"top_k": 1.5}),
        json!({"seed": 1e30}),
        json!({"top_k": "5"}),
        json!({"temperature": "hot"}),
        json!({"stop": "x"}),
        json!({"stop": [1]}),
        json!({"model": 3}),
    ] {
        assert!(
            serde_json::from_value::<SamplingParams>(bad.clone()).is_err(),
            "{bad}"
        );
    }
    // Whole numbers outside an integer's range parse, and fail the range check.
    rejects(params(json!({"max_tokens": -1})), "max_tokens");
    rejects(params(json!({"top_k": 4_294_967_296_u64})), "top_k");
    assert_eq!(params(json!({"seed": null})).get(param("seed")), None);
    // A whole number is a float where a float is asked for.
    assert_eq!(
        params(json!({"temperature": 1})).number(Param::TEMPERATURE),
        Some(1.0)
    );
}

#[test]
fn overlay_prefers_the_top_layer() {
    let base = params(json!({"model": "base", "temperature": 0.5, "stop": ["x"]}));
    let top = params(json!({"temperature": 1.5, "seed": 1}));
    let expected = json!({"model": "base", "temperature": 1.5, "stop": ["x"], "seed": 1});
    assert_eq!(top.overlay(&base), params(expected));
    assert_eq!(SamplingParams::default().overlay(&base), base);
}
