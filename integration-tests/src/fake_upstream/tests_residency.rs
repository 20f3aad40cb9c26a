//! Model residency over real HTTP: llama-server router mode, Ollama, loading on demand for a
//! chat completion, the model list's misbehaviour, and their control endpoints.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{
    Behaviour, FakeUpstream, Options, ollama_sizes,
    tests::{chat, post, with},
};

async fn start(models: &[&str]) -> FakeUpstream {
    FakeUpstream::start_with(Options {
        models: models.iter().map(|m| (*m).to_owned()).collect(),
        ..Options::default()
    })
    .await
    .expect("start")
}

fn url(upstream: &FakeUpstream, path: &str) -> String {
    format!("http://127.0.0.1:{}{path}", upstream.port())
}

async fn get(upstream: &FakeUpstream, path: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(url(upstream, path))
        .send()
        .await
        .expect("send GET")
}

async fn get_json(upstream: &FakeUpstream, path: &str) -> Value {
    let response = get(upstream, path).await;
    assert_eq!(response.status(), 200, "GET {path}");
    response.json().await.expect("JSON")
}

/// POSTs `body` to `path`: the status and the JSON answer.
async fn post_json(upstream: &FakeUpstream, path: &str, body: &Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(url(upstream, path))
        .json(body)
        .send()
        .await
        .expect("send POST");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON answer"))
}

async fn put_raw(upstream: &FakeUpstream, path: &str, body: &str) -> u16 {
    reqwest::Client::new()
        .put(url(upstream, path))
        .body(body.to_owned())
        .send()
        .await
        .expect("send PUT")
        .status()
        .as_u16()
}

/// Waits until `model` is in `state`; false on timeout.
async fn wait_for_residency(upstream: &FakeUpstream, model: &str, state: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if upstream.residency(model).as_deref() == Some(state) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    false
}

