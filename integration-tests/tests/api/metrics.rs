//! Prometheus metrics on `METRICS_ADDR` (its own listener): a scrape after some traffic shows
//! every named metric, with route templates and never raw ids; the public port answers 404.

use integration_tests::{fake_upstream::Behaviour, sample, spawn_chat};
use reqwest::StatusCode;

#[tokio::test]
async fn a_scrape_shows_every_metric_on_its_own_listener_and_never_on_the_public_port() {
    let (app, upstream, ada, chat) = spawn_chat(&[
        ("METRICS_ADDR", "127.0.0.1:0"),
        ("LOGIN_FREE_FAILURES", "1"),
        ("UPSTREAM_MAX_RETRIES", "0"),
    ])
    .await;
    let _socket = ada.live().await;
    upstream.set_behaviour(Behaviour {
        chunk_delay_ms: 5,
        reply_tokens: Some(20),
        ..Behaviour::default()
    });
    ada.send(&chat, "hello").await.done().await;
    upstream.set_behaviour(Behaviour {
        fail_status: Some(500),
        ..Behaviour::default()
    });
    ada.send(&chat, "and again").await.until_done().await;
    for _ in 0..3 {
        app.try_login(&ada.credentials.email, "wrong password")
            .await;
    }
    ada.messages(&chat).await;

    let addr = app.state.metrics_addr.get().expect("metrics are on");
    let scrape = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .expect("scraped");
    assert_eq!(scrape.status(), StatusCode::OK);
    let body = scrape.text().await.expect("text");
    for name in [
        "confab_http_requests_total",
        "confab_http_request_duration_seconds_bucket",
        "confab_active_generations",
        "confab_open_sockets",
        "confab_open_sse_streams",
        "confab_time_to_first_token_seconds_bucket",
        "confab_overhead_seconds_bucket",
        "confab_first_token_stage_seconds_bucket",
        "confab_final_save_seconds_bucket",
        "confab_inter_chunk_seconds_bucket",
        "confab_upstream_errors_total",
        "confab_upstream_replica_up",
        "confab_event_delivery_lag_seconds_bucket",
        "confab_mongodb_operation_seconds_bucket",
        "confab_login_failures_total",
        "confab_throttle_locks_total",
    ] {
        assert!(body.contains(name), "{name} missing from:\n{body}");
    }
    assert!(
        body.contains(r#"route="/api/chats/{id}/messages""#),
        "route templates label requests"
    );
    assert!(!body.contains(chat.id.as_str()), "no raw id in a label");
    // Where the time to the first token went, stage by stage (one answer at least).
    for stage in [
        "auth",
        "load",
        "save",
        "upstream_connect",
        "upstream_first_byte",
    ] {
        let label = format!(r#"stage="{stage}""#);
        let count = sample(&body, "confab_first_token_stage_seconds_count", &label);
        assert!(count.is_some_and(|n| n >= 1.0), "{stage}: {count:?}");
    }
    assert_eq!(sample(&body, "confab_open_sockets", ""), Some(1.0));
    assert_eq!(sample(&body, "confab_active_generations", ""), Some(0.0));
    assert!(sample(&body, "confab_login_failures_total", "").is_some_and(|n| n >= 1.0));
    assert!(sample(&body, "confab_throttle_locks_total", "").is_some_and(|n| n >= 1.0));
    assert!(body.contains(r#"confab_time_to_first_token_seconds_count{model="confab-demo"}"#));
    assert!(body.contains("op=\"insert\""), "MongoDB commands by name");

    // The public port never serves them, not even through the web client's fallback.
    let public = app.get("/metrics", None).await;
    assert_eq!(public.status(), StatusCode::NOT_FOUND);
}
