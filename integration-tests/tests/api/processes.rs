//! Real processes of one deployment: one is killed (SIGKILL) or stopped (SIGTERM) mid-answer;
//! the other process, the database and every client see what the rules promise.

use std::time::{Duration, Instant};

use integration_tests::{
    ConfabProcess, Ended, TestApp,
    fake_upstream::{Behaviour, FakeUpstream},
    mongodb_uri, spawn_app_with,
};
use mongodb::bson::{Document, doc};
use reqwest::StatusCode;

/// An upstream answering `tokens` tokens, one every `delay_ms`.
fn slow(delay_ms: u64, tokens: usize) -> Behaviour {
    Behaviour {
        chunk_delay_ms: delay_ms,
        reply_tokens: Some(tokens),
        ..Behaviour::default()
    }
}

/// An in-process app and a `confab` process on one database, answering from `upstream`.
async fn deployment(upstream: &FakeUpstream, process: &[(&str, &str)]) -> (TestApp, ConfabProcess) {
    let base_url = upstream.base_url();
    let database = format!("test_{}", uuid::Uuid::new_v4().simple());
    let secret = format!("test-secret-{}", uuid::Uuid::new_v4().simple());
    let uri = mongodb_uri();
    let shared = [
        ("MONGODB_URI", uri.as_str()),
        ("MONGODB_DATABASE", database.as_str()),
        ("JWT_SECRET", secret.as_str()),
        ("OPENAI_API_BASE_URL", base_url.as_str()),
        ("UPSTREAM_KIND", "vllm"),
        ("AVAILABLE_MODELS", "confab-demo"),
        ("UPSTREAM_FIRST_TOKEN_TIMEOUT_MS", "5000"),
        ("UPSTREAM_IDLE_TIMEOUT_MS", "5000"),
    ];
    let mut for_process = shared.to_vec();
    for_process.extend_from_slice(process);
    for_process.push(("INSTANCE_ID", "process"));
    let mut for_app = shared.to_vec();
    for_app.push(("INSTANCE_ID", "survivor"));
    let (app, process) = tokio::join!(spawn_app_with(&for_app), ConfabProcess::start(&for_process));
    (app, process)
}

async fn stored(app: &TestApp, id: &str) -> Document {
    app.db()
        .await
        .collection::<Document>("messages")
        .find_one(doc! { "_id": mongodb::bson::oid::ObjectId::parse_str(id).expect("id") })
        .await
        .expect("find")
        .expect("the answer is stored")
}

#[tokio::test]
async fn a_killed_process_s_answer_is_marked_interrupted_by_the_other_with_its_saved_text() {
    let upstream = FakeUpstream::start().await;
    upstream.set_behaviour(slow(50, 2000));
    let (survivor, mut doomed) = deployment(&upstream, &[]).await;
    let ada = survivor.signed_in().await;
    let chat = ada.new_chat().await;
    let mut watching = ada.live().await;
    let mut answer = ada.at_port(doomed.port).send(&chat, "a long story").await;
    let (answer_id, _) = answer.read_words(1).await;
    // Long enough for a save or two of the partial text.
    let mut shown = String::new();
    let reading = Instant::now();
    while reading.elapsed() < Duration::from_millis(2500) {
        let Some(event) = answer.next().await else {
            break;
        };
        if event.event == "delta" {
            shown.push_str(event.data["content"].as_str().unwrap_or_default());
        }
    }
    doomed.kill();
    let killed = Instant::now();
    let finished = loop {
        let event = watching
            .wait_for("generation.finished", Duration::from_secs(20))
            .await
            .expect("the survivor announces the answer's end");
        if event["message_id"] == answer_id.as_str() {
            break event;
        }
    };
    let took = killed.elapsed();
    assert!(took < Duration::from_secs(15), "settled in {took:?}");
    assert_eq!(finished["data"]["status"], "error");
    assert_eq!(finished["data"]["error"]["code"], "interrupted");
    let saved = stored(&survivor, answer_id.as_str()).await;
    let text = saved.get_str("content").expect("content");
    assert!(!text.is_empty(), "the text saved before the kill is kept");
    assert!(
        shown.contains(text.trim_start()) || text.len() <= shown.len(),
        "saved text {text:?} is part of what was shown"
    );
    assert_eq!(saved.get_str("status").expect("status"), "error");
}

#[tokio::test]
async fn sigterm_drains_answers_and_sockets_and_the_process_exits_in_time() {
    let upstream = FakeUpstream::start().await;
    upstream.set_behaviour(slow(40, 2000));
    let (other, mut draining) = deployment(&upstream, &[("DRAIN_TIMEOUT_SECS", "2")]).await;
    let ada = other.signed_in().await;
    let on_draining = ada.at_port(draining.port);
    let mut socket = on_draining.live().await;
    let (one, two) = (ada.new_chat().await, ada.new_chat().await);
    let mut first = on_draining.send(&one, "keep going").await;
    let mut second = on_draining.send(&two, "and you too").await;
    let (first_id, _) = first.read_words(2).await;
    let (second_id, _) = second.read_words(2).await;
    draining.terminate();
    let signalled = Instant::now();
    assert_eq!(
        socket.ended(Duration::from_secs(2)).await,
        Ended::Closed(1001)
    );
    // Still serving during the drain: not ready, and no new answer starts here.
    let ready = reqwest::get(format!("http://127.0.0.1:{}/api/ready", draining.port))
        .await
        .expect("served while draining");
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let refused = on_draining.try_send(&one, "one more?").await;
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(refused.headers().contains_key("retry-after"));
    for (answer, id) in [(first, &first_id), (second, &second_id)] {
        let rest = answer.until_done().await;
        let done = rest.done();
        assert_eq!(done["status"], "stopped", "stopped after the drain timeout");
        let saved = stored(&other, id.as_str()).await;
        assert_eq!(saved.get_str("status").expect("status"), "stopped");
        assert_eq!(saved.get_str("content").expect("content"), done.content());
    }
    let status = draining
        .exited_within(Duration::from_secs(2 + 5))
        .await
        .expect("exits within DRAIN_TIMEOUT_SECS + 5 s");
    assert!(status.success(), "{status:?}");
    assert!(signalled.elapsed() < Duration::from_secs(7));
}