/// The `status` of `model` in `GET /models`.
async fn router_status(upstream: &FakeUpstream, model: &str) -> Value {
    let models = get_json(upstream, "/models").await;
    models["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|m| m["id"] == model)
        .map(|m| m["status"].clone())
        .expect("the model is listed")
}

#[tokio::test]
async fn fake_upstream_router_mode_loads_and_unloads() {
    let upstream = start(&["a", "b"]).await;
    upstream.set_behaviour(Behaviour {
        load_ms: 400,
        fail_load: vec!["b".to_owned()],
        ..Behaviour::default()
    });
    assert_eq!(
        get_json(&upstream, "/props").await,
        json!({ "role": "router", "max_instances": 4, "models_autoload": true })
    );
    let models = get_json(&upstream, "/models").await;
    assert_eq!(models["object"], "list");
    let first = &models["data"][0];
    assert!(first["created"].is_u64());
    assert_eq!(
        first,
        &json!({
            "id": "a", "aliases": [], "tags": [], "object": "model", "owned_by": "llamacpp",
            "created": first["created"], "status": { "value": "loaded" },
            "source": "models_dir", "can_remove": false,
        })
    );

    let already = json!({ "error": { "code": 400, "message": "model is already running", "type": "invalid_request_error" } });
    assert_eq!(
        post_json(&upstream, "/models/load", &json!({ "model": "a" })).await,
        (400, already.clone())
    );
    let not_found =
        json!({ "error": { "message": "File Not Found", "type": "not_found_error", "code": 404 } });
    for body in [json!({ "model": "nope" }), json!({})] {
        assert_eq!(
            post_json(&upstream, "/models/load", &body).await,
            (404, not_found.clone())
        );
    }

    upstream.set_resident("a", false);
    assert_eq!(
        router_status(&upstream, "a").await,
        json!({ "value": "unloaded" })
    );
    let started = Instant::now();
    assert_eq!(
        post_json(&upstream, "/models/load", &json!({ "model": "a" })).await,
        (200, json!({ "success": true }))
    );
    assert!(
        started.elapsed() < Duration::from_millis(400),
        "answered at once"
    );
    assert_eq!(
        router_status(&upstream, "a").await,
        json!({ "value": "loading" })
    );
    assert_eq!(
        post_json(&upstream, "/models/load", &json!({ "model": "a" })).await,
        (400, already)
    );
    assert!(wait_for_residency(&upstream, "a", "loaded").await);
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(
        router_status(&upstream, "a").await,
        json!({ "value": "loaded" })
    );

    assert_eq!(
        post_json(&upstream, "/models/unload", &json!({ "model": "a" })).await,
        (200, json!({ "success": true }))
    );
    assert_eq!(upstream.residency("a").as_deref(), Some("unloaded"));
    let error = |message: &str| json!({ "error": { "code": 400, "message": message, "type": "invalid_request_error" } });
    assert_eq!(
        post_json(&upstream, "/models/unload", &json!({ "model": "a" })).await,
        (400, error("model is not running"))
    );
    assert_eq!(
        post_json(&upstream, "/models/unload", &json!({ "model": "nope" })).await,
        (400, error("model is not found"))
    );

    upstream.set_resident("b", false);
    assert_eq!(
        post_json(&upstream, "/models/load", &json!({ "model": "b" })).await,
        (200, json!({ "success": true }))
    );
    assert!(wait_for_residency(&upstream, "b", "failed").await);
    assert_eq!(
        router_status(&upstream, "b").await,
        json!({ "value": "unloaded", "failed": true, "exit_code": 1 })
    );

    let calls = upstream.residency_calls();
    assert_eq!(calls.len(), 9);
    assert_eq!(
        calls[0],
        json!({ "path": "/models/load", "body": { "model": "a" } })
    );
    assert_eq!(
        calls[5],
        json!({ "path": "/models/unload", "body": { "model": "a" } })
    );
    upstream.clear();
    assert!(upstream.residency_calls().is_empty());
    assert_eq!(upstream.residency("b").as_deref(), Some("loaded"));
}

#[tokio::test]
async fn fake_upstream_ollama_lists_loads_and_unloads() {
    let upstream = start(&["m1", "llama3:8b", "broken"]).await;
    upstream.set_behaviour(Behaviour {
        load_ms: 150,
        fail_load: vec!["broken".to_owned()],
        ..Behaviour::default()
    });
    assert_eq!(
        ollama_sizes("m1"),
        (1_002_000_000, 1_502_000_000, 751_000_000)
    );
    assert_eq!(
        ollama_sizes("llama3:8b"),
        (1_009_000_000, 1_509_000_000, 754_500_000)
    );
    let details = json!({ "format": "gguf", "family": "llama", "parameter_size": "8B", "quantization_level": "Q4_K_M" });
    let tags = get_json(&upstream, "/api/tags").await;
    assert_eq!(tags["models"].as_array().map(Vec::len), Some(3));
    let digest = tags["models"][0]["digest"]
        .as_str()
        .expect("digest")
        .to_owned();
    assert!(digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_ne!(tags["models"][1]["digest"], tags["models"][0]["digest"]);
    assert_eq!(
        tags["models"][0],
        json!({
            "name": "m1", "model": "m1", "modified_at": "2026-01-01T00:00:00Z",
            "size": 1_002_000_000u64, "digest": digest, "details": details,
        })
    );

    upstream.set_resident("llama3:8b", false);
    upstream.set_resident("broken", false);
    let ps = get_json(&upstream, "/api/ps").await;
    assert_eq!(
        ps,
        json!({ "models": [{
            "name": "m1", "model": "m1", "size": 1_502_000_000u64, "digest": digest,
            "details": details, "expires_at": "2026-12-31T00:00:00Z", "size_vram": 751_000_000u64,
        }] })
    );

    let started = Instant::now();
    let (status, loaded) = post_json(
        &upstream,
        "/api/generate",
        &json!({ "model": "llama3:8b", "keep_alive": -1 }),
    )
    .await;
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(status, 200);
    assert!(loaded["created_at"].is_string());
    assert_eq!(
        loaded,
        json!({ "model": "llama3:8b", "created_at": loaded["created_at"], "response": "", "done": true, "done_reason": "load" })
    );
    assert_eq!(upstream.residency("llama3:8b").as_deref(), Some("loaded"));
    let ps = get_json(&upstream, "/api/ps").await;
    assert_eq!(ps["models"][1]["name"], "llama3:8b");
    assert_eq!(ps["models"][1]["size"], 1_509_000_000u64);
    assert_eq!(ps["models"][1]["size_vram"], 754_500_000u64);

    let (status, unloaded) = post_json(
        &upstream,
        "/api/generate",
        &json!({ "model": "llama3:8b", "keep_alive": 0 }),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(unloaded["done_reason"], "unload");
    assert_eq!(unloaded["done"], true);
    assert_eq!(upstream.residency("llama3:8b").as_deref(), Some("unloaded"));
    assert_eq!(
        get_json(&upstream, "/api/ps").await["models"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    assert_eq!(
        post_json(&upstream, "/api/generate", &json!({ "model": "broken" })).await,
        (
            500,
            json!({ "error": "llama runner process has terminated: exit status 1" })
        )
    );
    assert_eq!(upstream.residency("broken").as_deref(), Some("failed"));
    assert_eq!(
        post_json(&upstream, "/api/generate", &json!({ "model": "nope" })).await,
        (404, json!({ "error": "model 'nope' not found" }))
    );
    assert_eq!(
        post_json(&upstream, "/api/generate", &json!({ "keep_alive": -1 })).await,
        (400, json!({ "error": "model is required" }))
    );
    assert_eq!(
        post_json(
            &upstream,
            "/api/generate",
            &json!({ "model": "m1", "prompt": "hi" })
        )
        .await,
        (
            400,
            json!({ "error": "the fake upstream does not generate on /api/generate" })
        )
    );
    let calls = upstream.residency_calls();
    assert_eq!(calls.len(), 6);
    assert_eq!(
        calls[1],
        json!({ "path": "/api/generate", "body": { "model": "llama3:8b", "keep_alive": 0 } })
    );
}

#[tokio::test]
async fn fake_upstream_chat_completion_loads_its_model_first() {
    let upstream = FakeUpstream::start().await;
    upstream.set_behaviour(Behaviour {
        load_ms: 200,
        ..Behaviour::default()
    });
    upstream.set_resident("confab-demo", false);
    assert_eq!(
        upstream.residency("confab-demo").as_deref(),
        Some("unloaded")
    );
    let started = Instant::now();
    assert_eq!(post(&upstream, &chat("hi")).await.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(upstream.residency("confab-demo").as_deref(), Some("loaded"));

    upstream.set_resident("confab-demo", false);
    let started = Instant::now();
    let streamed = post(&upstream, &with(chat("hi"), json!({ "stream": true }))).await;
    assert_eq!(streamed.status(), 200);
    assert!(
        streamed
            .text()
            .await
            .expect("SSE")
            .ends_with("data: [DONE]\n\n")
    );
    assert!(started.elapsed() >= Duration::from_millis(200));

    upstream.set_behaviour(Behaviour {
        fail_load: vec!["confab-demo".to_owned()],
        ..Behaviour::default()
    });
    upstream.set_resident("confab-demo", false);
    let failed = post(&upstream, &chat("hi")).await;
    assert_eq!(failed.status(), 500);
    let error: Value = failed.json().await.expect("error JSON");
    assert_eq!(
        error["error"]["message"],
        "model name=confab-demo failed to load"
    );
    assert_eq!(upstream.residency("confab-demo").as_deref(), Some("failed"));
    assert_eq!(upstream.request_count(), 3);
    // Chat completions are requests, not residency calls.
    assert!(upstream.residency_calls().is_empty());
    assert_eq!(upstream.residency("nope"), None);
}

#[tokio::test]
async fn fake_upstream_model_list_misbehaves_and_changes() {
    let upstream = FakeUpstream::start().await;
    upstream.set_behaviour(Behaviour {
        models_fail_status: Some(503),
        ..Behaviour::default()
    });
    for path in ["/v1/models", "/models"] {
        let response = get(&upstream, path).await;
        assert_eq!(response.status(), 503);
        let error: Value = response.json().await.expect("error JSON");
        assert_eq!(error["error"]["type"], "server_error");
    }
    upstream.set_behaviour(Behaviour {
        models_garbage: true,
        ..Behaviour::default()
    });
    for path in ["/v1/models", "/models"] {
        let response = get(&upstream, path).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/json");
        assert_eq!(response.text().await.expect("body"), "this is not json {");
    }
    upstream.set_behaviour(Behaviour {
        models_delay_ms: 150,
        ..Behaviour::default()
    });
    let started = Instant::now();
    let models = get_json(&upstream, "/v1/models").await;
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(models["data"][0]["id"], "confab-demo");

    upstream.clear();
    upstream.set_resident("confab-demo", false);
    upstream.set_models(vec!["x".into(), "confab-demo".into(), "x".into()]);
    assert_eq!(upstream.models(), ["x", "confab-demo"]);
    assert_eq!(upstream.residency("x").as_deref(), Some("loaded"));
    assert_eq!(
        upstream.residency("confab-demo").as_deref(),
        Some("unloaded")
    );
    upstream.set_models(vec!["x".into(), "y".into()]);
    let ids = |models: &Value| -> Vec<Value> {
        models["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|m| m["id"].clone())
            .collect()
    };
    assert_eq!(ids(&get_json(&upstream, "/v1/models").await), ["x", "y"]);
    assert_eq!(ids(&get_json(&upstream, "/models").await), ["x", "y"]);
    assert_eq!(get(&upstream, "/v1/models/y").await.status(), 200);
    assert_eq!(get(&upstream, "/v1/models/confab-demo").await.status(), 404);
    assert_eq!(post(&upstream, &chat("hi")).await.status(), 404);
    let body = with(chat("hi"), json!({ "model": "y" }));
    assert_eq!(post(&upstream, &body).await.status(), 200);
}

#[tokio::test]
async fn fake_upstream_residency_control_endpoints() {
    let upstream = start(&["a", "org/b"]).await;
    assert_eq!(
        get_json(&upstream, "/__residency").await,
        json!({ "a": "loaded", "org/b": "loaded" })
    );
    assert_eq!(
        put_raw(&upstream, "/__residency/org/b", r#"{"state":"unloaded"}"#).await,
        204
    );
    assert_eq!(upstream.residency("org/b").as_deref(), Some("unloaded"));
    assert_eq!(
        put_raw(&upstream, "/__residency/a", r#"{"state":"failed"}"#).await,
        400
    );
    assert_eq!(put_raw(&upstream, "/__residency/a", "nonsense").await, 400);
    assert_eq!(
        put_raw(&upstream, "/__residency/nope", r#"{"state":"loaded"}"#).await,
        404
    );
    assert_eq!(
        post_json(&upstream, "/models/load", &json!({ "model": "org/b" })).await,
        (200, json!({ "success": true }))
    );
    assert_eq!(
        get_json(&upstream, "/__residency_calls").await,
        json!([{ "path": "/models/load", "body": { "model": "org/b" } }])
    );
    assert_eq!(
        put_raw(&upstream, "/__residency/org/b", r#"{"state":"unloaded"}"#).await,
        204
    );

    assert_eq!(
        put_raw(&upstream, "/__models", r#"["org/b","c"]"#).await,
        204
    );
    assert_eq!(
        get_json(&upstream, "/__models").await,
        json!(["org/b", "c"])
    );
    assert_eq!(put_raw(&upstream, "/__models", r#"{"a":1}"#).await, 400);
    assert_eq!(
        get_json(&upstream, "/__residency").await,
        json!({ "c": "loaded", "org/b": "unloaded" })
    );
    let reset = reqwest::Client::new()
        .post(url(&upstream, "/__reset"))
        .send()
        .await
        .expect("reset");
    assert_eq!(reset.status(), 204);
    assert_eq!(
        get_json(&upstream, "/__residency").await,
        json!({ "c": "loaded", "org/b": "loaded" })
    );
    assert_eq!(get_json(&upstream, "/__residency_calls").await, json!([]));
    // The reset keeps the served list.
    assert_eq!(
        get_json(&upstream, "/__models").await,
        json!(["org/b", "c"])
    );
}

#[tokio::test]
async fn fake_upstream_without_control_serves_residency_but_no_control() {
    let upstream = FakeUpstream::start_with(Options {
        control: false,
        unloaded: vec!["confab-demo".to_owned()],
        ..Options::default()
    })
    .await
    .expect("start");
    assert_eq!(
        router_status(&upstream, "confab-demo").await,
        json!({ "value": "unloaded" })
    );
    assert_eq!(get(&upstream, "/__residency").await.status(), 404);
    assert_eq!(
        post_json(
            &upstream,
            "/api/generate",
            &json!({ "model": "confab-demo" })
        )
        .await
        .0,
        200
    );
    assert_eq!(upstream.residency("confab-demo").as_deref(), Some("loaded"));
    // Nothing a user sends is kept.
    assert!(upstream.residency_calls().is_empty());
}
