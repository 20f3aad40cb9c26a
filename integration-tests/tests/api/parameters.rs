//! Sampling parameters: validated, merged (request over chat), sent under the names each
//! upstream kind understands, never sent when unset or unsupported, and saved on the answer.

use integration_tests::{
    Message, expect_field_error, json, paths, spawn_app_with_upstream, spawn_chat,
};
use reqwest::StatusCode;
use serde_json::{Map, Value, json as body};

fn every_parameter() -> Value {
    body!({
        "model": "confab-demo",
        "temperature": 0.7,
        "top_p": 0.9,
        "top_k": 40,
        "min_p": 0.05,
        "max_tokens": 64,
        "repetition_penalty": 1.1,
        "frequency_penalty": 0.5,
        "presence_penalty": -0.5,
        "seed": 1234,
        "stop": ["\n\n", "END"],
        "system_prompt": "You are terse."
    })
}

/// The sampling fields of a recorded upstream body (everything but model/messages/stream*).
fn sent_fields(request: &Value) -> Map<String, Value> {
    request
        .as_object()
        .expect("object")
        .iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "model" | "messages" | "stream" | "stream_options"
            )
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

async fn send_with_every_parameter(kind: &str) -> (Value, Message) {
    let (app, upstream) = spawn_app_with_upstream(kind, &[]).await;
    let ada = app.signed_in().await;
    let chat = ada.new_chat().await;
    let done = ada
        .send(
            &chat,
            body!({ "content": "hi", "parameters": every_parameter() }),
        )
        .await
        .done()
        .await;
    (upstream.last_request().expect("request"), done)
}

#[tokio::test]
async fn every_parameter_arrives_with_its_value_on_vllm() {
    let (request, done) = send_with_every_parameter("vllm").await;
    let expected = body!({
        "temperature": 0.7, "top_p": 0.9, "top_k": 40, "min_p": 0.05, "max_tokens": 64,
        "repetition_penalty": 1.1, "frequency_penalty": 0.5, "presence_penalty": -0.5,
        "seed": 1234, "stop": ["\n\n", "END"]
    });
    assert_eq!(Value::Object(sent_fields(&request)), expected);
    assert_eq!(request["model"], "confab-demo");
    assert_eq!(
        request["messages"][0],
        body!({ "role": "system", "content": "You are terse." })
    );
    assert_eq!(
        done["parameters"],
        every_parameter(),
        "the answer keeps the exact parameters used"
    );
}

#[tokio::test]
async fn llamacpp_receives_repeat_penalty_under_its_own_name() {
    let (request, _) = send_with_every_parameter("llamacpp").await;
    let fields = sent_fields(&request);
    assert_eq!(fields.get("repeat_penalty"), Some(&body!(1.1)));
    assert!(!fields.contains_key("repetition_penalty"));
    assert_eq!(fields.get("top_k"), Some(&body!(40)));
    assert_eq!(fields.get("min_p"), Some(&body!(0.05)));
    assert_eq!(fields.get("max_tokens"), Some(&body!(64)));
}

#[tokio::test]
async fn openai_never_receives_top_k_or_repetition_penalty() {
    let (request, done) = send_with_every_parameter("openai").await;
    let fields = sent_fields(&request);
    let mut names: Vec<&str> = fields.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "frequency_penalty",
            "max_completion_tokens",
            "presence_penalty",
            "seed",
            "stop",
            "temperature",
            "top_p"
        ]
    );
    assert!(
        done["parameters"].get("top_k").is_none(),
        "what was not sent is not recorded as used"
    );
}

#[tokio::test]
async fn ollama_and_tgi_get_their_own_names() {
    let (request, _) = send_with_every_parameter("ollama").await;
    let fields = sent_fields(&request);
    assert!(
        !fields.contains_key("top_k")
            && !fields.contains_key("min_p")
            && !fields.contains_key("repetition_penalty")
            && !fields.contains_key("repeat_penalty")
    );
    assert_eq!(fields.get("max_tokens"), Some(&body!(64)));

    let (request, _) = send_with_every_parameter("tgi").await;
    let fields = sent_fields(&request);
    assert_eq!(fields.get("repetition_penalty"), Some(&body!(1.1)));
    assert_eq!(fields.get("top_k"), Some(&body!(40)));
    assert!(!fields.contains_key("min_p"), "TGI has no min_p");
}

