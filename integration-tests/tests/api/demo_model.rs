//! The demo model that `./scripts/run` starts keeps nothing users send it, exposes no control
//! endpoints and sends no CORS headers; tests turn control on explicitly.

use std::time::Duration;

use integration_tests::fake_upstream::{FakeUpstream, Options};
use reqwest::StatusCode;
use serde_json::json;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The `fake_upstream` binary as `./scripts/run` starts it (no `--control`).
struct Demo(std::process::Child, String);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn start_demo() -> Demo {
    let port = free_port();
    let demo = Demo(
        std::process::Command::new(env!("CARGO_BIN_EXE_fake_upstream"))
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--chunk-delay-ms", "1", "--reply-tokens", "5"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("fake_upstream starts"),
        format!("http://127.0.0.1:{port}"),
    );
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if client
            .get(format!("{}/v1/models", demo.1))
            .send()
            .await
            .is_ok()
        {
            return demo;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the demo model did not start");
}

#[tokio::test]
async fn the_demo_model_answers_but_keeps_nothing_and_cannot_be_driven_from_a_page() {
    let demo = start_demo().await;
    let client = reqwest::Client::new();
    let answer = client
        .post(format!("{}/v1/chat/completions", demo.1))
        .header("origin", "https://evil.example.org")
        .json(&json!({ "model": "confab-demo", "messages": [{ "role": "user", "content": "a secret" }] }))
        .send()
        .await
        .expect("sent");
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(
        answer
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    let text = answer.text().await.expect("body");
    // `--reply-tokens 5`: the pace and length flags took effect.
    let reply: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let content = reply["choices"][0]["message"]["content"]
        .as_str()
        .expect("content");
    assert_eq!(content.split_whitespace().count(), 5, "{content}");

    for (method, path) in [
        (reqwest::Method::GET, "/__requests"),
        (reqwest::Method::DELETE, "/__requests"),
        (reqwest::Method::GET, "/__behaviour"),
        (reqwest::Method::PUT, "/__behaviour"),
        (reqwest::Method::POST, "/__reset"),
    ] {
        let response = client
            .request(method.clone(), format!("{}{path}", demo.1))
            .header("origin", "https://evil.example.org")
            .body(r#"{"fail_status": 500}"#)
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{method} {path}");
        assert!(
            response
                .headers()
                .get("access-control-allow-origin")
                .is_none()
        );
    }
    // A browser's preflight is not granted either.
    let preflight = client
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/v1/chat/completions", demo.1),
        )
        .header("origin", "https://evil.example.org")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .expect("sent");
    assert!(
        preflight
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test]
async fn without_control_the_library_records_nothing_either() {
    let upstream = FakeUpstream::start_with(Options {
        control: false,
        ..Options::default()
    })
    .await
    .expect("starts");
    let response = reqwest::Client::new()
        .post(format!("{}/chat/completions", upstream.base_url()))
        .json(&json!({ "model": "confab-demo", "messages": [{ "role": "user", "content": "x" }] }))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(upstream.request_count(), 0);
}
