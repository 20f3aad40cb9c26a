//! Non-streamed completions over real HTTP, and the helpers the other test modules share.

use serde_json::{Value, json};

use super::{Behaviour, FakeUpstream, tokenize};

pub(super) fn chat(content: &str) -> Value {
    json!({
        "model": "confab-demo",
        "messages": [
            { "role": "system", "content": "You are terse." },
            { "role": "user", "content": content },
        ],
    })
}

pub(super) fn with(mut body: Value, extra: Value) -> Value {
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    body
}

pub(super) async fn post(upstream: &FakeUpstream, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/chat/completions", upstream.base_url()))
        .json(body)
        .send()
        .await
        .expect("send chat completion")
}

/// The non-streamed completion object for `body`.
pub(super) async fn complete(upstream: &FakeUpstream, body: &Value) -> Value {
    let response = post(upstream, body).await;
    assert_eq!(response.status(), 200);
    response.json().await.expect("completion JSON")
}

pub(super) fn content(completion: &Value) -> String {
    completion["choices"][0]["message"]["content"]
        .as_str()
        .expect("content")
        .to_owned()
}

#[tokio::test]
async fn fake_upstream_replies_deterministically_with_usage() {
    let upstream = FakeUpstream::start().await;
    let body = chat("Explain the borrow checker to me in one short paragraph please");
    let first = complete(&upstream, &body).await;
    assert_eq!(first["object"], "chat.completion");
    assert_eq!(first["model"], "confab-demo");
    assert!(
        first["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("chatcmpl-"))
    );
    assert_eq!(first["choices"][0]["message"]["role"], "assistant");
    assert_eq!(first["choices"][0]["finish_reason"], "stop");
    let text = content(&first);
    assert!(
        text.starts_with("Demo reply to: Explain the borrow checker to me in one. "),
        "{text}"
    );
    assert_eq!(tokenize(&text).len(), 24);
    assert_eq!(first["usage"]["prompt_tokens"], 14);
    assert_eq!(first["usage"]["completion_tokens"], 24);
    assert_eq!(first["usage"]["total_tokens"], 38);
    assert_eq!(content(&complete(&upstream, &body).await), text);
}

#[test]
fn fake_upstream_tokens_concatenate_back_to_the_text() {
    for text in [
        "",
        "one",
        "Hello big world",
        "  lead and trail  ",
        "a\n\nb\tc",
        "**x** `y`",
    ] {
        let tokens = tokenize(text);
        assert_eq!(tokens.concat(), text);
        assert!(tokens.iter().all(|t| !t.trim().is_empty()) || text.trim().is_empty());
    }
    assert_eq!(tokenize("Hello big world"), ["Hello", " big", " world"]);
    assert_eq!(tokenize("a\n\nb "), ["a", "\n\nb "]);
}

#[tokio::test]
async fn fake_upstream_seed_selects_the_filler() {
    let upstream = FakeUpstream::start().await;
    let seeded = |seed: i64| with(chat("hello there"), json!({ "seed": seed }));
    let one = content(&complete(&upstream, &seeded(1)).await);
    assert_eq!(content(&complete(&upstream, &seeded(1)).await), one);
    let two = content(&complete(&upstream, &seeded(2)).await);
    assert_ne!(one, two);
    assert!(
        one.starts_with("Demo reply to: hello there.")
            && two.starts_with("Demo reply to: hello there.")
    );
    let negative = content(&complete(&upstream, &seeded(-7)).await);
    assert_ne!(negative, one);
}

#[tokio::test]
async fn fake_upstream_max_tokens_caps_the_reply() {
    let upstream = FakeUpstream::start().await;
    for key in ["max_tokens", "max_completion_tokens"] {
        let completion = complete(&upstream, &with(chat("count to ten"), json!({ key: 5 }))).await;
        assert_eq!(completion["choices"][0]["finish_reason"], "length");
        assert_eq!(completion["usage"]["completion_tokens"], 5);
        assert_eq!(content(&completion), "Demo reply to: count to");
    }
    let roomy = complete(&upstream, &with(chat("hi"), json!({ "max_tokens": 100 }))).await;
    assert_eq!(roomy["choices"][0]["finish_reason"], "stop");
    assert_eq!(roomy["usage"]["completion_tokens"], 24);
}

#[tokio::test]
async fn fake_upstream_stop_strings_are_never_emitted() {
    let upstream = FakeUpstream::start().await;
    let full = content(&complete(&upstream, &chat("one two three four")).await);
    assert!(full.contains(" three"));
    let stopped = complete(
        &upstream,
        &with(
            chat("one two three four"),
            json!({ "stop": [" three", "zzz"] }),
        ),
    )
    .await;
    assert_eq!(content(&stopped), "Demo reply to: one two");
    assert_eq!(stopped["choices"][0]["finish_reason"], "stop");
    assert_eq!(stopped["usage"]["completion_tokens"], 5);
    // A stop string spanning tokens, and one inside a token.
    let spanning = complete(
        &upstream,
        &with(chat("one two"), json!({ "stop": "reply to" })),
    )
    .await;
    assert_eq!(content(&spanning), "Demo ");
    let inside = complete(&upstream, &with(chat("one two"), json!({ "stop": "ply" }))).await;
    assert_eq!(content(&inside), "Demo re");
    assert_eq!(inside["usage"]["completion_tokens"], 2);
    // The cap applies first: a stop string beyond it changes nothing.
    let capped = complete(
        &upstream,
        &with(chat("one two"), json!({ "stop": "ply", "max_tokens": 1 })),
    )
    .await;
    assert_eq!(content(&capped), "Demo");
    assert_eq!(capped["choices"][0]["finish_reason"], "length");
}

#[tokio::test]
async fn fake_upstream_behaviour_reply_and_omit_usage() {
    let upstream = FakeUpstream::start().await;
    upstream.set_behaviour(Behaviour {
        reply: Some("Hi **there**,\nfriend.".to_owned()),
        omit_usage: true,
        ..Behaviour::default()
    });
    let completion = complete(&upstream, &chat("anything")).await;
    assert_eq!(content(&completion), "Hi **there**,\nfriend.");
    assert!(completion.get("usage").is_none());
    assert_eq!(
        tokenize("Hi **there**,\nfriend."),
        ["Hi", " **there**,", "\nfriend."]
    );
    upstream.set_behaviour(Behaviour {
        reply_tokens: Some(40),
        ..Behaviour::default()
    });
    let long = complete(&upstream, &chat("anything")).await;
    assert_eq!(long["usage"]["completion_tokens"], 40);
}
