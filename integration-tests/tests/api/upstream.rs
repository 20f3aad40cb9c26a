//! When the model's server fails, stalls, breaks off, omits usage or is missing: the failure
//! is an `error` event (never a hang), what was shown is kept, retries happen only before the
//! first token, and nothing of the server's address or OS errors reaches the user.

use std::time::{Duration, Instant};

use integration_tests::{fake_upstream::Behaviour, json, spawn_chat};
use reqwest::StatusCode;

#[tokio::test]
async fn an_upstream_failure_before_the_first_token_is_an_error_event_and_saved() {
    let (_, upstream, ada, chat) = spawn_chat(&[("UPSTREAM_MAX_RETRIES", "1")]).await;
    upstream.set_behaviour(Behaviour {
        fail_status: Some(500),
        ..Behaviour::default()
    });
    let events = ada.send(&chat, "hello").await.until_done().await;
    let error = events.error();
    assert_eq!(error["code"], "upstream_error");
    assert_eq!(error["assistant_message"]["status"], "error");
    assert!(events.find("done").is_none());
    assert_eq!(upstream.request_count(), 2, "one retry for a 5xx");
    let saved = ada.messages(&chat).await;
    assert_eq!(saved[0]["content"], "hello", "the user's message is kept");
    assert_eq!(saved[1]["status"], "error");
    assert_eq!(saved[1]["error"]["code"], "upstream_error");
}

#[tokio::test]
async fn a_stream_broken_mid_answer_keeps_its_partial_text() {
    let (_, upstream, ada, chat) = spawn_chat(&[]).await;
    upstream.set_behaviour(Behaviour {
        break_after_chunks: Some(4),
        ..Behaviour::default()
    });
    let events = ada.send(&chat, "hello").await.until_done().await;
    let error = events.error();
    assert_eq!(error["code"], "upstream_interrupted");
    let shown = events.text();
    assert_eq!(shown.split_whitespace().count(), 4);
    assert_eq!(error["assistant_message"]["content"], shown.as_str());
    assert_eq!(
        upstream.request_count(),
        1,
        "nothing is retried after tokens were sent"
    );
    let saved = ada.messages(&chat).await;
    assert_eq!(saved[1]["status"], "error");
    assert_eq!(saved[1]["content"], shown.as_str());
}

#[tokio::test]
async fn rate_limits_and_server_errors_before_the_first_token_are_retried() {
    let (_, upstream, ada, chat) = spawn_chat(&[]).await;

    upstream.set_behaviour(Behaviour {
        fail_status: Some(503),
        fail_times: Some(2),
        ..Behaviour::default()
    });
    let events = ada.send(&chat, "first").await.until_done().await;
    assert!(events.find("done").is_some(), "{events:?}");
    assert_eq!(upstream.request_count(), 3);

    upstream.clear();
    upstream.set_behaviour(Behaviour {
        fail_status: Some(429),
        fail_times: Some(1),
        retry_after_secs: Some(1),
        ..Behaviour::default()
    });
    let started = Instant::now();
    let events = ada.send(&chat, "second").await.until_done().await;
    assert!(events.find("done").is_some(), "{events:?}");
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "Retry-After was honoured"
    );
    assert_eq!(upstream.request_count(), 2);
}

#[tokio::test]
async fn a_retry_after_beyond_the_bound_is_not_waited_for() {
    let (_, upstream, ada, chat) = spawn_chat(&[("UPSTREAM_MAX_RETRY_WAIT_MS", "500")]).await;
    upstream.set_behaviour(Behaviour {
        fail_status: Some(429),
        retry_after_secs: Some(30),
        ..Behaviour::default()
    });
    let started = Instant::now();
    let events = ada.send(&chat, "hello").await.until_done().await;
    assert!(started.elapsed() < Duration::from_secs(10));
    let error = events.error();
    assert_eq!(error["code"], "upstream_rate_limited");
    assert_eq!(upstream.request_count(), 1);
}

#[tokio::test]
async fn a_slow_first_token_times_out() {
    let (_, upstream, ada, chat) = spawn_chat(&[("UPSTREAM_FIRST_TOKEN_TIMEOUT_MS", "300")]).await;
    upstream.set_behaviour(Behaviour {
        initial_delay_ms: 3000,
        ..Behaviour::default()
    });
    let events = ada.send(&chat, "hello").await.until_done().await;
    assert_eq!(events.error()["code"], "upstream_timeout");
}

#[tokio::test]
async fn usage_is_estimated_and_marked_when_the_upstream_reports_none() {
    let (_, upstream, ada, chat) = spawn_chat(&[]).await;
    upstream.set_behaviour(Behaviour {
        omit_usage: true,
        ..Behaviour::default()
    });
    let done = ada.send(&chat, "hello there").await.done().await;
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
async fn without_an_upstream_sending_is_a_clear_503() {
    let app = integration_tests::spawn_app().await;
    let ada = app.signed_in().await;
    let chat = ada.new_chat().await;
    let response = ada.try_send(&chat, "anyone?").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(json(response).await["error"]["code"], "no_upstream");
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
    let ada = app.signed_in().await;
    let chat = ada.new_chat().await;
    let events = ada.send(&chat, "hello").await.until_done().await;
    let error = events.error();
    assert_eq!(error["code"], "upstream_unreachable");
    let saved = ada.messages(&chat).await;
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
