//! Model discovery: an endpoint with `discover` serves the models its server lists (filtered by
//! globs), read at start-up and again every `DISCOVER_INTERVAL_SECS`; configured models keep
//! their labels and limits; an upstream that is down, slow or answers garbage stops nothing and
//! keeps the models found before; `/api/models` says where each model comes from and whether
//! its endpoint answers.

use std::time::Duration;

use integration_tests::{
    SignedIn, TestApp, fake_upstream::Behaviour, fake_upstream::FakeUpstream,
    fake_upstream::Options, json, paths, spawn_app_with,
};
use serde_json::json as body;

/// The ids of `/api/models`, with each one's source and reachability.
async fn listed(user: &SignedIn) -> Vec<(String, String, bool)> {
    user.models().await["models"]
        .as_array()
        .expect("models")
        .iter()
        .map(|m| {
            (
                m["id"].as_str().expect("id").to_owned(),
                m["source"].as_str().expect("source").to_owned(),
                m["reachable"].as_bool().expect("reachable"),
            )
        })
        .collect()
}

fn ids(models: &[(String, String, bool)]) -> Vec<&str> {
    models.iter().map(|(id, _, _)| id.as_str()).collect()
}

/// Waits (up to 10 s) until `/api/models` lists exactly `expected`.
async fn until_listed(user: &SignedIn, expected: &[&str]) -> Vec<(String, String, bool)> {
    let mut models = Vec::new();
    for _ in 0..100 {
        models = listed(user).await;
        if ids(&models) == expected {
            return models;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("expected {expected:?}, listed {models:?}");
}

async fn upstream_serving(models: &[&str]) -> FakeUpstream {
    FakeUpstream::start_with(Options {
        models: models.iter().map(|m| (*m).to_owned()).collect(),
        ..Options::default()
    })
    .await
    .expect("fake upstream")
}

#[tokio::test]
async fn discovered_models_are_served_filtered_and_followed_while_configured_ones_keep_their_limits()
 {
    let upstream = upstream_serving(&["confab-demo", "llama-a", "llama-b", "embed-x"]).await;
    let base_url = upstream.base_url();
    let app = spawn_app_with(&[
        ("OPENAI_API_BASE_URL", base_url.as_str()),
        ("UPSTREAM_KIND", "vllm"),
        ("AVAILABLE_MODELS", "confab-demo"),
        ("MODEL_MAX_TOKENS", "777"),
        ("DISCOVER_MODELS", "true"),
        ("DISCOVER_EXCLUDE", "embed-*"),
        ("DISCOVER_INTERVAL_SECS", "1"),
    ])
    .await;
    let ada = app.signed_in().await;
    // Read at start-up: there on the first request.
    let models = listed(&ada).await;
    assert_eq!(
        models,
        [
            ("confab-demo".to_owned(), "configured".to_owned(), true),
            ("llama-a".to_owned(), "discovered".to_owned(), true),
            ("llama-b".to_owned(), "discovered".to_owned(), true),
        ]
    );
    let view = ada.models().await;
    assert_eq!(view["models"][0]["max_tokens"], 777);
    assert_eq!(view["default_model"], "confab-demo");

    // The list is read again: a model that went is gone, a new one is served at once.
    upstream.set_models(vec![
        "confab-demo".into(),
        "llama-c".into(),
        "embed-y".into(),
    ]);
    until_listed(&ada, &["confab-demo", "llama-c"]).await;
    let chat = ada.new_chat().await;
    let done = ada
        .send(
            &chat,
            body!({ "content": "hi", "parameters": { "model": "llama-c" } }),
        )
        .await
        .done()
        .await;
    assert_eq!(done["model"], "llama-c");
    assert_eq!(upstream.last_request().expect("sent")["model"], "llama-c");
    let gone = ada
        .try_send(
            &chat,
            body!({ "content": "hi", "parameters": { "model": "llama-a" } }),
        )
        .await;
    assert_eq!(gone.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);

    // Garbage or an error from the server keeps what was found before.
    upstream.set_behaviour(Behaviour {
        models_garbage: true,
        ..Behaviour::default()
    });
    upstream.set_models(vec!["confab-demo".into()]);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(ids(&listed(&ada).await), ["confab-demo", "llama-c"]);
    upstream.set_behaviour(Behaviour {
        models_fail_status: Some(503),
        ..Behaviour::default()
    });
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let kept = listed(&ada).await;
    assert_eq!(ids(&kept), ["confab-demo", "llama-c"]);
    assert!(
        kept.iter().all(|(_, _, reachable)| *reachable),
        "it answers: {kept:?}"
    );

    // The OpenAPI document names no model enum: discovered models come and go.
    let doc = json(app.get(paths::OPENAPI, None).await).await;
    let model = &doc["components"]["schemas"]["SamplingParams"]["properties"]["model"];
    assert!(model.get("enum").is_none(), "{model}");
}

#[tokio::test]
async fn an_upstream_down_at_start_up_stops_nothing_and_its_models_appear_once_it_answers() {
    // A port nobody listens on yet.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let models_file = std::env::temp_dir().join(format!(
        "confab-discover-{}.json",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::write(
        &models_file,
        body!({ "endpoints": [{
            "name": "later", "base_url": format!("http://127.0.0.1:{port}/v1"), "kind": "vllm",
            "discover": true, "include": ["qwen*", "mistral*"],
            "models": [{ "id": "qwen-big", "label": "Qwen (big)", "max_tokens": 999 }],
        }]})
        .to_string(),
    )
    .expect("write");
    let path = models_file.to_string_lossy().into_owned();
    let app: TestApp = spawn_app_with(&[
        ("MODELS_FILE", path.as_str()),
        ("DISCOVER_INTERVAL_SECS", "1"),
    ])
    .await;
    let ada = app.signed_in().await;
    let down = listed(&ada).await;
    assert_eq!(
        down,
        [("qwen-big".to_owned(), "configured".to_owned(), false)]
    );
    let chat = ada.new_chat().await;
    let failed = ada.send(&chat, "anyone there?").await.until_done().await;
    assert_eq!(failed.error()["code"], "upstream_unreachable");

    // It comes up: its models appear, the configured one keeps its label and limit.
    let upstream = FakeUpstream::start_with(Options {
        port,
        models: vec![
            "qwen-big".into(),
            "qwen-small".into(),
            "llama-x".into(),
            "mistral-7b".into(),
        ],
        ..Options::default()
    })
    .await
    .expect("fake upstream on the port");
    let up = until_listed(&ada, &["qwen-big", "mistral-7b", "qwen-small"]).await;
    assert!(up.iter().all(|(_, _, reachable)| *reachable), "{up:?}");
    let view = ada.models().await;
    assert_eq!(view["models"][0]["label"], "Qwen (big)");
    assert_eq!(view["models"][0]["max_tokens"], 999);
    assert_eq!(view["models"][1]["source"], "discovered");
    assert_eq!(view["models"][1]["label"], "mistral-7b");

    // Slower than the list's deadline: unreachable, models kept.
    upstream.set_behaviour(Behaviour {
        models_delay_ms: 8000,
        ..Behaviour::default()
    });
    let mut slow = Vec::new();
    for _ in 0..100 {
        slow = listed(&ada).await;
        if slow.iter().all(|(_, _, reachable)| !reachable) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(ids(&slow), ["qwen-big", "mistral-7b", "qwen-small"]);
    assert!(slow.iter().all(|(_, _, reachable)| !reachable), "{slow:?}");
    let _ = std::fs::remove_file(models_file);
}
