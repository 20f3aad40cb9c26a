//! No one user can exhaust the service: answers at once and answers per minute are limited,
//! a refused request saves nothing, and other users are unaffected.

use std::time::Duration;

use integration_tests::{
    SseReader, TestApp, fake_upstream::Behaviour, json, say, spawn_app_with_upstream,
};
use mongodb::bson::{Document, doc};
use reqwest::StatusCode;
use serde_json::json as body;

async fn new_chat(app: &TestApp, token: &str) -> String {
    app.create_chat(token, &body!({})).await["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

async fn stored_messages(app: &TestApp) -> u64 {
    app.db()
        .await
        .collection::<Document>("messages")
        .count_documents(doc! {})
        .await
        .expect("count")
}

#[tokio::test]
async fn parallel_sends_past_the_concurrency_limit_are_refused_and_save_nothing() {
    let (app, upstream) = spawn_app_with_upstream("vllm", &[]).await;
    upstream.set_behaviour(Behaviour {
        chunk_delay_ms: 50,
        reply_tokens: Some(200),
        ..Behaviour::default()
    });
    let (_, s) = app.with_user().await;
    let chat = new_chat(&app, &s.access_token).await;
    let path = format!("/api/chats/{chat}/messages");
    // Ten at once against the default limit of three.
    let questions: Vec<_> = (0..10).map(|i| say(&format!("q{i}"))).collect();
    let sends = questions
        .iter()
        .map(|question| app.post_stream(&path, &s.access_token, question));
    let responses = futures::future::join_all(sends).await;
    let (accepted, refused): (Vec<_>, Vec<_>) = responses
        .into_iter()
        .partition(|r| r.status() == StatusCode::OK);
    assert_eq!(accepted.len(), 3);
    assert_eq!(refused.len(), 7);
    for response in refused {
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()["retry-after"], "5");
        let error = json(response).await;
        assert_eq!(error["error"]["code"], "too_many_generations");
    }
    // Only the accepted ones exist: a question and an answer each.
    assert_eq!(stored_messages(&app).await, 6);

    // Someone else is not limited by it.
    let (_, other) = app.with_user().await;
    let other_chat = new_chat(&app, &other.access_token).await;
    let response = app
        .post_stream(
            &format!("/api/chats/{other_chat}/messages"),
            &other.access_token,
            &say("me too"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    // Stopping one makes room for one.
    let mut reader = SseReader::new(accepted.into_iter().next().expect("one"));
    let (answer, _) = reader.read_answer_until(0).await;
    let stopped = app
        .send(
            reqwest::Method::POST,
            &format!("/api/chats/{chat}/messages/{answer}/stop"),
            &s.access_token,
            None,
        )
        .await;
    assert_eq!(stopped.status(), StatusCode::OK);
    let again = app.post_stream(&path, &s.access_token, &say("now?")).await;
    assert_eq!(again.status(), StatusCode::OK);
}

#[tokio::test]
async fn answers_per_minute_are_limited_with_a_retry_after() {
    let (app, _upstream) =
        spawn_app_with_upstream("vllm", &[("RATE_LIMIT_MESSAGES_PER_MINUTE", "3")]).await;
    let (_, s) = app.with_user().await;
    let chat = new_chat(&app, &s.access_token).await;
    for i in 0..3 {
        let events = app
            .chat(&s.access_token, &chat, &say(&format!("q{i}")))
            .await;
        assert_eq!(events.last().map(|e| e.event.as_str()), Some("done"));
    }
    let before = stored_messages(&app).await;
    let path = format!("/api/chats/{chat}/messages");
    let refused = app
        .post_stream(&path, &s.access_token, &say("one more"))
        .await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait = integration_tests::retry_after(&refused);
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(json(refused).await["error"]["code"], "rate_limited");
    // Regenerating counts as well, and nothing is saved for a refusal.
    let messages = app.messages(&s.access_token, &chat).await;
    let answer = messages.last().expect("an answer")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let regenerate = app
        .post_stream(
            &format!("/api/chats/{chat}/messages/{answer}/regenerate"),
            &s.access_token,
            &body!({}),
        )
        .await;
    assert_eq!(regenerate.status(), StatusCode::TOO_MANY_REQUESTS);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(stored_messages(&app).await, before);
}
