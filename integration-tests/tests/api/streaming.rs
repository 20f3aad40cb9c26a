//! Sending a message streams the answer over SSE; the answer, its parameters, usage and speed
//! are saved; stop, disconnect, failures, retries and idempotent submission behave.

use std::time::{Duration, Instant};

use integration_tests::{
    SseReader, deltas, expect_field_error, fake_upstream::Behaviour, find, json, say,
    spawn_app_with_upstream,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json as body};

async fn new_chat(app: &integration_tests::TestApp, token: &str) -> String {
    app.create_chat(token, &body!({})).await["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

#[tokio::test]
async fn an_answer_streams_in_order_and_is_saved_with_usage_and_speed() {
    let (app, upstream) = spawn_app_with_upstream("vllm", &[]).await;
    let (_, s) = app.with_user().await;
    let chat = new_chat(&app, &s.access_token).await;
    let events = app
        .chat(&s.access_token, &chat, &say("Tell me about Rust ownership"))
        .await;

    let names: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(names.first(), Some(&"user_message"));
    assert_eq!(names.get(1), Some(&"assistant_message"));
    assert_eq!(names.last(), Some(&"done"));
    assert!(
        names.iter().filter(|n| **n == "delta").count() >= 1,
        "{names:?}"
    );

    let user = find(&events, "user_message").expect("user_message");
    assert_eq!(user["content"], "Tell me about Rust ownership");
    assert_eq!(user["role"], "user");
    let placeholder = find(&events, "assistant_message").expect("assistant_message");
    assert_eq!(placeholder["status"], "streaming");
    assert_eq!(placeholder["parent_id"], user["id"]);
    let done = find(&events, "done").expect("done");
    assert_eq!(done["id"], placeholder["id"]);
    assert_eq!(done["status"], "complete");
    assert_eq!(done["finish_reason"], "stop");
    assert_eq!(done["model"], "confab-demo");

    // What streamed is exactly what the upstream says for that request.
    let streamed = deltas(&events);
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
    let saved = app.messages(&s.access_token, &chat).await;
    assert_eq!(saved.len(), 2);
    assert_eq!(saved[1]["content"], streamed.as_str());
    assert_eq!(saved[1]["status"], "complete");
    let chat_now = json(
        app.get(&format!("/api/chats/{chat}"), Some(&s.access_token))
            .await,
    )
    .await;
    assert_eq!(chat_now["current_message_id"], done["id"]);
    assert_eq!(chat_now["title"], "Tell me about Rust ownership");
}

#[tokio::test]
async fn history_is_the_branch_from_the_root_with_the_system_prompt_first() {
    let (app, upstream) =
        spawn_app_with_upstream("vllm", &[("MAX_CONVERSATION_HISTORY", "3")]).await;
    let (_, s) = app.with_user().await;
    let chat = app
        .create_chat(
            &s.access_token,
            &body!({ "parameters": { "system_prompt": "Be brief." } }),
        )
        .await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    for text in ["one", "two", "three"] {
        app.chat(&s.access_token, &chat, &say(text)).await;
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
    let (app, upstream) = spawn_app_with_upstream("vllm", &[("MAX_MESSAGE_LENGTH", "20")]).await;
    let (_, s) = app.with_user().await;
    let chat = new_chat(&app, &s.access_token).await;
    let path = format!("/api/chats/{chat}/messages");
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
        let response = app.post_stream(&path, &s.access_token, &payload).await;
        expect_field_error(response, field, &payload.to_string()).await;
    }
    assert_eq!(app.messages(&s.access_token, &chat).await.len(), 0);
    assert_eq!(upstream.request_count(), 0);
    let ok = app
        .chat(&s.access_token, &chat, &say(&"x".repeat(20)))
        .await;
    assert!(find(&ok, "done").is_some());
}

#[tokio::test]
async fn stop_cancels_the_upstream_and_saves_the_partial_text() {
    let (app, upstream) = spawn_app_with_upstream("vllm", &[]).await;
    upstream.set_behaviour(Behaviour {
        chunk_delay_ms: 40,
        reply_tokens: Some(500),
        ..Behaviour::default()
    });
    let (_, s) = app.with_user().await;
    let chat = new_chat(&app, &s.access_token).await;
    let response = app
        .post_stream(
            &format!("/api/chats/{chat}/messages"),
            &s.access_token,
            &say("long story please"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut reader = SseReader::new(response);
    let (answer_id, seen) = reader.read_answer_until(5).await;
    let stopped = app
        .send(
            Method::POST,
            &format!("/api/chats/{chat}/messages/{answer_id}/stop"),
            &s.access_token,
            None,
        )
        .await;
    assert_eq!(stopped.status(), StatusCode::OK);
    let stopped = json(stopped).await;
    assert_eq!(stopped["status"], "stopped");
    let partial = stopped["content"].as_str().expect("content").to_owned();
    assert!(
        partial.starts_with(&seen),
        "saved text keeps what was shown"
    );
    assert!(
        partial.split_whitespace().count() < 400,
        "stopped well before the end"
    );

    // The stream ends with the stopped answer.
    let rest = reader.collect().await;
    let done = find(&rest, "done").expect("done after stop");
    assert_eq!(done["status"], "stopped");
    assert_eq!(done["content"], partial.as_str());

    // It stays stopped: the text does not grow back after a while.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let saved = app.messages(&s.access_token, &chat).await;
    assert_eq!(saved[1]["status"], "stopped");
    assert_eq!(saved[1]["content"], partial.as_str());
}

#[tokio::test]
async fn a_disconnected_client_finds_the_finished_answer_on_reload() {
    let (app, upstream) = spawn_app_with_upstream("vllm", &[]).await;
    upstream.set_behaviour(Behaviour {
        chunk_delay_ms: 20,
        reply_tokens: Some(30),
        ..Behaviour::default()
    });
    let (_, s) = app.with_user().await;
    let chat = new_chat(&app, &s.access_token).await;
    let response = app
        .post_stream(
            &format!("/api/chats/{chat}/messages"),
            &s.access_token,
            &say("hello?"),
        )
        .await;
    let mut reader = SseReader::new(response);
    reader.read_answer_until(1).await;
    drop(reader); // the tab closes mid-answer

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let saved = app.messages(&s.access_token, &chat).await;
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
    let (app, upstream) = spawn_app_with_upstream("vllm", &[]).await;
    upstream.set_behaviour(Behaviour {
        chunk_delay_ms: 50,
        reply_tokens: Some(80),
        ..Behaviour::default()
    });
    let (_, s) = app.with_user().await;
    let chat = new_chat(&app, &s.access_token).await;
    let response = app
        .post_stream(
            &format!("/api/chats/{chat}/messages"),
            &s.access_token,
            &say("go"),
        )
        .await;
    let mut reader = SseReader::new(response);
    let (answer_id, _) = reader.read_answer_until(0).await;
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let stored = app
        .db()
        .await
        .collection::<mongodb::bson::Document>("messages")
        .find_one(mongodb::bson::doc! { "_id": mongodb::bson::oid::ObjectId::parse_str(&answer_id).expect("oid") })
        .await
        .expect("query")
        .expect("stored");
    assert_eq!(stored.get_str("status").expect("status"), "streaming");
    assert!(
        !stored.get_str("content").expect("content").is_empty(),
        "partial text is saved while streaming"
    );
    drop(reader);
}

#[tokio::test]
async fn an_upstream_failure_before_the_first_token_is_an_error_event_and_saved() {
    let (app, upstream) = spawn_app_with_upstream("vllm", &[("UPSTREAM_MAX_RETRIES", "1")]).await;
    upstream.set_behaviour(Behaviour {
        fail_status: Some(500),
        ..Behaviour::default()
    });
    let (_, s) = app.with_user().await;
    let chat = new_chat(&app, &s.access_token).await;
    let events = app.chat(&s.access_token, &chat, &say("hello")).await;
    let error = find(&events, "error").expect("an error event");
    assert_eq!(error["code"], "upstream_error");
    assert_eq!(error["assistant_message"]["status"], "error");
    assert!(find(&events, "done").is_none());
    assert_eq!(upstream.request_count(), 2, "one retry for a 5xx");
    let saved = app.messages(&s.access_token, &chat).await;
    assert_eq!(saved[0]["content"], "hello", "the user's message is kept");
    assert_eq!(saved[1]["status"], "error");
    assert_eq!(saved[1]["error"]["code"], "upstream_error");
}

#[tokio::test]
async fn a_stream_broken_mid_answer_keeps_its_partial_text() {
    let (app, upstream) = spawn_app_with_upstream("vllm", &[]).await;
    upstream.set_behaviour(Behaviour {
        break_after_chunks: Some(4),
        ..Behaviour::default()
    });
    let (_, s) = app.with_user().await;
    let chat = new_chat(&app, &s.access_token).await;
    let events = app.chat(&s.access_token, &chat, &say("hello")).await;
    let error = find(&events, "error").expect("an error event");
    assert_eq!(error["code"], "upstream_interrupted");
    let shown = deltas(&events);
    assert_eq!(shown.split_whitespace().count(), 4);
    assert_eq!(error["assistant_message"]["content"], shown.as_str());
    assert_eq!(
        upstream.request_count(),
        1,
        "nothing is retried after tokens were sent"
    );
    let saved = app.messages(&s.access_token, &chat).await;
    assert_eq!(saved[1]["status"], "error");
    assert_eq!(saved[1]["content"], shown.as_str());
}

#[tokio::test]
async fn rate_limits_and_server_errors_before_the_first_token_are_retried() {
    let (app, upstream) = spawn_app_with_upstream("vllm", &[]).await;
    let (_, s) = app.with_user().await;
    let chat = new_chat(&app, &s.access_token).await;

    upstream.set_behaviour(Behaviour {
        fail_status: Some(503),
        fail_times: Some(2),
        ..Behaviour::default()
    });
    let events = app.chat(&s.access_token, &chat, &say("first")).await;
    assert!(find(&events, "done").is_some(), "{events:?}");
    assert_eq!(upstream.request_count(), 3);

    upstream.clear();
    upstream.set_behaviour(Behaviour {
        fail_status: Some(429),
        fail_times: Some(1),
        retry_after_secs: Some(1),
        ..Behaviour::default()
    });
    let started = Instant::now();
    let events = app.chat(&s.access_token, &chat, &say("second")).await;
    assert!(find(&events, "done").is_some(), "{events:?}");
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "Retry-After was honoured"
    );
    assert_eq!(upstream.request_count(), 2);
}

#[tokio::test]
async fn a_retry_after_beyond_the_bound_is_not_waited_for() {
    let (app, upstream) =
        spawn_app_with_upstream("vllm", &[("UPSTREAM_MAX_RETRY_WAIT_MS", "500")]).await;
    upstream.set_behaviour(Behaviour {
        fail_status: Some(429),
        retry_after_secs: Some(30),
        ..Behaviour::default()
    });
    let (_, s) = app.with_user().await;
    let chat = new_chat(&app, &s.access_token).await;
    let started = Instant::now();
    let events = app.chat(&s.access_token, &chat, &say("hello")).await;
    assert!(started.elapsed() < Duration::from_secs(10));
    let error = find(&events, "error").expect("error");
    assert_eq!(error["code"], "upstream_rate_limited");
    assert_eq!(upstream.request_count(), 1);
}

#[tokio::test]
async fn a_slow_first_token_times_out() {
    let (app, upstream) =
        spawn_app_with_upstream("vllm", &[("UPSTREAM_FIRST_TOKEN_TIMEOUT_MS", "300")]).await;
    upstream.set_behaviour(Behaviour {
        initial_delay_ms: 3000,
        ..Behaviour::default()
    });
    let (_, s) = app.with_user().await;
    let chat = new_chat(&app, &s.access_token).await;
    let events = app.chat(&s.access_token, &chat, &say("hello")).await;
    assert_eq!(
        find(&events, "error").expect("error")["code"],
        "upstream_timeout"
    );
}

#[tokio::test]
async fn usage_is_estimated_and_marked_when_the_upstream_reports_none() {
    let (app, upstream) = spawn_app_with_upstream("vllm", &[]).await;
    upstream.set_behaviour(Behaviour {
        omit_usage: true,
        ..Behaviour::default()
    });
    let (_, s) = app.with_user().await;
    let chat = new_chat(&app, &s.access_token).await;
    let events = app.chat(&s.access_token, &chat, &say("hello there")).await;
    let done = find(&events, "done").expect("done");
    assert_eq!(done["usage"]["estimated"], true);
    assert!(
        done["usage"]["completion_tokens"]
            .as_u64()
            .is_some_and(|n| n > 0)
    );
    assert!(
        done["usage"]["prompt_tokens"]
            .as_u64()
            .is_some_and(|n| n > 0)
    );
}

#[tokio::test]
async fn the_same_client_request_id_creates_one_message_and_one_generation() {
    let (app, upstream) = spawn_app_with_upstream("vllm", &[]).await;
    upstream.set_behaviour(Behaviour {
        chunk_delay_ms: 10,
        ..Behaviour::default()
    });
    let (_, s) = app.with_user().await;
    let chat = new_chat(&app, &s.access_token).await;
    let payload = body!({ "content": "only once", "client_request_id": "req-123" });
    let (a, b) = tokio::join!(
        app.chat(&s.access_token, &chat, &payload),
        app.chat(&s.access_token, &chat, &payload),
    );
    let c = app.chat(&s.access_token, &chat, &payload).await;
    let ids: Vec<&Value> = [&a, &b, &c]
        .iter()
        .map(|events| &find(events, "done").expect("done")["id"])
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert_eq!(
        deltas(&a),
        deltas(&c),
        "a late attach replays the whole answer"
    );
    assert_eq!(app.messages(&s.access_token, &chat).await.len(), 2);
    assert_eq!(upstream.request_count(), 1);
}

#[tokio::test]
async fn deleting_a_chat_mid_generation_stops_it_and_removes_everything() {
    let (app, upstream) = spawn_app_with_upstream("vllm", &[]).await;
    upstream.set_behaviour(Behaviour {
        chunk_delay_ms: 30,
        reply_tokens: Some(300),
        ..Behaviour::default()
    });
    let (_, s) = app.with_user().await;
    let chat = new_chat(&app, &s.access_token).await;
    let response = app
        .post_stream(
            &format!("/api/chats/{chat}/messages"),
            &s.access_token,
            &say("go on"),
        )
        .await;
    let mut reader = SseReader::new(response);
    reader.read_answer_until(1).await;
    let deleted = app
        .send(
            Method::DELETE,
            &format!("/api/chats/{chat}"),
            &s.access_token,
            None,
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let rest = reader.collect().await;
    assert_eq!(
        find(&rest, "done").map(|d| d["status"].clone()),
        Some(body!("stopped"))
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let left = app
        .db()
        .await
        .collection::<mongodb::bson::Document>("messages")
        .count_documents(mongodb::bson::doc! {})
        .await
        .expect("count");
    assert_eq!(left, 0, "no message survives its chat");
    let gone = app
        .get(&format!("/api/chats/{chat}"), Some(&s.access_token))
        .await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn finished_answers_are_written_to_the_chat_log() {
    let path = std::env::temp_dir().join(format!("confab-chat-log-{}.jsonl", uuid::Uuid::new_v4()));
    let path_str = path.to_string_lossy().into_owned();
    let (app, _upstream) = spawn_app_with_upstream("vllm", &[("CHAT_LOG", &path_str)]).await;
    let (_, s) = app.with_user().await;
    let chat = new_chat(&app, &s.access_token).await;
    let events = app
        .chat(
            &s.access_token,
            &chat,
            &body!({ "content": "log me", "parameters": { "temperature": 0.5 } }),
        )
        .await;
    let done = find(&events, "done").expect("done");
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
    assert_eq!(line["chat_id"], chat.as_str());
    assert_eq!(line["user_id"], s.user["id"]);
    assert_eq!(line["model"], "confab-demo");
    assert_eq!(line["parameters"]["temperature"], 0.5);
    assert_eq!(line["messages"][0]["content"], "log me");
    assert_eq!(line["response"], done["content"]);
    assert!(line["timestamp"].is_string());
}

#[tokio::test]
async fn without_an_upstream_sending_is_a_clear_503() {
    let app = integration_tests::spawn_app().await;
    let (_, s) = app.with_user().await;
    let chat = new_chat(&app, &s.access_token).await;
    let response = app
        .post_stream(
            &format!("/api/chats/{chat}/messages"),
            &s.access_token,
            &say("anyone?"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(json(response).await["error"]["code"], "no_upstream");
}

#[tokio::test]
async fn shutting_down_stops_generations_and_saves_their_text() {
    let (app, upstream) = spawn_app_with_upstream("vllm", &[]).await;
    upstream.set_behaviour(Behaviour {
        chunk_delay_ms: 40,
        reply_tokens: Some(500),
        ..Behaviour::default()
    });
    let (_, s) = app.with_user().await;
    let chat = new_chat(&app, &s.access_token).await;
    let response = app
        .post_stream(
            &format!("/api/chats/{chat}/messages"),
            &s.access_token,
            &say("tell me everything"),
        )
        .await;
    let mut reader = SseReader::new(response);
    let (answer_id, shown) = reader.read_answer_until(3).await;
    let db = app.db().await;
    tokio::time::timeout(Duration::from_secs(15), app.stop())
        .await
        .expect("shutdown does not hang on an open stream")
        .expect("clean shutdown");
    let rest = reader.collect().await;
    let done = find(&rest, "done").expect("the stream ends with the stopped answer");
    assert_eq!(done["status"], "stopped");
    let stored = db
        .collection::<mongodb::bson::Document>("messages")
        .find_one(mongodb::bson::doc! { "_id": mongodb::bson::oid::ObjectId::parse_str(&answer_id).expect("oid") })
        .await
        .expect("query")
        .expect("stored");
    assert_eq!(stored.get_str("status").expect("status"), "stopped");
    assert!(
        stored
            .get_str("content")
            .expect("content")
            .starts_with(&shown)
    );
}

#[tokio::test]
async fn an_unreachable_upstream_is_explained_without_its_address_or_os_error() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("address").port();
    drop(closed);
    let url = format!("http://127.0.0.1:{port}/v1");
    let app = integration_tests::spawn_app_with(&[
        ("OPENAI_API_BASE_URL", url.as_str()),
        ("UPSTREAM_KIND", "vllm"),
        ("AVAILABLE_MODELS", "confab-demo"),
        ("UPSTREAM_MAX_RETRIES", "0"),
    ])
    .await;
    let (_, s) = app.with_user().await;
    let chat = new_chat(&app, &s.access_token).await;
    let events = app.chat(&s.access_token, &chat, &say("hello")).await;
    let error = find(&events, "error").expect("an error event");
    assert_eq!(error["code"], "upstream_unreachable");
    let saved = app.messages(&s.access_token, &chat).await;
    for (what, text) in [
        ("streamed", error["message"].as_str().unwrap_or_default()),
        (
            "saved",
            saved[1]["error"]["message"].as_str().unwrap_or_default(),
        ),
    ] {
        assert_eq!(text, "could not reach the model's server", "{what}");
        for secret in [
            port.to_string().as_str(),
            "127.0.0.1",
            "os error",
            "refused",
        ] {
            assert!(
                !text.contains(secret),
                "{what} message leaks `{secret}`: {text}"
            );
        }
    }
}
