//! An answer cut short — stopped, abandoned by its tab, its chat deleted, the server shut
//! down — keeps the text it had, saved as it grew, and its stream ends cleanly.

use std::time::{Duration, Instant};

use integration_tests::{MessageId, fake_upstream::Behaviour, spawn_chat};
use mongodb::{
    Database,
    bson::{Document, doc},
};
use reqwest::StatusCode;
use serde_json::json as body;

/// The stored document of a message.
async fn stored(db: &Database, message: &MessageId) -> Document {
    db.collection::<Document>("messages")
        .find_one(doc! { "_id": message.object_id() })
        .await
        .expect("query")
        .expect("stored")
}

#[tokio::test]
async fn stop_cancels_the_upstream_and_saves_the_partial_text() {
    let (_, upstream, ada, chat) = spawn_chat(&[]).await;
    upstream.set_behaviour(Behaviour {
        chunk_delay_ms: 40,
        reply_tokens: Some(500),
        ..Behaviour::default()
    });
    let mut answer = ada.send(&chat, "long story please").await;
    let (answer_id, seen) = answer.read_words(5).await;
    let stopped = ada.stop(&chat, &answer_id).await;
    assert_eq!(stopped["status"], "stopped");
    let partial = stopped.content().to_owned();
    assert!(
        partial.starts_with(&seen),
        "saved text keeps what was shown"
    );
    assert!(
        partial.split_whitespace().count() < 400,
        "stopped well before the end"
    );

    // The stream ends with the stopped answer.
    let rest = answer.until_done().await;
    let done = rest.find("done").expect("done after stop");
    assert_eq!(done["status"], "stopped");
    assert_eq!(done["content"], partial.as_str());

    // It stays stopped: the text does not grow back after a while.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let saved = ada.messages(&chat).await;
    assert_eq!(saved[1]["status"], "stopped");
    assert_eq!(saved[1]["content"], partial.as_str());
}

#[tokio::test]
async fn a_disconnected_client_finds_the_finished_answer_on_reload() {
    let (_, upstream, ada, chat) = spawn_chat(&[]).await;
    upstream.set_behaviour(Behaviour {
        chunk_delay_ms: 20,
        reply_tokens: Some(30),
        ..Behaviour::default()
    });
    let mut answer = ada.send(&chat, "hello?").await;
    answer.read_words(1).await;
    drop(answer); // the tab closes mid-answer

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let saved = ada.messages(&chat).await;
        if saved.get(1).is_some_and(|m| m["status"] == "complete") {
            assert_eq!(
                saved[1]["content"]
                    .as_str()
                    .map(|c| c.split_whitespace().count()),
                Some(30)
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the answer never completed: {saved:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn partial_text_reaches_mongodb_while_the_answer_grows() {
    let (app, upstream, ada, chat) = spawn_chat(&[]).await;
    upstream.set_behaviour(Behaviour {
        chunk_delay_ms: 50,
        reply_tokens: Some(80),
        ..Behaviour::default()
    });
    let mut answer = ada.send(&chat, "go").await;
    let answer_id = answer.started().await;
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let stored = stored(&app.db().await, &answer_id).await;
    assert_eq!(stored.get_str("status").expect("status"), "streaming");
    assert!(
        !stored.get_str("content").expect("content").is_empty(),
        "partial text is saved while streaming"
    );
    drop(answer);
}

#[tokio::test]
async fn deleting_a_chat_mid_generation_stops_it_and_removes_everything() {
    let (app, upstream, ada, chat) = spawn_chat(&[]).await;
    upstream.set_behaviour(Behaviour {
        chunk_delay_ms: 30,
        reply_tokens: Some(300),
        ..Behaviour::default()
    });
    let mut answer = ada.send(&chat, "go on").await;
    answer.read_words(1).await;
    ada.delete_chat(&chat).await;
    let rest = answer.until_done().await;
    assert_eq!(
        rest.find("done").map(|d| d["status"].clone()),
        Some(body!("stopped"))
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let left = app
        .db()
        .await
        .collection::<Document>("messages")
        .count_documents(doc! {})
        .await
        .expect("count");
    assert_eq!(left, 0, "no message survives its chat");
    let gone = ada.try_chat(&chat).await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn shutting_down_stops_generations_after_the_drain_timeout_and_saves_their_text() {
    let (app, upstream, ada, chat) = spawn_chat(&[("DRAIN_TIMEOUT_SECS", "1")]).await;
    upstream.set_behaviour(Behaviour {
        chunk_delay_ms: 40,
        reply_tokens: Some(500),
        ..Behaviour::default()
    });
    let mut answer = ada.send(&chat, "tell me everything").await;
    let (answer_id, shown) = answer.read_words(3).await;
    let db = app.db().await;
    tokio::time::timeout(Duration::from_secs(15), app.stop())
        .await
        .expect("shutdown does not hang on an open stream")
        .expect("clean shutdown");
    let rest = answer.until_done().await;
    let done = rest
        .find("done")
        .expect("the stream ends with the stopped answer");
    assert_eq!(done["status"], "stopped");
    let stored = stored(&db, &answer_id).await;
    assert_eq!(stored.get_str("status").expect("status"), "stopped");
    assert!(
        stored
            .get_str("content")
            .expect("content")
            .starts_with(&shown)
    );
}
