//! Test harness: spawns the real Confab application on a random port with its own MongoDB
//! database, and offers typed helpers to drive it over real HTTP.
//!
//! The typed client: `app.signed_in()` gives a `SignedIn` user whose calls (`create_chat`,
//! `send`, `regenerate`, `vote`, `live`…) take and return typed values (`Chat`, `Message`,
//! `ChatId`, `MessageId`, `Answer`); `paths` builds every URL.

mod answer;
mod app;
pub mod bench;
pub mod chatgpt;
mod chats;
mod client;
pub mod fake_upstream;
mod ids;
mod messages;
pub mod paths;
mod process;
mod proxy;
mod setup;
mod sse;
mod users;
mod views;
mod ws;

pub use answer::{Answer, Events};
pub use app::{TestApp, expect_field_error, json, spawn_app, spawn_app_with, spawn_pair_with};
pub use client::SignedIn;
pub use ids::{ChatId, MessageId};
pub use messages::MessageBody;
pub use process::ConfabProcess;
pub use proxy::TcpProxy;
pub use setup::{say, spawn_app_with_upstream, spawn_chat, spawn_pair_with_upstream};
pub use sse::{SseEvent, SseReader};
pub use users::{Session, TestUser, session_from};
pub use views::{Chat, ChatPage, Message};
pub use ws::{Ended, LiveSocket, refused_status};

/// The value of the sample `name{labels…}` in a scrape (labels as they appear in the text
/// format).
pub fn sample(body: &str, name: &str, labels: &str) -> Option<f64> {
    let prefix = if labels.is_empty() {
        format!("{name} ")
    } else {
        format!("{name}{{{labels}}} ")
    };
    body.lines()
        .find_map(|line| line.strip_prefix(prefix.as_str()))
        .and_then(|value| value.trim().parse().ok())
}

/// MongoDB used by the tests (the `.ci/run` and `scripts/test` start one).
pub fn mongodb_uri() -> String {
    std::env::var("CONFAB_TEST_MONGODB_URI")
        .unwrap_or_else(|_| "mongodb://127.0.0.1:27017/?directConnection=true".to_owned())
}

/// The `Retry-After` of a response, in seconds (panics if it has none).
pub fn retry_after(response: &reqwest::Response) -> u64 {
    response.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds")
}

/// The refresh-token value from a response's `Set-Cookie`, if it sets one.
pub fn refresh_cookie(response: &reqwest::Response) -> Option<String> {
    set_cookie_header(response).and_then(|header| {
        let value = header.split(';').next()?.split_once('=')?.1.to_owned();
        (!value.is_empty()).then_some(value)
    })
}

/// The raw `Set-Cookie` header for the refresh cookie.
pub fn set_cookie_header(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("confab_refresh="))
        .map(str::to_owned)
}

/// The claims of a JWT, decoded without verification (to forge variants of it in tests).
pub fn jwt_claims(token: &str) -> serde_json::Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap_or_default();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap_or_default();
    serde_json::from_slice(&bytes).unwrap_or_default()
}