#[tokio::test]
async fn unset_parameters_are_not_sent_and_chat_defaults_are_overridden_per_request() {
    let (app, upstream) = spawn_app_with_upstream("vllm", &[]).await;
    let ada = app.signed_in().await;
    let chat = ada
        .create_chat(body!({ "parameters": { "temperature": 0.2, "top_k": 5 } }))
        .await;
    ada.send(&chat, "plain").await.until_done().await;
    assert_eq!(
        Value::Object(sent_fields(&upstream.last_request().expect("request"))),
        body!({ "temperature": 0.2, "top_k": 5 })
    );
    ada.send(
        &chat,
        body!({ "content": "hotter", "parameters": { "temperature": 1.5, "seed": 7 } }),
    )
    .await
    .until_done()
    .await;
    assert_eq!(
        Value::Object(sent_fields(&upstream.last_request().expect("request"))),
        body!({ "temperature": 1.5, "top_k": 5, "seed": 7 })
    );
}

#[tokio::test]
async fn max_tokens_stop_and_seed_shape_the_answer() {
    let (_, _upstream, ada, chat) = spawn_chat(&[]).await;
    let done = ada
        .send(
            &chat,
            body!({ "content": "hi", "parameters": { "max_tokens": 3 } }),
        )
        .await
        .done()
        .await;
    assert_eq!(done["finish_reason"], "length");
    assert_eq!(done["usage"]["completion_tokens"], 3);

    let same = |seed: u64| body!({ "content": "same", "parameters": { "seed": seed } });
    let a = ada.send(&chat, same(1)).await.until_done().await;
    let b = ada.send(&chat, same(2)).await.until_done().await;
    assert_ne!(a.text(), b.text());
}

#[tokio::test]
async fn each_bound_is_enforced_with_a_422_naming_the_parameter() {
    let (_, upstream, ada, chat) = spawn_chat(&[("MODEL_MAX_TOKENS", "1000")]).await;
    let cases = [
        ("temperature", body!(-0.1)),
        ("temperature", body!(2.01)),
        ("top_p", body!(0)),
        ("top_p", body!(1.01)),
        ("top_k", body!(0)),
        ("top_k", body!(-3)),
        ("min_p", body!(-0.1)),
        ("min_p", body!(1.01)),
        ("max_tokens", body!(0)),
        ("max_tokens", body!(1001)),
        ("repetition_penalty", body!(0)),
        ("repetition_penalty", body!(2.5)),
        ("frequency_penalty", body!(-2.1)),
        ("frequency_penalty", body!(2.1)),
        ("presence_penalty", body!(-2.1)),
        ("presence_penalty", body!(2.1)),
        ("seed", body!("abc")),
        ("stop", body!(["a", "b", "c", "d", "e"])),
        ("stop", body!([""])),
        ("model", body!("no-such-model")),
        ("system_prompt", body!(12)),
    ];
    for (name, value) in cases {
        let payload = body!({ "content": "hi", "parameters": { name: value.clone() } });
        let response = ada.try_send(&chat, &payload).await;
        let field = format!("parameters.{name}");
        expect_field_error(response, &field, &format!("{name} = {value}")).await;
    }
    // The limits themselves are accepted.
    let edges = body!({ "content": "hi", "parameters": {
        "temperature": 2, "top_p": 1, "top_k": 1, "min_p": 1, "max_tokens": 1000, "repetition_penalty": 2,
        "frequency_penalty": -2, "presence_penalty": 2, "stop": ["a", "b", "c", "d"]
    } });
    let events = ada.send(&chat, edges).await.until_done().await;
    assert!(events.find("done").is_some());
    assert_eq!(upstream.request_count(), 1);
}

