//! Continuing an answer that ended early (stopped, cut at `max_tokens`, interrupted): the same
//! message grows, the upstream is asked to go on from its text (assistant prefill: vLLM's
//! `continue_final_message`, llama.cpp's final assistant message), usage adds up, and each
//! continuation is recorded.

use std::time::Duration;

use integration_tests::{
    Chat, Message, MessageId, SignedIn, expect_field_error, fake_upstream::Behaviour, json,
    spawn_app_with_upstream, spawn_chat,
};
use mongodb::bson::{Document, doc, oid::ObjectId};
use reqwest::StatusCode;
use serde_json::{Value, json as body};

/// An answer cut at `max_tokens` (2): one that may be continued.
async fn cut_answer(user: &SignedIn, chat: &Chat) -> Message {
    let cut = user
        .send(
            chat,
            body!({ "content": "go", "parameters": { "max_tokens": 2 } }),
        )
        .await
        .done()
        .await;
    assert_eq!(cut["finish_reason"], "length");
    cut
}

fn id_of(message: &Value) -> MessageId {
    MessageId::from(message["id"].as_str().expect("id").to_owned())
}

#[tokio::test]
async fn an_answer_cut_at_max_tokens_goes_on_in_the_same_message() {
    let (_app, upstream, ada, chat) = spawn_chat(&[]).await;
    let cut = ada
        .send(
            &chat,
            body!({ "content": "tell me", "parameters": { "max_tokens": 3, "temperature": 0.4 } }),
        )
        .await
        .done()
        .await;
    assert_eq!(cut["finish_reason"], "length");
    let earlier = cut["content"].as_str().expect("text").to_owned();

    let events = ada
        .continue_answer(&chat, id_of(&cut), Some(body!({ "max_tokens": 5 })))
        .await
        .until_done()
        .await;
    // The stream starts from the text it had: its start tells it, the deltas go on after it.
    let start = events.find("assistant_message").expect("start");
    assert_eq!(start["id"], cut["id"]);
    assert_eq!(start["content"], earlier);
    let first_delta = events.find("delta").expect("a delta");
    assert_eq!(first_delta["offset"], earlier.encode_utf16().count());
    let done = events.done();
    assert_eq!(done["id"], cut["id"], "the same message");
    let text = done["content"].as_str().expect("text");
    assert!(
        text.starts_with(&earlier) && text.len() > earlier.len(),
        "{text}"
    );
    assert_eq!(text, format!("{earlier}{}", events.text()));

    // The upstream was asked to go on from the answer's text, with its own parameters and the
    // override.
    let request = upstream.last_request().expect("request");
    let sent = request["messages"].as_array().expect("messages");
    assert_eq!(
        sent.last(),
        Some(&body!({ "role": "assistant", "content": earlier }))
    );
    assert_eq!(request["continue_final_message"], true);
    assert_eq!(request["add_generation_prompt"], false);
    assert_eq!(
        (
            request["temperature"].clone(),
            request["max_tokens"].clone()
        ),
        (body!(0.4), body!(5))
    );

    // Usage adds up; the answer keeps its first run's parameters; the run is recorded.
    assert_eq!(done["usage"]["completion_tokens"], 3 + 5);
    assert_eq!(done["parameters"]["max_tokens"], 3);
    let runs = done["continuations"].as_array().expect("continuations");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["parameters"]["max_tokens"], 5);
    assert_eq!(runs[0]["usage"]["completion_tokens"], 5);
    assert_eq!(runs[0]["finish_reason"], "length");
    assert!(runs[0]["duration_ms"].is_number() && runs[0]["started_at"].is_string());

    // Stored so: still one question and one answer.
    let stored = ada.messages(&chat).await;
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[1]["content"], done["content"]);
    assert_eq!(stored[1]["continuations"].as_array().map(Vec::len), Some(1));
    assert_eq!(stored[1]["status"], "complete");

    // Cut again: continued again, a second run recorded.
    let again = ada
        .continue_answer(&chat, id_of(&cut), None)
        .await
        .done()
        .await;
    assert_eq!(again["continuations"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn a_stopped_or_interrupted_answer_can_be_continued_a_finished_one_cannot() {
    let (app, upstream, ada, chat) = spawn_chat(&[]).await;
    let finished = ada.send(&chat, "short").await.done().await;
    assert_eq!(finished["finish_reason"], "stop");
    let refused = ada.try_continue(&chat, id_of(&finished), None).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert_eq!(json(refused).await["error"]["code"], "not_continuable");
    // A question is not an answer; an unknown message is 404.
    let question = &ada.messages(&chat).await[0];
    expect_field_error(
        ada.try_continue(&chat, id_of(question), None).await,
        "message_id",
        "a question",
    )
    .await;
    let unknown = MessageId::from(ObjectId::new().to_hex());
    assert_eq!(
        ada.try_continue(&chat, unknown, None).await.status(),
        StatusCode::NOT_FOUND
    );

    // Stopped mid-answer: continued.
    upstream.set_behaviour(Behaviour {
        chunk_delay_ms: 50,
        reply_tokens: Some(200),
        ..Behaviour::default()
    });
    let mut long = ada.send(&chat, "a long one").await;
    let (answer, _) = long.read_words(3).await;
    let stopped = ada.stop(&chat, &answer).await;
    assert_eq!(stopped["status"], "stopped");
    drop(long);
    upstream.set_behaviour(Behaviour::default());
    let continued = ada.continue_answer(&chat, &answer, None).await.done().await;
    assert_eq!(continued["status"], "complete");
    assert!(
        continued["content"]
            .as_str()
            .expect("text")
            .starts_with(stopped["content"].as_str().expect("text"))
    );
    // Another user cannot (404), whatever the answer.
    let bob = app.signed_in().await;
    assert_eq!(
        bob.try_continue(&chat, &answer, None).await.status(),
        StatusCode::NOT_FOUND
    );

    // Interrupted (its process died): continued, and the interruption no longer reported.
    let messages = app.db().await.collection::<Document>("messages");
    let id = ObjectId::parse_str(answer.as_str()).expect("id");
    messages
        .update_one(
            doc! { "_id": id },
            doc! { "$set": { "status": "error", "error": { "code": "interrupted", "message": "the server stopped during generation" } } },
        )
        .await
        .expect("marked");
    let resumed = ada.continue_answer(&chat, &answer, None).await.done().await;
    assert_eq!(resumed["status"], "complete");
    assert!(resumed.get("error").is_none(), "{resumed}");
    let stored = messages
        .find_one(doc! { "_id": id })
        .await
        .expect("read")
        .expect("the answer");
    assert!(!stored.contains_key("error"), "{stored}");
}

#[tokio::test]
async fn two_continuations_at_once_one_runs_the_other_is_refused() {
    let (_app, upstream, ada, chat) = spawn_chat(&[]).await;
    let cut = cut_answer(&ada, &chat).await;
    upstream.set_behaviour(Behaviour {
        chunk_delay_ms: 30,
        reply_tokens: Some(20),
        ..Behaviour::default()
    });
    let (a, b) = tokio::join!(
        ada.try_continue(&chat, id_of(&cut), Some(body!({ "max_tokens": 20 }))),
        ada.try_continue(&chat, id_of(&cut), Some(body!({ "max_tokens": 20 }))),
    );
    let mut statuses = [a.status(), b.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT]);
    tokio::time::sleep(Duration::from_millis(50)).await;
}

#[tokio::test]
async fn llamacpp_continues_from_a_final_assistant_message_and_openai_cannot() {
    let (app, upstream) = spawn_app_with_upstream("llamacpp", &[]).await;
    let ada = app.signed_in().await;
    assert_eq!(
        ada.models().await["models"][0]["continue"],
        body!({ "supported": true })
    );
    let chat = ada.new_chat().await;
    let cut = cut_answer(&ada, &chat).await;
    ada.continue_answer(&chat, id_of(&cut), None)
        .await
        .done()
        .await;
    let request = upstream.last_request().expect("request");
    assert_eq!(
        request["messages"]
            .as_array()
            .and_then(|m| m.last())
            .map(|m| m["role"].clone()),
        Some(body!("assistant"))
    );
    assert!(
        request.get("continue_final_message").is_none(),
        "llama-server prefills by itself"
    );

    let (app, upstream) = spawn_app_with_upstream("openai", &[]).await;
    let ada = app.signed_in().await;
    let support = &ada.models().await["models"][0]["continue"];
    assert_eq!(support["supported"], false);
    assert!(
        support["reason"]
            .as_str()
            .is_some_and(|r| r.contains("prefill")),
        "{support}"
    );
    let chat = ada.new_chat().await;
    let cut = cut_answer(&ada, &chat).await;
    let before = upstream.request_count();
    expect_field_error(
        ada.try_continue(&chat, id_of(&cut), None).await,
        "parameters.model",
        "openai",
    )
    .await;
    assert_eq!(upstream.request_count(), before, "nothing sent");
    let untouched = ada.messages(&chat).await;
    assert_eq!(untouched[1]["finish_reason"], "length");
}
