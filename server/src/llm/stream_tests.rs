//! `stream_chat` against a scripted server on 127.0.0.1: retries, timeouts, interruptions.

use std::time::Duration;

use futures::StreamExt;

use super::test_upstream::{End, Reply, TestUpstream, delta, finish, sse, usage};
use super::*;
use crate::domain::{Role, SamplingParams, Turn};

/// A catalog of one `vllm` model `m` served by `upstream`; `vars` override the settings.
pub(super) fn catalog(upstream: &TestUpstream, vars: &[(&str, &str)]) -> Catalog {
    let mut all = vec![
        ("OPENAI_API_BASE_URL", upstream.base_url.as_str()),
        ("DEFAULT_MODEL", "m"),
        ("UPSTREAM_KIND", "vllm"),
        ("UPSTREAM_FIRST_TOKEN_TIMEOUT_MS", "2000"),
        ("UPSTREAM_IDLE_TIMEOUT_MS", "2000"),
        ("UPSTREAM_MAX_RETRY_WAIT_MS", "1000"),
    ];
    all.extend_from_slice(vars);
    Catalog::for_tests(&all)
}

pub(super) async fn open(catalog: &Catalog) -> Result<UpstreamStream, UpstreamError> {
    let params =
        SamplingParams::from_json(serde_json::json!({ "top_k": 3 })).expect("valid parameters");
    let resolved = catalog.resolve(&params, "p").expect("resolves");
    stream_chat(catalog, &resolved, vec![Turn::new(Role::User, "hi")]).await
}

pub(super) async fn collect(catalog: &Catalog) -> Vec<Result<UpstreamEvent, String>> {
    let stream = open(catalog).await.expect("the stream opens");
    stream
        .map(|item| item.map_err(|e| e.code().to_owned()))
        .collect()
        .await
}

pub(super) fn text(s: &str) -> Result<UpstreamEvent, String> {
    Ok(UpstreamEvent::Delta(s.to_owned()))
}

pub(super) fn ok_reply() -> Reply {
    sse(
        &[
            delta(""),
            delta("Hel"),
            delta("lo"),
            finish("stop"),
            usage(5, 2),
        ],
        End::Done,
    )
}

#[tokio::test]
async fn a_complete_answer_yields_deltas_usage_then_finish() {
    let upstream = TestUpstream::start(vec![ok_reply()]).await;
    let catalog = catalog(&upstream, &[("OPENAI_API_KEY", "sk-test")]);
    let usage = Ok(UpstreamEvent::Usage {
        prompt_tokens: 5,
        completion_tokens: 2,
    });
    let done = Ok(UpstreamEvent::Finish("stop".to_owned()));
    assert_eq!(
        collect(&catalog).await,
        [text("Hel"), text("lo"), usage, done]
    );
    let requests = upstream.requests();
    let (auth, body) = &requests[0];
    assert_eq!(auth.as_deref(), Some("Bearer sk-test"));
    assert_eq!(
        (&body["model"], &body["stream"], &body["top_k"]),
        (&"m".into(), &true.into(), &3.into())
    );
}

#[tokio::test]
async fn no_key_means_no_authorization_header() {
    let upstream = TestUpstream::start(vec![ok_reply()]).await;
    assert_eq!(collect(&catalog(&upstream, &[])).await.len(), 4);
    assert_eq!(upstream.requests()[0].0, None);
}

#[tokio::test]
async fn a_stream_without_finish_is_interrupted() {
    for end in [End::Close, End::Break, End::Done] {
        let upstream = TestUpstream::start(vec![sse(&[delta("a")], end)]).await;
        let events = collect(&catalog(&upstream, &[])).await;
        assert_eq!(
            events,
            [text("a"), Err("upstream_interrupted".to_owned())],
            "{end:?}"
        );
    }
}

#[tokio::test]
async fn garbage_is_a_protocol_error() {
    let upstream = TestUpstream::start(vec![sse(&["not json".to_owned()], End::Done)]).await;
    assert_eq!(
        collect(&catalog(&upstream, &[])).await,
        [Err("upstream_protocol".to_owned())]
    );
}

#[tokio::test]
async fn timeouts_end_the_stream() {
    let slow_head = Reply::Stream {
        head_delay: Duration::from_millis(600),
        events: vec![],
        end: End::Done,
    };
    let upstream = TestUpstream::start(vec![slow_head]).await;
    let error = open(&catalog(
        &upstream,
        &[("UPSTREAM_FIRST_TOKEN_TIMEOUT_MS", "200")],
    ))
    .await
    .err();
    assert!(
        matches!(error, Some(UpstreamError::FirstTokenTimeout)),
        "{error:?}"
    );

    let silent = sse(&[delta("")], End::Hang);
    let upstream = TestUpstream::start(vec![silent]).await;
    let events = collect(&catalog(
        &upstream,
        &[("UPSTREAM_FIRST_TOKEN_TIMEOUT_MS", "200")],
    ))
    .await;
    assert_eq!(events, [Err("upstream_timeout".to_owned())]);

    let stalls = sse(&[delta("a")], End::Hang);
    let upstream = TestUpstream::start(vec![stalls]).await;
    let events = collect(&catalog(&upstream, &[("UPSTREAM_IDLE_TIMEOUT_MS", "200")])).await;
    assert_eq!(events, [text("a"), Err("upstream_timeout".to_owned())]);

    let trickle = (0..50)
        .map(|_| (Duration::from_millis(50), delta("x")))
        .collect();
    let upstream = TestUpstream::start(vec![Reply::Stream {
        head_delay: Duration::ZERO,
        events: trickle,
        end: End::Done,
    }])
    .await;
    let catalog = catalog(&upstream, &[("UPSTREAM_TOTAL_TIMEOUT_MS", "300")]);
    let mut stream = open(&catalog).await.expect("opens");
    let mut last = None;
    while let Some(item) = stream.next().await {
        last = Some(item);
    }
    assert!(
        matches!(last, Some(Err(UpstreamError::TotalTimeout))),
        "{last:?}"
    );
}

#[tokio::test]
async fn a_finish_survives_a_hang_after_it() {
    let upstream = TestUpstream::start(vec![sse(&[delta("a"), finish("length")], End::Hang)]).await;
    let events = collect(&catalog(&upstream, &[("UPSTREAM_IDLE_TIMEOUT_MS", "200")])).await;
    assert_eq!(
        events,
        [text("a"), Ok(UpstreamEvent::Finish("length".to_owned()))]
    );
}

#[tokio::test]
async fn dropping_the_stream_cancels_the_request() {
    let upstream = TestUpstream::start(vec![sse(&[delta("a")], End::Hang)]).await;
    let catalog = catalog(&upstream, &[]);
    let mut stream = open(&catalog).await.expect("opens");
    assert_eq!(
        stream.next().await.map(|r| r.ok()),
        Some(Some(UpstreamEvent::Delta("a".to_owned())))
    );
    assert!(!upstream.body_dropped());
    drop(stream);
    for _ in 0..100 {
        if upstream.body_dropped() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        upstream.body_dropped(),
        "the upstream response is still being read"
    );
}
