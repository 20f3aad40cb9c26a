//! Starting points: an app answering from a fake upstream, and the usual opening of a chat
//! test — that app, a signed-in user and a new chat of theirs.

use serde_json::{Value, json};

use crate::{Chat, SignedIn, TestApp, fake_upstream::FakeUpstream, spawn_app_with};

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

/// Two processes of one deployment (`spawn_pair_with`) answering from one fresh fake upstream.
pub async fn spawn_pair_with_upstream(extra: &[(&str, &str)]) -> (TestApp, TestApp, FakeUpstream) {
    let upstream = FakeUpstream::start().await;
    let base_url = upstream.base_url();
    let mut vars: Vec<(&str, &str)> = vec![
        ("OPENAI_API_BASE_URL", base_url.as_str()),
        ("UPSTREAM_KIND", "vllm"),
        ("AVAILABLE_MODELS", "confab-demo"),
        ("DEFAULT_MODEL", "confab-demo"),
        ("UPSTREAM_FIRST_TOKEN_TIMEOUT_MS", "5000"),
        ("UPSTREAM_IDLE_TIMEOUT_MS", "5000"),
    ];
    vars.extend_from_slice(extra);
    let (a, b) = crate::spawn_pair_with(&vars).await;
    (a, b, upstream)
}

/// An app answering from a fresh fake upstream (vLLM-style, with these extra settings), a
/// signed-in user and a new, empty chat of theirs:
/// `let (app, upstream, ada, chat) = spawn_chat(&[]).await;`.
///
/// The user keeps the app running, so `_` will do for an app the test does not use; the
/// upstream stops when dropped, so keep it (`_upstream`).
pub async fn spawn_chat(settings: &[(&str, &str)]) -> (TestApp, FakeUpstream, SignedIn, Chat) {
    let (app, upstream) = spawn_app_with_upstream("vllm", settings).await;
    let user = app.signed_in().await;
    let chat = user.new_chat().await;
    (app, upstream, user, chat)
}

/// `{"content": text}`, for tables of message bodies that mix text and whole bodies.
pub fn say(text: &str) -> Value {
    json!({ "content": text })
}
