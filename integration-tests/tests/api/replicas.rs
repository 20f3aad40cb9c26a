//! A model served by several replicas (`base_urls` in `MODELS_FILE`): answers spread by least
//! in-flight, a replica that fails before the first token is skipped at once and rested, and
//! comes back after its rest.

use std::time::Duration;

use integration_tests::{
    SignedIn, TestApp,
    fake_upstream::{Behaviour, FakeUpstream, Options},
    spawn_app_with,
};

/// A port nothing listens on (yet).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

/// An app whose one model is served by replicas at these ports.
async fn app_with_replicas(ports: &[u16]) -> (TestApp, tempfile_path::Path) {
    let urls: Vec<String> = ports
        .iter()
        .map(|port| format!("http://127.0.0.1:{port}/v1"))
        .collect();
    let file = tempfile_path::Path::new(&serde_json::json!({
        "endpoints": [{
            "name": "pool", "base_urls": urls, "kind": "vllm",
            "models": [{ "id": "confab-demo" }]
        }]
    }));
    let app = spawn_app_with(&[
        ("MODELS_FILE", file.as_str()),
        ("UPSTREAM_MAX_RETRIES", "0"),
        ("UPSTREAM_FIRST_TOKEN_TIMEOUT_MS", "5000"),
        ("MAX_CONCURRENT_GENERATIONS_PER_USER", "0"),
        ("RATE_LIMIT_MESSAGES_PER_MINUTE", "0"),
    ])
    .await;
    (app, file)
}

/// A temporary file removed when dropped.
mod tempfile_path {
    pub struct Path(std::path::PathBuf);

    impl Path {
        pub fn new(json: &serde_json::Value) -> Self {
            let path = std::env::temp_dir().join(format!("models-{}.json", uuid::Uuid::new_v4()));
            std::fs::write(&path, json.to_string()).expect("write the models file");
            Self(path)
        }

        pub fn as_str(&self) -> &str {
            self.0.to_str().expect("a UTF-8 path")
        }
    }

    impl Drop for Path {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

async fn answer(ada: &SignedIn) -> serde_json::Value {
    let chat = ada.new_chat().await;
    let events = ada.send(&chat, "hello").await.until_done().await;
    events
        .find("done")
        .or_else(|| events.find("error"))
        .cloned()
        .expect("an end")
}

#[tokio::test]
async fn answers_spread_over_the_replicas_by_least_in_flight() {
    let (one, two) = (FakeUpstream::start().await, FakeUpstream::start().await);
    for replica in [&one, &two] {
        replica.set_behaviour(Behaviour {
            chunk_delay_ms: 30,
            reply_tokens: Some(40),
            ..Behaviour::default()
        });
    }
    let (app, _file) = app_with_replicas(&[one.port(), two.port()]).await;
    let ada = app.signed_in().await;
    let mut chats = Vec::new();
    for _ in 0..4 {
        chats.push(ada.new_chat().await);
    }
    let answers = futures::future::join_all(chats.iter().map(|chat| ada.send(chat, "hi"))).await;
    for answer in answers {
        assert_eq!(answer.done().await["status"], "complete");
    }
    assert_eq!(
        (one.requests().len(), two.requests().len()),
        (2, 2),
        "spread evenly"
    );
}

#[tokio::test]
async fn a_replica_that_is_down_is_skipped_and_used_again_after_its_rest() {
    let up = FakeUpstream::start().await;
    let later = free_port();
    let (app, _file) = app_with_replicas(&[later, up.port()]).await;
    let ada = app.signed_in().await;
    for _ in 0..4 {
        assert_eq!(
            answer(&ada).await["status"],
            "complete",
            "the other replica answers"
        );
    }
    assert_eq!(up.requests().len(), 4);

    // The replica comes back: after its rest (1 s after its one failure) it is tried again.
    let back = FakeUpstream::start_with(Options {
        port: later,
        ..Options::default()
    })
    .await
    .expect("the replica comes back on its port");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    for _ in 0..4 {
        assert_eq!(answer(&ada).await["status"], "complete");
    }
    assert!(!back.requests().is_empty(), "used again after its rest");
}

#[tokio::test]
async fn a_replica_answering_5xx_before_the_first_token_fails_over_at_once() {
    let (failing, healthy) = (FakeUpstream::start().await, FakeUpstream::start().await);
    failing.set_behaviour(Behaviour {
        fail_status: Some(503),
        ..Behaviour::default()
    });
    let (app, _file) = app_with_replicas(&[failing.port(), healthy.port()]).await;
    let ada = app.signed_in().await;
    for _ in 0..3 {
        assert_eq!(answer(&ada).await["status"], "complete");
    }
    assert_eq!(failing.requests().len(), 1, "tried once, then rested");
    assert_eq!(healthy.requests().len(), 3);
}

#[tokio::test]
async fn with_every_replica_down_the_error_is_today_s() {
    let (app, _file) = app_with_replicas(&[free_port(), free_port()]).await;
    let ada = app.signed_in().await;
    let end = answer(&ada).await;
    assert_eq!(end["code"], "upstream_unreachable", "{end}");
}
