//! Typed helpers for chats and streamed messages.

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::{
    TestApp,
    app::json,
    fake_upstream::FakeUpstream,
    spawn_app_with,
    sse::{SseEvent, SseReader},
};

/// An app whose upstream is a fresh fake OpenAI-compatible server of the given kind.
pub async fn spawn_app_with_upstream(
    kind: &str,
    extra: &[(&str, &str)],
) -> (TestApp, FakeUpstream) {
    let upstream = FakeUpstream::start().await;
    let base_url = upstream.base_url();
    let mut vars: Vec<(&str, &str)> = vec![
        ("OPENAI_API_BASE_URL", base_url.as_str()),
        ("OPENAI_API_KEY", "sk-test-secret-key"),
        ("UPSTREAM_KIND", kind),
        ("AVAILABLE_MODELS", "confab-demo"),
        ("DEFAULT_MODEL", "confab-demo"),
        ("UPSTREAM_FIRST_TOKEN_TIMEOUT_MS", "5000"),
        ("UPSTREAM_IDLE_TIMEOUT_MS", "5000"),
    ];
    vars.extend_from_slice(extra);
    (spawn_app_with(&vars).await, upstream)
}

impl TestApp {
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> Response {
        let mut request = self.http.request(method, self.url(path)).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.expect("request sent")
    }

    /// Creates a chat, asserting 201; returns its JSON.
    pub async fn create_chat(&self, token: &str, body: &Value) -> Value {
        let response = self
            .send(reqwest::Method::POST, "/api/chats", token, Some(body))
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        json(response).await
    }

    /// POSTs to a streaming route; returns the response (check its status, then read it).
    pub async fn post_stream(&self, path: &str, token: &str, body: &Value) -> Response {
        self.send(reqwest::Method::POST, path, token, Some(body))
            .await
    }

    /// Sends a message and reads the whole event stream, asserting it is one.
    pub async fn chat(&self, token: &str, chat_id: &str, body: &Value) -> Vec<SseEvent> {
        let response = self
            .post_stream(&format!("/api/chats/{chat_id}/messages"), token, body)
            .await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{}",
            response.text().await.unwrap_or_default()
        );
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .to_owned();
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        SseReader::new(response).collect().await
    }

    /// `GET /api/chats/{id}/messages` → the messages array.
    pub async fn messages(&self, token: &str, chat_id: &str) -> Vec<Value> {
        let response = self
            .get(&format!("/api/chats/{chat_id}/messages"), Some(token))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        json(response).await["messages"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

/// `{"content": text}`
pub fn say(text: &str) -> Value {
    json!({ "content": text })
}
