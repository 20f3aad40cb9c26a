//! Simulated failures, request recording, validation and the `/__…` control API.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{
    Behaviour, FakeUpstream, Options,
    tests::{chat, post, with},
};

#[tokio::test]
async fn fake_upstream_fails_n_times_then_succeeds() {
    let upstream = FakeUpstream::start().await;
    upstream.set_behaviour(Behaviour {
        fail_status: Some(429),
        fail_times: Some(2),
        retry_after_secs: Some(3),
        ..Behaviour::default()
    });
    for _ in 0..2 {
        let response = post(&upstream, &chat("hi")).await;
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()["retry-after"], "3");
        let body: Value = response.json().await.expect("error JSON");
        assert_eq!(body["error"]["message"], "simulated failure");
        assert_eq!(body["error"]["type"], "rate_limit_error");
        assert!(body["error"]["code"].is_null());
    }
    assert_eq!(post(&upstream, &chat("hi")).await.status(), 200);
    assert_eq!(upstream.request_count(), 3);
    upstream.set_behaviour(Behaviour {
        fail_status: Some(503),
        ..Behaviour::default()
    });
    for _ in 0..3 {
        let response = post(&upstream, &chat("hi")).await;
        assert_eq!(response.status(), 503);
        assert!(response.headers().get("retry-after").is_none());
        let body: Value = response.json().await.expect("error JSON");
        assert_eq!(body["error"]["type"], "server_error");
    }
    upstream.clear();
    assert_eq!(upstream.request_count(), 0);
    assert_eq!(post(&upstream, &chat("hi")).await.status(), 200);
}

#[tokio::test]
async fn fake_upstream_records_requests_verbatim_and_validates() {
    let upstream = FakeUpstream::start_with(Options {
        models: vec!["a".into(), "b".into()],
        ..Options::default()
    })
    .await
    .expect("start");
    let body = with(
        chat("hi"),
        json!({ "model": "b", "top_k": 40, "repetition_penalty": 1.1, "stop": ["x"], "temperature": 0.2 }),
    );
    assert_eq!(post(&upstream, &body).await.status(), 200);
    assert_eq!(upstream.last_request(), Some(body.clone()));
    let unknown = post(&upstream, &chat("hi")).await;
    assert_eq!(unknown.status(), 404);
    let error: Value = unknown.json().await.expect("error JSON");
    assert_eq!(
        error,
        json!({ "error": { "message": "The model `confab-demo` does not exist", "type": "invalid_request_error", "param": "model", "code": "model_not_found" } })
    );
    let empty = post(&upstream, &json!({ "model": "a", "messages": [] })).await;
    assert_eq!(empty.status(), 400);
    let error: Value = empty.json().await.expect("error JSON");
    assert_eq!(error["error"]["type"], "invalid_request_error");
    assert_eq!(
        post(&upstream, &json!({ "model": "a" })).await.status(),
        400
    );
    let client = reqwest::Client::new();
    let url = format!("{}/chat/completions", upstream.base_url());
    let raw = client
        .post(&url)
        .body("not json")
        .send()
        .await
        .expect("send");
    assert_eq!(raw.status(), 400);
    assert_eq!(upstream.last_request(), Some(json!({ "_raw": "not json" })));
    assert_eq!(upstream.request_count(), 5);
    assert_eq!(upstream.requests()[0], body);
    let models: Value = client
        .get(format!("{}/models", upstream.base_url()))
        .send()
        .await
        .expect("models")
        .json()
        .await
        .expect("JSON");
    assert_eq!(models["object"], "list");
    assert_eq!(models["data"][1]["id"], "b");
    assert_eq!(models["data"][1]["object"], "model");
    assert_eq!(models["data"][1]["owned_by"], "confab");
    assert!(models["data"][1]["created"].is_u64());
}

#[tokio::test]
async fn fake_upstream_control_endpoints_and_delays() {
    let upstream = FakeUpstream::start().await;
    let client = reqwest::Client::new();
    let root = format!("http://127.0.0.1:{}", upstream.port());
    assert_eq!(
        client
            .get(format!("{root}/__health"))
            .send()
            .await
            .expect("health")
            .status(),
        200
    );
    let put = client
        .put(format!("{root}/__behaviour"))
        .body(r#"{"initial_delay_ms":150}"#)
        .send()
        .await
        .expect("put");
    assert_eq!(put.status(), 204);
    assert_eq!(upstream.behaviour().initial_delay_ms, 150);
    let started = Instant::now();
    assert_eq!(post(&upstream, &chat("slow")).await.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(150));
    let recorded: Value = client
        .get(format!("{root}/__requests"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("JSON");
    assert_eq!(recorded, json!([chat("slow")]));
    assert_eq!(
        client
            .delete(format!("{root}/__requests"))
            .send()
            .await
            .expect("delete")
            .status(),
        204
    );
    assert_eq!(upstream.request_count(), 0);
    assert_eq!(
        client
            .post(format!("{root}/__reset"))
            .send()
            .await
            .expect("reset")
            .status(),
        204
    );
    assert_eq!(upstream.behaviour(), Behaviour::default());
    let bad = client
        .put(format!("{root}/__behaviour"))
        .body("{\"fail_status\":\"x\"}")
        .send()
        .await
        .expect("put");
    assert_eq!(bad.status(), 400);
    let waiter = upstream
        .wait_for_requests(1, Duration::from_millis(50))
        .await;
    assert!(!waiter);
    post(&upstream, &chat("hi")).await;
    assert!(upstream.wait_for_requests(1, Duration::from_secs(1)).await);
    let port = upstream.port();
    drop(upstream);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
    );
}
