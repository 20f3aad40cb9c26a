//! Streamed (SSE) completions over real HTTP.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{
    Behaviour, FakeUpstream,
    tests::{chat, complete, content, post, with},
};

/// The `data:` payloads of an SSE body, split on blank lines (`[DONE]` kept as a string).
fn events(body: &str) -> Vec<Value> {
    body.split("\n\n")
        .filter(|event| !event.trim().is_empty())
        .map(|event| {
            let data = event.strip_prefix("data: ").expect("a data event");
            serde_json::from_str(data).unwrap_or_else(|_| Value::String(data.to_owned()))
        })
        .collect()
}

fn streamed(body: Value, include_usage: bool) -> Value {
    with(
        body,
        json!({ "stream": true, "stream_options": { "include_usage": include_usage } }),
    )
}

/// The events of a complete streamed response.
async fn stream(upstream: &FakeUpstream, body: &Value) -> Vec<Value> {
    let response = post(upstream, body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    events(&response.text().await.expect("SSE body"))
}

fn contents(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| e["choices"][0]["delta"]["content"].as_str())
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect()
}

fn finish_reason(events: &[Value]) -> Option<String> {
    events
        .iter()
        .find_map(|e| e["choices"][0]["finish_reason"].as_str())
        .map(str::to_owned)
}

#[tokio::test]
async fn fake_upstream_stream_assembles_to_the_non_streamed_reply() {
    let upstream = FakeUpstream::start().await;
    let body = with(
        chat("What is **Rust** used for?"),
        json!({ "seed": 42, "top_p": 0.9 }),
    );
    let expected = content(&complete(&upstream, &body).await);
    let events = stream(&upstream, &streamed(body, false)).await;
    let first = &events[0];
    assert_eq!(first["object"], "chat.completion.chunk");
    assert_eq!(
        first["choices"][0]["delta"],
        json!({ "role": "assistant", "content": "" })
    );
    assert!(first["choices"][0]["finish_reason"].is_null());
    let tokens = contents(&events);
    assert_eq!(tokens.len(), 24);
    assert_eq!(tokens[1], " reply");
    assert_eq!(tokens.concat(), expected);
    let id = &first["id"];
    assert!(
        events[..events.len() - 1]
            .iter()
            .all(|e| &e["id"] == id && e["model"] == "confab-demo")
    );
    let finish = &events[events.len() - 2];
    assert_eq!(finish["choices"][0]["delta"], json!({}));
    assert_eq!(finish["choices"][0]["finish_reason"], "stop");
    assert_eq!(events.last(), Some(&json!("[DONE]")));
    assert_eq!(events.len(), 1 + 24 + 1 + 1);
}

#[tokio::test]
async fn fake_upstream_stream_honours_max_tokens_and_stop() {
    let upstream = FakeUpstream::start().await;
    let capped = stream(
        &upstream,
        &streamed(with(chat("a b c d e"), json!({ "max_tokens": 6 })), false),
    )
    .await;
    assert_eq!(contents(&capped).len(), 6);
    assert_eq!(finish_reason(&capped).as_deref(), Some("length"));
    let stop = json!({ "stop": [" c", "never"], "max_completion_tokens": 50 });
    let stopped = stream(&upstream, &streamed(with(chat("a b c d e"), stop), true)).await;
    let text = contents(&stopped).concat();
    assert_eq!(text, "Demo reply to: a b");
    assert!(!stopped.iter().any(|e| e.to_string().contains(" c\"")));
    assert_eq!(finish_reason(&stopped).as_deref(), Some("stop"));
    let usage = &stopped[stopped.len() - 2];
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(usage["usage"]["completion_tokens"], 5);
}

#[tokio::test]
async fn fake_upstream_stream_usage_only_when_asked() {
    let upstream = FakeUpstream::start().await;
    let with_usage = stream(&upstream, &streamed(chat("one two three"), true)).await;
    let usage: Vec<&Value> = with_usage
        .iter()
        .filter(|e| e.get("usage").is_some())
        .collect();
    assert_eq!(usage.len(), 1);
    assert_eq!(usage[0]["choices"], json!([]));
    assert_eq!(
        usage[0]["usage"],
        json!({ "prompt_tokens": 6, "completion_tokens": 24, "total_tokens": 30 })
    );
    assert_eq!(with_usage[with_usage.len() - 2], *usage[0]);
    let without = stream(&upstream, &streamed(chat("one two three"), false)).await;
    assert!(without.iter().all(|e| e.get("usage").is_none()));
    let plain = stream(
        &upstream,
        &with(chat("one two three"), json!({ "stream": true })),
    )
    .await;
    assert!(plain.iter().all(|e| e.get("usage").is_none()));
    upstream.set_behaviour(Behaviour {
        omit_usage: true,
        ..Behaviour::default()
    });
    let omitted = stream(&upstream, &streamed(chat("one two three"), true)).await;
    assert!(omitted.iter().all(|e| e.get("usage").is_none()));
    assert_eq!(omitted.last(), Some(&json!("[DONE]")));
}

#[tokio::test]
async fn fake_upstream_break_after_chunks_cuts_the_stream() {
    let upstream = FakeUpstream::start().await;
    upstream.set_behaviour(Behaviour {
        break_after_chunks: Some(3),
        ..Behaviour::default()
    });
    let mut response = post(&upstream, &streamed(chat("hello"), true)).await;
    assert_eq!(response.status(), 200);
    let mut received = Vec::new();
    let cut = loop {
        match response.chunk().await {
            Ok(Some(bytes)) => received.extend_from_slice(&bytes),
            Ok(None) => break false,
            Err(_) => break true,
        }
    };
    assert!(cut, "the stream must end with an error, not cleanly");
    let body = String::from_utf8(received).expect("UTF-8");
    assert!(!body.contains("[DONE]"));
    let events = events(&body);
    assert_eq!(contents(&events), ["Demo", " reply", " to:"]);
    assert_eq!(finish_reason(&events), None);
    assert_eq!(upstream.request_count(), 1);
}

#[tokio::test]
async fn fake_upstream_stream_delays() {
    let upstream = FakeUpstream::start().await;
    upstream.set_behaviour(Behaviour {
        initial_delay_ms: 100,
        chunk_delay_ms: 20,
        ..Behaviour::default()
    });
    let body = streamed(with(chat("hi"), json!({ "max_tokens": 6 })), false);
    let started = Instant::now();
    let mut response = post(&upstream, &body).await;
    assert!(started.elapsed() >= Duration::from_millis(100));
    let first = response.chunk().await.expect("first chunk");
    assert!(first.is_some());
    while response.chunk().await.expect("chunk").is_some() {}
    assert!(started.elapsed() >= Duration::from_millis(100 + 5 * 20));
}
