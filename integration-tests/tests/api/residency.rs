//! Local model residency on llama-server's router mode and Ollama (the fake upstream speaks
//! both): admins see each model's state and memory and load and unload it; an answer whose
//! model is not in memory says `loading` first and gets `UPSTREAM_LOAD_TIMEOUT_MS` to its first
//! token.

use std::time::Duration;

use integration_tests::{
    SignedIn, TestApp,
    fake_upstream::{Behaviour, FakeUpstream, Options, ollama_sizes},
    json, spawn_app_with,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json as body};

/// An app with three models on one fake upstream: `router-model` (llama-server, router mode),
/// `ollama-model` (Ollama) and `plain` (vLLM, not manageable).
async fn spawn_local(extra: &[(&str, &str)]) -> (TestApp, FakeUpstream, std::path::PathBuf) {
    let upstream = FakeUpstream::start_with(Options {
        models: vec!["router-model".into(), "ollama-model".into(), "plain".into()],
        ..Options::default()
    })
    .await
    .expect("fake upstream");
    let base = upstream.base_url();
    let file = std::env::temp_dir().join(format!(
        "confab-residency-{}.json",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::write(
        &file,
        body!({ "endpoints": [
            { "name": "llama-router", "base_url": base, "kind": "llamacpp",
              "models": [{ "id": "router-model", "label": "Router model" }] },
            { "name": "ollama", "base_url": base, "kind": "ollama", "models": [{ "id": "ollama-model" }] },
            { "name": "vllm", "base_url": base, "kind": "vllm", "models": [{ "id": "plain" }] },
        ]})
        .to_string(),
    )
    .expect("write");
    let path = file.to_string_lossy().into_owned();
    let mut vars = vec![("MODELS_FILE", path.as_str())];
    vars.extend_from_slice(extra);
    (spawn_app_with(&vars).await, upstream, file)
}

async fn admin_models(admin: &SignedIn) -> Vec<Value> {
    let response = admin.raw(Method::GET, "/api/admin/models", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    json(response).await["models"]
        .as_array()
        .expect("models")
        .clone()
}

async fn state_of(admin: &SignedIn, id: &str) -> Value {
    admin_models(admin)
        .await
        .into_iter()
        .find(|m| m["id"] == id)
        .unwrap_or_else(|| panic!("{id} listed"))
}

async fn act(admin: &SignedIn, id: &str, action: &str) -> reqwest::Response {
    let path = format!("/api/admin/models/{id}/{action}");
    admin.raw(Method::POST, &path, None).await
}

/// Waits (up to 5 s) until the model's state is `state`.
async fn until_state(admin: &SignedIn, id: &str, state: &str) -> Value {
    let mut seen = Value::Null;
    for _ in 0..50 {
        seen = state_of(admin, id).await;
        if seen["state"] == state {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{id} never became {state}: {seen}");
}

#[tokio::test]
async fn admins_see_each_models_residency_and_load_and_unload_it() {
    let (app, upstream, file) = spawn_local(&[]).await;
    let admin = app.signed_in().await;
    let ada = app.signed_in().await;

    let models = admin_models(&admin).await;
    let (_, loaded, vram) = ollama_sizes("ollama-model");
    let summary: Vec<(Value, Value, Value, Value)> = models
        .iter()
        .map(|m| {
            (
                m["id"].clone(),
                m["manageable"].clone(),
                m["state"].clone(),
                m["memory_bytes"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                body!("router-model"),
                body!(true),
                body!("loaded"),
                Value::Null
            ),
            (
                body!("ollama-model"),
                body!(true),
                body!("loaded"),
                body!(loaded)
            ),
            (body!("plain"), body!(false), body!("unknown"), Value::Null),
        ]
    );
    assert_eq!(models[1]["vram_bytes"], vram);
    assert_eq!(
        (
            models[0]["endpoint"].clone(),
            models[0]["kind"].clone(),
            models[0]["source"].clone()
        ),
        (
            body!("llama-router"),
            body!("llamacpp"),
            body!("configured")
        )
    );

    // llama-server: unload, then a load that takes a while.
    let unloaded = act(&admin, "router-model", "unload").await;
    assert_eq!(unloaded.status(), StatusCode::ACCEPTED);
    assert_eq!(json(unloaded).await["state"], "unloaded");
    upstream.set_behaviour(Behaviour {
        load_ms: 600,
        ..Behaviour::default()
    });
    let loading = act(&admin, "router-model", "load").await;
    assert_eq!(loading.status(), StatusCode::ACCEPTED);
    assert_eq!(json(loading).await["state"], "loading");
    until_state(&admin, "router-model", "loaded").await;

    // Ollama: unload (keep_alive 0), load (keep_alive -1) reads `loading` until Ollama answers.
    let unloaded = json(act(&admin, "ollama-model", "unload").await).await;
    assert_eq!(
        (unloaded["state"].clone(), unloaded["memory_bytes"].clone()),
        (body!("unloaded"), Value::Null)
    );
    let loading = json(act(&admin, "ollama-model", "load").await).await;
    assert_eq!(loading["state"], "loading");
    let back = until_state(&admin, "ollama-model", "loaded").await;
    assert_eq!(back["memory_bytes"], loaded);
    let calls: Vec<(Value, Value)> = upstream
        .residency_calls()
        .iter()
        .map(|c| (c["path"].clone(), c["body"].clone()))
        .collect();
    assert_eq!(
        calls,
        [
            (body!("/models/unload"), body!({ "model": "router-model" })),
            (body!("/models/load"), body!({ "model": "router-model" })),
            (
                body!("/api/generate"),
                body!({ "model": "ollama-model", "keep_alive": 0 })
            ),
            (
                body!("/api/generate"),
                body!({ "model": "ollama-model", "keep_alive": -1 })
            ),
        ]
    );

    // Loads that fail say so, on both.
    upstream.set_behaviour(Behaviour {
        fail_load: vec!["router-model".into(), "ollama-model".into()],
        ..Behaviour::default()
    });
    for id in ["router-model", "ollama-model"] {
        assert_eq!(
            act(&admin, id, "unload").await.status(),
            StatusCode::ACCEPTED
        );
        assert_eq!(act(&admin, id, "load").await.status(), StatusCode::ACCEPTED);
        let failed = until_state(&admin, id, "failed").await;
        assert!(
            failed["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{failed}"
        );
    }

    // Refusals: another model, an unknown one, a user.
    let plain = act(&admin, "plain", "load").await;
    assert_eq!(plain.status(), StatusCode::CONFLICT);
    assert_eq!(json(plain).await["error"]["code"], "not_manageable");
    assert_eq!(
        act(&admin, "gpt-9", "load").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        act(&ada, "router-model", "unload").await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        ada.raw(Method::GET, "/api/admin/models", None)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let audit = json(admin.raw(Method::GET, "/api/admin/audit", None).await).await;
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .filter(|a| a.starts_with("model."))
        .collect();
    assert!(
        actions.len() >= 6 && actions.contains(&"model.load") && actions.contains(&"model.unload"),
        "{actions:?}"
    );
    let _ = std::fs::remove_file(file);
}

#[tokio::test]
async fn an_answer_whose_model_is_not_loaded_says_loading_and_waits_for_the_load() {
    // A first-token deadline shorter than the load: only the load timeout lets it through.
    let (app, upstream, file) = spawn_local(&[
        ("UPSTREAM_FIRST_TOKEN_TIMEOUT_MS", "400"),
        ("UPSTREAM_LOAD_TIMEOUT_MS", "10000"),
    ])
    .await;
    let ada = app.signed_in().await;
    let mut live = ada.live().await;
    upstream.set_behaviour(Behaviour {
        load_ms: 1200,
        ..Behaviour::default()
    });
    for model in ["router-model", "ollama-model"] {
        upstream.set_resident(model, false);
        let chat = ada.new_chat().await;
        let events = ada
            .send(
                &chat,
                body!({ "content": "hello", "parameters": { "model": model } }),
            )
            .await
            .until_done()
            .await;
        let names = events.names();
        let loading = names
            .iter()
            .position(|n| *n == "loading")
            .unwrap_or_else(|| panic!("{model}: {names:?}"));
        let first_delta = names.iter().position(|n| *n == "delta").expect("text");
        assert!(loading < first_delta, "{names:?}");
        assert_eq!(events.find("loading").expect("loading")["model"], model);
        assert_eq!(events.done()["status"], "complete", "{model}");
        let told = live
            .wait_for("generation.loading", Duration::from_secs(5))
            .await
            .expect("the socket is told too");
        assert_eq!(told["data"]["model"], model);
        assert_eq!(upstream.residency(model).as_deref(), Some("loaded"));

        // Loaded now: no `loading`, and the usual deadline.
        let again = ada.send(&chat, "again").await.until_done().await;
        assert!(!again.names().contains(&"loading"), "{:?}", again.names());
    }
    // Without the longer deadline the same answer times out: the usual first-token deadline
    // applies to a model its server does not report as unloaded.
    upstream.set_behaviour(Behaviour {
        initial_delay_ms: 1200,
        ..Behaviour::default()
    });
    let chat = ada.new_chat().await;
    let late = ada
        .send(
            &chat,
            body!({ "content": "slow", "parameters": { "model": "router-model" } }),
        )
        .await
        .until_done()
        .await;
    assert_eq!(late.error()["code"], "upstream_timeout");
    let _ = std::fs::remove_file(file);
}
