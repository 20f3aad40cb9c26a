//! Sending a message streams the answer over SSE; the answer, its parameters, usage and speed
//! are saved, with the history the model saw; input is checked first; a repeated submission
//! is one answer; finished answers reach the chat log. (An answer cut short: `interrupted.rs`;
//! a failing model: `upstream.rs`.)

use std::time::{Duration, Instant};

use integration_tests::{
    MessageId, expect_field_error, fake_upstream::Behaviour, say, spawn_app_with_upstream,
    spawn_chat,
};
use serde_json::{Value, json as body};

#[tokio::test]
async fn an_answer_streams_in_order_and_is_saved_with_usage_and_speed() {
    let (_, upstream, ada, chat) = spawn_chat(&[]).await;
    let events = ada
        .send(&chat, "Tell me about Rust ownership")
        .await
        .until_done()
        .await;

    let names = events.names();
    assert_eq!(names.first(), Some(&"user_message"));
    assert_eq!(names.get(1), Some(&"assistant_message"));
    assert_eq!(names.last(), Some(&"done"));
    assert!(
        names.iter().filter(|n| **n == "delta").count() >= 1,
        "{names:?}"
    );

    let user = events.question();
    assert_eq!(user["content"], "Tell me about Rust ownership");
    assert_eq!(user["role"], "user");
    let placeholder = events.placeholder();
    assert_eq!(placeholder["status"], "streaming");
    assert_eq!(placeholder["parent_id"], user.id);
    let done = events.done();
    assert_eq!(done.id, placeholder.id);
    assert_eq!(done["status"], "complete");
    assert_eq!(done["finish_reason"], "stop");
    assert_eq!(done["model"], "confab-demo");

    // What streamed is exactly what the upstream says for that request.
    let streamed = events.text();
    assert_eq!(done["content"], streamed.as_str());
    let sent = upstream.last_request().expect("a request was made");
    assert_eq!(sent["stream"], true);
    assert_eq!(sent["stream_options"]["include_usage"], true);
    assert_eq!(
        sent["messages"][0],
        body!({ "role": "user", "content": "Tell me about Rust ownership" })
    );
    let mut direct = sent.clone();
    direct["stream"] = body!(false);
    let reply: Value = reqwest::Client::new()
        .post(format!("{}/chat/completions", upstream.base_url()))
        .json(&direct)
        .send()
        .await
        .expect("direct call")
        .json()
        .await
        .expect("json");
    assert_eq!(reply["choices"][0]["message"]["content"], streamed.as_str());

    assert_eq!(done["usage"]["estimated"], false);
    assert_eq!(
        done["usage"]["completion_tokens"],
        reply["usage"]["completion_tokens"]
    );
    assert_eq!(
        done["usage"]["prompt_tokens"],
        reply["usage"]["prompt_tokens"]
    );
    assert!(done["ttft_ms"].as_i64().is_some_and(|t| t >= 0));
    assert!(
        done["duration_ms"]
            .as_i64()
            .is_some_and(|d| d >= done["ttft_ms"].as_i64().unwrap_or(0))
    );
    assert!(
        done["tokens_per_second"].as_f64().is_some_and(|t| t > 0.0),
        "{done}"
    );

    // Saved: a reload finds both messages, the chat remembers the branch and got a title.
    let saved = ada.messages(&chat).await;
    assert_eq!(saved.len(), 2);
    assert_eq!(saved[1]["content"], streamed.as_str());
    assert_eq!(saved[1]["status"], "complete");
    let chat_now = ada.chat(&chat).await;
    assert_eq!(chat_now["current_message_id"], done.id);
    assert_eq!(chat_now["title"], "Tell me about Rust ownership");
}

