//! Bad input gets a structured JSON error with the right status, never a 500.

use integration_tests::{
    TestApp, TestUser, expect_field_error, json, paths, spawn_app, spawn_app_with, spawn_chat,
};
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
        for path in [paths::REGISTER, paths::LOGIN] {
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
            paths::REGISTER,
            "application/json",
            payload.to_string().into_bytes(),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{payload}");
        assert!(body["error"]["fields"]["username"].is_string(), "{body}");
    }
    let (status, body) = post_raw(&app, paths::LOGIN, "application/json", b"[1,2]".to_vec()).await;
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
        paths::REGISTER,
        "application/json",
        payload.to_string().into_bytes(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["fields"]["is_admin"], "is not a known field");

    let (status, body) = post_raw(
        &app,
        paths::LOGIN,
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
        let response = app.post_json(paths::LOGIN, &payload).await;
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
    let response = app.try_register(&payload).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let app = spawn_app_with(&[("MAX_BODY_BYTES", "4096")]).await;
    let mut payload = TestUser::random().body();
    payload["password"] = body!("x".repeat(10_000));
    let (status, body) = post_raw(
        &app,
        paths::REGISTER,
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
            paths::REGISTER,
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
        app.get(paths::ME, None).await,
        app.get("/api/nope", None).await,
        app.try_login("nobody@example.org", "whatever-password")
            .await,
        app.try_register(&body!({})).await,
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

/// Asserts a JSON error body with this status and code; returns it.
async fn json_error(response: reqwest::Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status);
    let content_type = response.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let body = json(response).await;
    assert_eq!(body["error"]["code"], code, "{body}");
    body
}

#[tokio::test]
async fn a_pagination_cursor_that_is_no_position_is_422() {
    use base64::Engine as _;
    let app = spawn_app().await;
    let ada = app.signed_in().await;
    let id = "000000000000000000000000";
    for raw in [
        format!("253402300800000:{id}"),
        format!("-5:{id}"),
        format!("99999999999999999999999:{id}"),
        "12:not-an-id".to_owned(),
    ] {
        let cursor = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&raw);
        let response = ada.try_list_chats(&format!("cursor={cursor}")).await;
        let body = json_error(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert!(
            body["error"]["fields"]["cursor"].is_string(),
            "{raw}: {body}"
        );
    }
}

#[tokio::test]
async fn bad_paths_and_query_strings_get_the_json_error_shape() {
    let app = spawn_app().await;
    let ada = app.signed_in().await;
    let token = Some(ada.token());
    for path in [
        "/api/chats/%FF",
        "/api/chats/%FF/messages",
        "/api/chats/%C3%28/messages/%FF/stop",
        "/api/users/%FF",
    ] {
        let method = if path.ends_with("/stop") {
            reqwest::Method::POST
        } else {
            reqwest::Method::GET
        };
        let response = ada.raw(method, path, None).await;
        json_error(response, StatusCode::BAD_REQUEST, "bad_request").await;
    }
    for (path, auth, field) in [
        ("/api/ws?ticket=a&ticket=b", None, "ticket"),
        ("/api/chats?limit=many", token, "limit"),
        ("/api/chats?unknown=1", token, "unknown"),
    ] {
        expect_field_error(app.get(path, auth).await, field, path).await;
    }
}

#[tokio::test]
async fn an_array_is_never_taken_for_an_object() {
    let (_, upstream, ada, chat) = spawn_chat(&[]).await;
    for parameters in [body!([null, 1.0]), body!(["confab-demo", 1.5]), body!("x")] {
        let response = ada
            .try_create_chat(&body!({ "parameters": parameters }))
            .await;
        let body = json_error(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert!(body["error"]["fields"]["parameters"].is_string(), "{body}");
    }
    let response = ada
        .try_send(
            &chat,
            body!({ "content": "hi", "parameters": ["confab-demo", 1.5] }),
        )
        .await;
    json_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(upstream.request_count(), 0, "nothing was sent upstream");
}

#[tokio::test]
async fn a_repeated_submission_is_validated_like_a_new_one() {
    let (_, _upstream, ada, chat) = spawn_chat(&[]).await;
    let first = ada
        .send(
            &chat,
            body!({ "content": "hello", "client_request_id": "k1" }),
        )
        .await
        .until_done()
        .await;
    assert_eq!(first.last().map(|e| e.event.as_str()), Some("done"));
    for invalid in [
        body!({ "content": "", "client_request_id": "k1" }),
        body!({ "content": "hello", "client_request_id": "k1", "parameters": { "temperature": 99 } }),
    ] {
        let response = ada.try_send(&chat, &invalid).await;
        json_error(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
    }
}

#[tokio::test]
async fn a_plain_get_of_the_socket_route_does_not_use_up_the_ticket() {
    let app = spawn_app().await;
    let ada = app.signed_in().await;
    let ticket = ada.ticket().await;
    let response = app.get(&paths::ws(&format!("ticket={ticket}")), None).await;
    json_error(response, StatusCode::BAD_REQUEST, "bad_request").await;
    app.open_ws(&format!("ticket={ticket}"), None, false)
        .await
        .expect("the ticket still opens a socket");
}