#[tokio::test]
async fn chat_parameters_are_validated_against_the_models_too() {
    let (app, _upstream) = spawn_app_with_upstream("vllm", &[]).await;
    let ada = app.signed_in().await;
    let response = ada
        .try_create_chat(&body!({ "parameters": { "model": "gpt-17" } }))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(json(response).await["error"]["fields"]["parameters.model"].is_string());
}

#[tokio::test]
async fn models_lists_defaults_accepted_parameters_and_ranges() {
    let (app, _upstream) =
        spawn_app_with_upstream("openai", &[("DEFAULT_TEMPERATURE", "0.6")]).await;
    let ada = app.signed_in().await;
    let unauthenticated = app.get(paths::MODELS, None).await;
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
    let models = ada.models().await;
    assert_eq!(models["default_model"], "confab-demo");
    let model = &models["models"][0];
    assert_eq!(model["id"], "confab-demo");
    let params = &model["parameters"];
    assert_eq!(params["temperature"]["accepted"], true);
    assert_eq!(params["temperature"]["max"], 2.0);
    assert_eq!(params["temperature"]["default"], 0.6);
    assert_eq!(params["top_k"]["accepted"], false);
    assert!(params["top_k"]["reason"].is_string());
    assert_eq!(params["repetition_penalty"]["accepted"], false);
}

#[tokio::test]
async fn llamacpp_takes_only_the_seeds_it_reproduces_and_models_says_so() {
    let (app, upstream) = spawn_app_with_upstream("llamacpp", &[]).await;
    let ada = app.signed_in().await;
    let seed = &ada.models().await["models"][0]["parameters"]["seed"];
    assert_eq!(
        (seed["min"].clone(), seed["max"].clone()),
        (body!(0.0), body!(4_294_967_294.0))
    );
    let chat = ada.new_chat().await;
    // -1 is "random" to llama-server, and 2^32 + 7 would give the answer of 7.
    for refused in [
        body!(-1),
        body!(4_294_967_295_i64),
        body!(4_294_967_303_i64),
    ] {
        let payload = body!({ "content": "hi", "parameters": { "seed": refused.clone() } });
        let response = ada.try_send(&chat, &payload).await;
        expect_field_error(response, "parameters.seed", &format!("seed = {refused}")).await;
    }
    let response = ada
        .try_create_chat(&body!({ "parameters": { "seed": -1 } }))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(upstream.request_count(), 0, "nothing was sent");
    let done = ada
        .send(
            &chat,
            body!({ "content": "hi", "parameters": { "seed": 4_294_967_294_i64 } }),
        )
        .await
        .done()
        .await;
    assert_eq!(done["parameters"]["seed"], 4_294_967_294_i64);
    let request = upstream.last_request().expect("request");
    assert_eq!(request["seed"], 4_294_967_294_i64);

    // Where the upstream reads a 64-bit seed, -1 is a seed like any other.
    let (app, upstream) = spawn_app_with_upstream("vllm", &[]).await;
    let ada = app.signed_in().await;
    let seed = &ada.models().await["models"][0]["parameters"]["seed"];
    assert!(seed.get("min").is_none(), "{seed}");
    let chat = ada.new_chat().await;
    ada.send(
        &chat,
        body!({ "content": "hi", "parameters": { "seed": -1 } }),
    )
    .await
    .done()
    .await;
    assert_eq!(upstream.last_request().expect("request")["seed"], -1);
}

#[tokio::test]
async fn models_says_which_kinds_take_min_p() {
    for (kind, accepted) in [
        ("vllm", true),
        ("llamacpp", true),
        ("openai", false),
        ("tgi", false),
    ] {
        let (app, _upstream) = spawn_app_with_upstream(kind, &[]).await;
        let ada = app.signed_in().await;
        let min_p = &ada.models().await["models"][0]["parameters"]["min_p"];
        assert_eq!(min_p["accepted"], accepted, "{kind}: {min_p}");
        if accepted {
            assert_eq!(
                (min_p["min"].clone(), min_p["max"].clone()),
                (body!(0.0), body!(1.0))
            );
        } else {
            assert!(min_p["reason"].is_string(), "{kind}");
        }
    }
}
