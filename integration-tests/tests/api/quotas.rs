//! Limits per user: token quotas per day and month (counted from each answer's usage when it
//! ends), the message rate and concurrency limits, each overridable per user by an admin, each
//! held across processes, each refusal a 429 with its code, `Retry-After` and the `RateLimit-*`
//! headers, and nothing saved for a refusal.

use std::time::Duration;

use integration_tests::{
    SignedIn, TestApp, fake_upstream::Behaviour, json, spawn_pair_with_upstream,
};
use mongodb::bson::{Document, doc};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

async fn stored_messages(app: &TestApp) -> u64 {
    app.db()
        .await
        .collection::<Document>("messages")
        .count_documents(doc! {})
        .await
        .expect("count")
}

fn header(response: &Response, name: &str) -> u64 {
    number(response.headers(), name)
}

fn number(headers: &reqwest::header::HeaderMap, name: &str) -> u64 {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{name} missing: {headers:?}"))
}

/// A 429 with this code, `Retry-After` and the three `RateLimit-*` headers (none remaining):
/// its headers and body.
async fn refused_with(response: Response, code: &str) -> (reqwest::header::HeaderMap, Value) {
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let (retry, limit, remaining, reset) = (
        header(&response, "retry-after"),
        header(&response, "ratelimit-limit"),
        header(&response, "ratelimit-remaining"),
        header(&response, "ratelimit-reset"),
    );
    assert!(
        retry >= 1 && limit >= 1 && reset >= 1,
        "{retry} {limit} {reset}"
    );
    assert_eq!(remaining, 0);
    let headers = response.headers().clone();
    let body = json(response).await;
    assert_eq!(body["error"]["code"], code, "{body}");
    (headers, body)
}

async fn set_limits(admin: &SignedIn, user: &SignedIn, limits: Value) -> Value {
    let path = format!("/api/admin/users/{}", user.user_id());
    let response = admin
        .raw(Method::PATCH, &path, Some(&json!({ "limits": limits })))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    json(response).await
}

