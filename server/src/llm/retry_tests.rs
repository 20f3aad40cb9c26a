//! The endpoint's retry layer, seen through `stream_chat`: what is retried, how often, and
//! what a final refusal becomes.

use std::time::Duration;

use super::stream_tests::{catalog, collect, ok_reply, open};
use super::test_upstream::{Reply, TestUpstream};
use super::*;

#[tokio::test]
async fn refusals_are_retried_before_the_stream_starts() {
    let unavailable = Reply::Status {
        status: 503,
        retry_after: None,
        body: "busy",
    };
    let limited = Reply::Status {
        status: 429,
        retry_after: Some("0"),
        body: "{}",
    };
    let upstream = TestUpstream::start(vec![unavailable, limited, ok_reply()]).await;
    assert_eq!(collect(&catalog(&upstream, &[])).await.len(), 4);
    assert_eq!(upstream.requests().len(), 3);
}

#[tokio::test]
async fn retries_are_bounded() {
    let unavailable = Reply::Status {
        status: 502,
        retry_after: None,
        body: r#"{"error":{"message":"bad gateway"}}"#,
    };
    let upstream = TestUpstream::start(vec![unavailable]).await;
    let error = open(&catalog(&upstream, &[("UPSTREAM_MAX_RETRIES", "1")]))
        .await
        .err();
    assert!(
        matches!(&error, Some(UpstreamError::Status { status: 502, message }) if message == "bad gateway"),
        "{error:?}"
    );
    assert_eq!(upstream.requests().len(), 2);
}

#[tokio::test]
async fn a_long_retry_after_is_not_waited_for() {
    let limited = Reply::Status {
        status: 429,
        retry_after: Some("60"),
        body: "slow down",
    };
    let upstream = TestUpstream::start(vec![limited]).await;
    let error = open(&catalog(&upstream, &[])).await.err();
    let expected = Some(Duration::from_secs(60));
    assert!(
        matches!(error, Some(UpstreamError::RateLimited { retry_after }) if retry_after == expected)
    );
    assert_eq!(upstream.requests().len(), 1);
}

#[tokio::test]
async fn a_retry_after_past_the_first_token_deadline_is_a_rate_limit_not_a_timeout() {
    let limited = Reply::Status {
        status: 429,
        retry_after: Some("3"),
        body: "slow down",
    };
    let upstream = TestUpstream::start(vec![limited]).await;
    // Confab would wait 3 s (under UPSTREAM_MAX_RETRY_WAIT_MS), but the first token is due in 1 s.
    let catalog = catalog(
        &upstream,
        &[
            ("UPSTREAM_FIRST_TOKEN_TIMEOUT_MS", "1000"),
            ("UPSTREAM_MAX_RETRY_WAIT_MS", "10000"),
        ],
    );
    let error = open(&catalog).await.err();
    let expected = Some(Duration::from_secs(3));
    assert!(
        matches!(error, Some(UpstreamError::RateLimited { retry_after }) if retry_after == expected),
        "{error:?}"
    );
    assert_eq!(upstream.requests().len(), 1);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let bad = Reply::Status {
        status: 400,
        retry_after: None,
        body: r#"{"error":"unknown field"}"#,
    };
    let upstream = TestUpstream::start(vec![bad]).await;
    let error = open(&catalog(&upstream, &[])).await.err().expect("refused");
    assert_eq!(
        error.to_string(),
        "the model's server answered 400: unknown field"
    );
    assert_eq!(upstream.requests().len(), 1);
}

#[tokio::test]
async fn an_unreachable_upstream_is_reported() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    drop(listener);
    let url = format!("http://127.0.0.1:{port}/v1");
    let vars = [
        ("OPENAI_API_BASE_URL", url.as_str()),
        ("DEFAULT_MODEL", "m"),
        ("UPSTREAM_MAX_RETRIES", "1"),
    ];
    let lookup = |name: &str| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    };
    let catalog = Catalog::from_settings(&LlmSettings::from_lookup(&lookup).expect("settings"))
        .expect("catalog");
    let error = open(&catalog).await.err();
    assert!(
        matches!(error, Some(UpstreamError::Connect(_))),
        "{error:?}"
    );
}