#[tokio::test]
async fn history_is_the_branch_from_the_root_with_the_system_prompt_first() {
    let (app, upstream) =
        spawn_app_with_upstream("vllm", &[("MAX_CONVERSATION_HISTORY", "3")]).await;
    let ada = app.signed_in().await;
    let chat = ada
        .create_chat(body!({ "parameters": { "system_prompt": "Be brief." } }))
        .await;
    for text in ["one", "two", "three"] {
        ada.send(&chat, text).await.until_done().await;
    }
    let request = upstream.last_request().expect("request");
    let messages = request["messages"].as_array().expect("messages");
    assert_eq!(
        messages[0],
        body!({ "role": "system", "content": "Be brief." })
    );
    // 5 earlier turns + the new one, trimmed to the last 3 (the system prompt is extra).
    let turns: Vec<(&str, &str)> = messages[1..]
        .iter()
        .map(|m| {
            (
                m["role"].as_str().unwrap_or(""),
                m["content"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(turns.len(), 3, "{turns:?}");
    assert_eq!(turns[0].0, "user");
    assert_eq!(turns[0].1, "two");
    assert_eq!(turns[1].0, "assistant");
    assert_eq!(turns[2], ("user", "three"));
}

#[tokio::test]
async fn a_message_is_validated_before_anything_is_saved_or_sent() {
    let (_, upstream, ada, chat) = spawn_chat(&[("MAX_MESSAGE_LENGTH", "20")]).await;
    let cases = [
        (say(""), "content"),
        (say("   "), "content"),
        (say(&"x".repeat(21)), "content"),
        (
            body!({ "content": "hi", "parent_id": "0123456789abcdef01234567" }),
            "parent_id",
        ),
        (body!({ "content": "hi", "parent_id": "nope" }), "parent_id"),
        (
            body!({ "content": "hi", "client_request_id": "" }),
            "client_request_id",
        ),
        (body!({ "content": 42 }), "content"),
        (body!({}), "content"),
    ];
    for (payload, field) in cases {
        let response = ada.try_send(&chat, &payload).await;
        expect_field_error(response, field, &payload.to_string()).await;
    }
    assert_eq!(ada.messages(&chat).await.len(), 0);
    assert_eq!(upstream.request_count(), 0);
    let ok = ada.send(&chat, "x".repeat(20)).await.until_done().await;
    assert!(ok.find("done").is_some());
}

#[tokio::test]
async fn the_same_client_request_id_creates_one_message_and_one_generation() {
    let (_, upstream, ada, chat) = spawn_chat(&[]).await;
    upstream.set_behaviour(Behaviour {
        chunk_delay_ms: 10,
        ..Behaviour::default()
    });
    let payload = body!({ "content": "only once", "client_request_id": "req-123" });
    let submit = || async { ada.send(&chat, &payload).await.until_done().await };
    let (a, b) = tokio::join!(submit(), submit());
    let c = submit().await;
    let ids: Vec<MessageId> = [&a, &b, &c].iter().map(|events| events.done().id).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert_eq!(a.text(), c.text(), "a late attach replays the whole answer");
    assert_eq!(ada.messages(&chat).await.len(), 2);
    assert_eq!(upstream.request_count(), 1);
}

#[tokio::test]
async fn finished_answers_are_written_to_the_chat_log() {
    let path = std::env::temp_dir().join(format!("confab-chat-log-{}.jsonl", uuid::Uuid::new_v4()));
    let path_str = path.to_string_lossy().into_owned();
    let (_, _upstream, ada, chat) = spawn_chat(&[("CHAT_LOG", &path_str)]).await;
    let done = ada
        .send(
            &chat,
            body!({ "content": "log me", "parameters": { "temperature": 0.5 } }),
        )
        .await
        .done()
        .await;
    let deadline = Instant::now() + Duration::from_secs(5);
    let line = loop {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if let Some(line) = text.lines().next() {
            break serde_json::from_str::<Value>(line).expect("a JSON line");
        }
        assert!(Instant::now() < deadline, "nothing was logged");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let _ = std::fs::remove_file(&path);
    assert_eq!(line["chat_id"], chat.id);
    assert_eq!(line["user_id"], ada.user_id());
    assert_eq!(line["model"], "confab-demo");
    assert_eq!(line["parameters"]["temperature"], 0.5);
    assert_eq!(line["messages"][0]["content"], "log me");
    assert_eq!(line["response"], done["content"]);
    assert!(line["timestamp"].is_string());
}