async fn usage(user: &SignedIn) -> Value {
    let response = user.raw(Method::GET, "/api/users/me/usage", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    json(response).await
}

#[tokio::test]
async fn a_daily_token_quota_holds_across_processes_and_an_admin_can_lift_it_for_one_user() {
    let (a, b, _upstream) = spawn_pair_with_upstream(&[("DAILY_TOKEN_QUOTA", "20")]).await;
    let admin = a.signed_in().await;
    let ada = a.signed_in().await;
    let chat = ada.new_chat().await;
    let done = ada.send(&chat, "hello there").await.done().await;
    let used = done["usage"]["prompt_tokens"].as_u64().expect("prompt")
        + done["usage"]["completion_tokens"]
            .as_u64()
            .expect("completion");
    assert!(used >= 20, "the first answer uses up the quota: {used}");

    let mine = usage(&ada).await;
    assert_eq!(mine["today"]["total_tokens"], used);
    assert_eq!(mine["month"]["total_tokens"], used);
    assert_eq!(mine["today"]["by_model"][0]["model"], done["model"]);
    assert_eq!(mine["limits"]["daily_tokens"], 20);
    assert_eq!(mine["limits"]["monthly_tokens"], Value::Null);
    assert_eq!(mine["remaining"]["daily_tokens"], 0);

    // Refused on the other process too; nothing is saved.
    let before = stored_messages(&a).await;
    let refused = ada.on(&b).try_send(&chat, "more").await;
    let refused = refused_with(refused, "quota_exceeded").await;
    assert!(number(&refused.0, "retry-after") <= 86_400);
    assert_eq!(number(&refused.0, "ratelimit-limit"), 20);
    let body = refused.1;
    assert_eq!(body["error"]["code"], "quota_exceeded");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(stored_messages(&a).await, before);

    // Someone else has their own quota.
    let eve = b.signed_in().await;
    let eve_chat = eve.new_chat().await;
    assert_eq!(eve.try_send(&eve_chat, "hi").await.status(), StatusCode::OK);

    // An admin lifts the quota for ada alone (0: no limit); back to the default with null.
    let changed = set_limits(&admin, &ada, json!({ "daily_tokens": 0 })).await;
    assert_eq!(changed["limits"]["daily_tokens"], 0);
    assert_eq!(changed["effective_limits"]["daily_tokens"], Value::Null);
    assert!(changed["tokens_this_month"].as_u64().expect("tokens") >= used);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    ada.on(&b).send(&chat, "more").await.done().await;
    set_limits(&admin, &ada, json!({ "daily_tokens": null })).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    refused_with(ada.on(&b).try_send(&chat, "again").await, "quota_exceeded").await;
}

#[tokio::test]
async fn a_per_user_message_rate_holds_across_processes_with_ratelimit_headers_on_every_answer() {
    let (a, b, _upstream) =
        spawn_pair_with_upstream(&[("RATE_LIMIT_MESSAGES_PER_MINUTE", "3")]).await;
    let admin = a.signed_in().await;
    let ada = a.signed_in().await;
    let chat = ada.new_chat().await;
    let first = ada.try_send(&chat, "one").await;
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(header(&first, "ratelimit-limit"), 3);
    assert_eq!(header(&first, "ratelimit-remaining"), 2);
    integration_tests::Answer::from_response(first)
        .await
        .done()
        .await;

    set_limits(&admin, &ada, json!({ "messages_per_minute": 2 })).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = ada.on(&b).try_send(&chat, "two").await;
    assert_eq!(second.status(), StatusCode::OK);
    assert_eq!(header(&second, "ratelimit-limit"), 2);
    assert_eq!(header(&second, "ratelimit-remaining"), 0);
    integration_tests::Answer::from_response(second)
        .await
        .done()
        .await;
    let refused = refused_with(ada.try_send(&chat, "three").await, "rate_limited").await;
    assert_eq!(number(&refused.0, "ratelimit-limit"), 2);
    assert!(number(&refused.0, "retry-after") <= 60);
}

#[tokio::test]
async fn a_per_user_concurrency_limit_holds_across_processes() {
    let (a, b, upstream) = spawn_pair_with_upstream(&[]).await;
    upstream.set_behaviour(Behaviour {
        chunk_delay_ms: 100,
        reply_tokens: Some(100),
        ..Behaviour::default()
    });
    let admin = a.signed_in().await;
    let ada = a.signed_in().await;
    set_limits(&admin, &ada, json!({ "concurrent_generations": 1 })).await;
    let chat = ada.new_chat().await;
    let mut running = ada.send(&chat, "long one").await;
    running.started().await;
    let refused = refused_with(
        ada.on(&b).try_send(&chat, "another").await,
        "too_many_generations",
    )
    .await;
    assert_eq!(number(&refused.0, "ratelimit-limit"), 1);
}

#[tokio::test]
async fn stopped_answers_count_and_admins_see_usage_by_day_model_and_user() {
    let (a, _b, upstream) = spawn_pair_with_upstream(&[]).await;
    let admin = a.signed_in().await;
    let ada = a.signed_in().await;
    let chat = ada.new_chat().await;
    let done = ada.send(&chat, "hello").await.done().await;
    upstream.set_behaviour(Behaviour {
        chunk_delay_ms: 50,
        reply_tokens: Some(200),
        omit_usage: true,
        ..Behaviour::default()
    });
    let mut running = ada.send(&chat, "a long one").await;
    let answer = running.started().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stopped = ada.stop(&chat, &answer).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stopped_tokens = stopped["usage"]["prompt_tokens"].as_u64().unwrap_or(0)
        + stopped["usage"]["completion_tokens"].as_u64().unwrap_or(0);
    assert!(stopped_tokens > 0, "{stopped}");
    let done_tokens = done["usage"]["prompt_tokens"].as_u64().expect("p")
        + done["usage"]["completion_tokens"].as_u64().expect("c");
    let total = done_tokens + stopped_tokens;
    assert_eq!(usage(&ada).await["today"]["total_tokens"], total);

    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    for (group_by, key) in [
        ("day", today.clone()),
        ("model", done["model"].as_str().expect("model").to_owned()),
        ("user", ada.user_id().to_owned()),
    ] {
        let path = format!("/api/admin/usage?from={today}&to={today}&group_by={group_by}");
        let response = admin.raw(Method::GET, &path, None).await;
        assert_eq!(response.status(), StatusCode::OK);
        let summary = json(response).await;
        let rows = summary["rows"].as_array().expect("rows");
        assert_eq!(rows.len(), 1, "{summary}");
        assert_eq!(rows[0]["key"], key.as_str());
        assert_eq!(rows[0]["total_tokens"], total);
        assert_eq!(rows[0]["answers"], 2);
        if group_by == "user" {
            assert_eq!(rows[0]["label"], ada.credentials.username.as_str());
        }
    }
    let empty = admin
        .raw(
            Method::GET,
            "/api/admin/usage?from=2026-02-02&to=2026-02-01",
            None,
        )
        .await;
    assert_eq!(
        json(empty).await["rows"],
        json!([]),
        "a range ending before it begins"
    );
    for bad in ["group_by=week", "from=2026-13-01", "to=yesterday"] {
        let response = admin
            .raw(Method::GET, &format!("/api/admin/usage?{bad}"), None)
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
}

#[tokio::test]
async fn a_monthly_token_quota_refuses_until_the_next_month() {
    let (a, b, _upstream) = spawn_pair_with_upstream(&[("MONTHLY_TOKEN_QUOTA", "20")]).await;
    let ada = a.signed_in().await;
    let chat = ada.new_chat().await;
    ada.send(&chat, "hello there").await.done().await;
    let mine = usage(&ada).await;
    assert_eq!(mine["limits"]["monthly_tokens"], 20);
    assert_eq!(mine["limits"]["daily_tokens"], Value::Null);
    assert_eq!(mine["remaining"]["monthly_tokens"], 0);
    assert_eq!(mine["remaining"]["daily_tokens"], Value::Null);
    let refused = refused_with(ada.on(&b).try_send(&chat, "more").await, "quota_exceeded").await;
    assert_eq!(number(&refused.0, "ratelimit-limit"), 20);
    // Until the first second of next month (UTC), at most 31 days away.
    assert!(number(&refused.0, "retry-after") <= 31 * 86_400);
    let body = refused.1;
    assert_eq!(body["error"]["code"], "quota_exceeded");
    assert!(
        body["error"]["message"]
            .as_str()
            .expect("message")
            .contains("month")
    );
}
