//! No one user can exhaust the service: answers at once and answers per minute are limited,
//! a refused request saves nothing, and other users are unaffected.

use std::time::Duration;

use integration_tests::{Answer, TestApp, fake_upstream::Behaviour, json, spawn_chat};
use mongodb::bson::{Document, doc};
use reqwest::StatusCode;

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
    let (app, upstream, ada, chat) = spawn_chat(&[]).await;
    upstream.set_behaviour(Behaviour {
        chunk_delay_ms: 50,
        reply_tokens: Some(200),
        ..Behaviour::default()
    });
    // Ten at once against the default limit of three.
    let sends = (0..10).map(|i| ada.try_send(&chat, format!("q{i}")));
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
    let other = app.signed_in().await;
    let other_chat = other.new_chat().await;
    let response = other.try_send(&other_chat, "me too").await;
    assert_eq!(response.status(), StatusCode::OK);

    // Stopping one makes room for one.
    let mut first = Answer::from_response(accepted.into_iter().next().expect("one")).await;
    let answer = first.started().await;
    ada.stop(&chat, &answer).await;
    let again = ada.try_send(&chat, "now?").await;
    assert_eq!(again.status(), StatusCode::OK);
}

#[tokio::test]
async fn answers_per_minute_are_limited_with_a_retry_after() {
    let (app, _upstream, ada, chat) = spawn_chat(&[("RATE_LIMIT_MESSAGES_PER_MINUTE", "3")]).await;
    for i in 0..3 {
        let events = ada.send(&chat, format!("q{i}")).await.until_done().await;
        assert_eq!(events.last().map(|e| e.event.as_str()), Some("done"));
    }
    let before = stored_messages(&app).await;
    let refused = ada.try_send(&chat, "one more").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait = integration_tests::retry_after(&refused);
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(json(refused).await["error"]["code"], "rate_limited");
    // Regenerating counts as well, and nothing is saved for a refusal.
    let messages = ada.messages(&chat).await;
    let answer = messages.last().expect("an answer");
    let regenerate = ada.try_regenerate(&chat, answer, None).await;
    assert_eq!(regenerate.status(), StatusCode::TOO_MANY_REQUESTS);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(stored_messages(&app).await, before);
}
