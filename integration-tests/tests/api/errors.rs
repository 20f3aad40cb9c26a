//! Bad input gets a structured JSON error with the right status, never a 500.

use integration_tests::{TestApp, TestUser, json, spawn_app, spawn_app_with};
use reqwest::StatusCode;
use serde_json::{Value, json as body};

async fn post_raw(
    app: &TestApp,
    path: &str,
    content_type: &str,
    raw: Vec<u8>,
) -> (StatusCode, Value) {
    let response = app
        .http
        .post(app.url(path))
        .header("content-type", content_type)
        .body(raw)
        .send()
        .await
        .expect("sent");
    let status = response.status();
    (status, json(response).await)
}

#[tokio::test]
async fn malformed_json_is_400() {
    let app = spawn_app().await;
    for raw in [
        &b"{\"email\": "[..],
        b"{not json}",
        b"",
        b"{\"email\":\"a\",\"password\":\"b\"} trailing",
    ] {
        for path in ["/api/auth/register", "/api/auth/login"] {
            let (status, body) = post_raw(&app, path, "application/json", raw.to_vec()).await;
            assert_eq!(
                status,
                StatusCode::BAD_REQUEST,
                "{path}: {}",
                String::from_utf8_lossy(raw)
            );
            assert_eq!(body["error"]["code"], "malformed_json");
        }
    }
}

#[tokio::test]
async fn wrong_types_are_422_naming_the_field() {
    let app = spawn_app().await;
    let cases = [
        body!({ "username": 42, "email": "a@example.org", "password": "password1" }),
        body!({ "username": ["x"], "email": "a@example.org", "password": "password1" }),
        body!({ "username": null, "email": "a@example.org", "password": "password1" }),
    ];
    for payload in cases {
        let (status, body) = post_raw(
            &app,
            "/api/auth/register",
            "application/json",
            payload.to_string().into_bytes(),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{payload}");
        assert!(body["error"]["fields"]["username"].is_string(), "{body}");
    }
    let (status, body) = post_raw(
        &app,
        "/api/auth/login",
        "application/json",
        b"[1,2]".to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["error"]["fields"]["body"].is_string(), "{body}");
}

#[tokio::test]
async fn unknown_and_missing_fields_are_422_naming_them() {
    let app = spawn_app().await;
    let mut payload = TestUser::random().body();
    payload["is_admin"] = body!(true);
    let (status, body) = post_raw(
        &app,
        "/api/auth/register",
        "application/json",
        payload.to_string().into_bytes(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["fields"]["is_admin"], "is not a known field");

    let (status, body) = post_raw(
        &app,
        "/api/auth/login",
        "application/json",
        br#"{"email": "a@example.org"}"#.to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["fields"]["password"], "is required");
}

#[tokio::test]
async fn operator_injection_never_reaches_the_database() {
    let app = spawn_app().await;
    let (user, _) = app.with_user().await;
    let attempts = [
        body!({ "email": { "$ne": null }, "password": user.password }),
        body!({ "email": user.email, "password": { "$ne": null } }),
        body!({ "email": { "$regex": ".*" }, "password": { "$gt": "" } }),
    ];
    for payload in attempts {
        let response = app.post_json("/api/auth/login", &payload).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{payload}"
        );
        let body = json(response).await;
        let fields = body["error"]["fields"].as_object().expect("fields");
        assert!(
            fields.contains_key("email") || fields.contains_key("password"),
            "{body}"
        );
    }
    let mut payload = user.body();
    payload["username"] = body!({ "$gt": "" });
    let response = app.post_json("/api/auth/register", &payload).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let app = spawn_app_with(&[("MAX_BODY_BYTES", "4096")]).await;
    let mut payload = TestUser::random().body();
    payload["password"] = body!("x".repeat(10_000));
    let (status, body) = post_raw(
        &app,
        "/api/auth/register",
        "application/json",
        payload.to_string().into_bytes(),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["error"]["code"], "payload_too_large");
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415() {
    let app = spawn_app().await;
    let user = TestUser::random();
    let form = format!(
        "username={}&email={}&password={}",
        user.username, user.email, user.password
    );
    for content_type in ["application/x-www-form-urlencoded", "text/plain"] {
        let (status, body) = post_raw(
            &app,
            "/api/auth/register",
            content_type,
            form.clone().into_bytes(),
        )
        .await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{content_type}");
        assert_eq!(body["error"]["code"], "unsupported_media_type");
    }
}

#[tokio::test]
async fn error_bodies_share_one_shape() {
    let app = spawn_app().await;
    let responses = [
        app.get("/api/users/me", None).await,
        app.get("/api/nope", None).await,
        app.try_login("nobody@example.org", "whatever-password")
            .await,
        app.post_json("/api/auth/register", &body!({})).await,
    ];
    for response in responses {
        let status = response.status();
        let body = json(response).await;
        let error = body["error"]
            .as_object()
            .unwrap_or_else(|| panic!("{status}: {body}"));
        assert!(
            error["code"].is_string() && error["message"].is_string(),
            "{body}"
        );
        assert_eq!(body.as_object().map(|o| o.len()), Some(1), "{body}");
    }
}
