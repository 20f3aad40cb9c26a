//! Chats: create, list (cursor pagination, search), read, rename, delete — all scoped to the
//! caller.

use std::collections::HashSet;

use integration_tests::{expect_field_error, json, say, spawn_app, spawn_app_with_upstream};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json as body};

#[tokio::test]
async fn a_chat_is_created_read_renamed_and_deleted() {
    let app = spawn_app().await;
    let (_, s) = app.with_user().await;
    let chat = app
        .create_chat(
            &s.access_token,
            &body!({ "title": "Plans", "parameters": { "temperature": 0.3 } }),
        )
        .await;
    let id = chat["id"].as_str().expect("id");
    assert_eq!(chat["title"], "Plans");
    assert_eq!(chat["parameters"], body!({ "temperature": 0.3 }));
    assert!(chat["current_message_id"].is_null());

    let read = json(
        app.get(&format!("/api/chats/{id}"), Some(&s.access_token))
            .await,
    )
    .await;
    assert_eq!(read["id"], id);

    let renamed = app
        .send(
            Method::PATCH,
            &format!("/api/chats/{id}"),
            &s.access_token,
            Some(&body!({ "title": "  Renamed  " })),
        )
        .await;
    assert_eq!(renamed.status(), StatusCode::OK);
    let renamed = json(renamed).await;
    assert_eq!(renamed["title"], "Renamed");
    assert_eq!(
        renamed["parameters"],
        body!({ "temperature": 0.3 }),
        "untouched"
    );

    let params = app
        .send(
            Method::PATCH,
            &format!("/api/chats/{id}"),
            &s.access_token,
            Some(&body!({ "parameters": { "top_k": 40 } })),
        )
        .await;
    assert_eq!(
        json(params).await["parameters"],
        body!({ "top_k": 40 }),
        "replaced as a whole"
    );

    let deleted = app
        .send(
            Method::DELETE,
            &format!("/api/chats/{id}"),
            &s.access_token,
            None,
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = app
        .get(&format!("/api/chats/{id}"), Some(&s.access_token))
        .await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn chat_input_is_validated() {
    let app = spawn_app().await;
    let (_, s) = app.with_user().await;
    let cases = [
        (body!({ "title": "x".repeat(201) }), "title"),
        (
            body!({ "parameters": { "temperature": 3 } }),
            "parameters.temperature",
        ),
        (body!({ "parameters": { "bogus": 1 } }), "parameters.bogus"),
        (body!({ "owner": "someone" }), "owner"),
    ];
    for (payload, field) in cases {
        let response = app
            .send(Method::POST, "/api/chats", &s.access_token, Some(&payload))
            .await;
        expect_field_error(response, field, &payload.to_string()).await;
    }
}

async fn list(app: &integration_tests::TestApp, token: &str, query: &str) -> (StatusCode, Value) {
    let response = app.get(&format!("/api/chats{query}"), Some(token)).await;
    let status = response.status();
    (status, json(response).await)
}

#[tokio::test]
async fn chats_are_listed_newest_first_in_cursor_pages_without_duplicates() {
    let app = spawn_app().await;
    let (_, s) = app.with_user().await;
    let mut created = Vec::new();
    for i in 0..7 {
        let chat = app
            .create_chat(&s.access_token, &body!({ "title": format!("chat {i}") }))
            .await;
        created.push(chat["id"].as_str().expect("id").to_owned());
    }
    created.reverse(); // newest first

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let query = match &cursor {
            Some(c) => format!("?limit=3&cursor={c}"),
            None => "?limit=3".to_owned(),
        };
        let (status, page) = list(&app, &s.access_token, &query).await;
        assert_eq!(status, StatusCode::OK);
        pages += 1;
        for chat in page["chats"].as_array().expect("chats") {
            seen.push(chat["id"].as_str().expect("id").to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, created);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 7);
}

#[tokio::test]
async fn bad_list_queries_are_422() {
    let app = spawn_app().await;
    let (_, s) = app.with_user().await;
    for (query, field) in [
        ("?limit=0", "limit"),
        ("?limit=101", "limit"),
        ("?limit=abc", "limit"),
        ("?cursor=not-a-cursor", "cursor"),
    ] {
        let (status, body) = list(&app, &s.access_token, query).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert!(
            body["error"]["fields"][field].is_string(),
            "{query}: {body}"
        );
    }
}

#[tokio::test]
async fn search_finds_titles_and_message_text_of_the_callers_chats_only() {
    let (app, _upstream) = spawn_app_with_upstream("vllm", &[]).await;
    let (_, alice) = app.with_user().await;
    let (_, bob) = app.with_user().await;
    let titled = app
        .create_chat(&alice.access_token, &body!({ "title": "Trip to Lisbon" }))
        .await;
    let talked = app.create_chat(&alice.access_token, &body!({})).await;
    app.chat(
        &alice.access_token,
        talked["id"].as_str().expect("id"),
        &say("what about the pastéis in LISBON?"),
    )
    .await;
    let other = app
        .create_chat(&alice.access_token, &body!({ "title": "Groceries" }))
        .await;
    let bobs = app
        .create_chat(&bob.access_token, &body!({ "title": "Lisbon too" }))
        .await;

    let (status, page) = list(&app, &alice.access_token, "?q=lisbon").await;
    assert_eq!(status, StatusCode::OK);
    let ids: HashSet<&str> = page["chats"]
        .as_array()
        .expect("chats")
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert!(ids.contains(titled["id"].as_str().expect("id")));
    assert!(ids.contains(talked["id"].as_str().expect("id")));
    assert!(!ids.contains(other["id"].as_str().expect("id")));
    assert!(
        !ids.contains(bobs["id"].as_str().expect("id")),
        "another user's chat leaked"
    );

    // Regex metacharacters are literal.
    let (_, page) = list(&app, &alice.access_token, "?q=L.sbon").await;
    assert_eq!(page["chats"].as_array().map(Vec::len), Some(0));
    let (status, _) = list(&app, &alice.access_token, "?q=%28%5B*").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn another_users_chat_is_404_on_every_route() {
    let (app, upstream) = spawn_app_with_upstream("vllm", &[]).await;
    let (_, alice) = app.with_user().await;
    let (_, mallory) = app.with_user().await;
    let chat = app
        .create_chat(&alice.access_token, &body!({ "title": "secret plans" }))
        .await;
    let id = chat["id"].as_str().expect("id");
    let events = app.chat(&alice.access_token, id, &say("hello")).await;
    let user_msg = integration_tests::find(&events, "user_message").expect("user message")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let answer = integration_tests::find(&events, "done").expect("done")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let requests_before = upstream.request_count();

    let t = &mallory.access_token;
    let attempts: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("/api/chats/{id}"), None),
        (
            Method::PATCH,
            format!("/api/chats/{id}"),
            Some(body!({ "title": "pwned" })),
        ),
        (Method::DELETE, format!("/api/chats/{id}"), None),
        (Method::GET, format!("/api/chats/{id}/messages"), None),
        (
            Method::POST,
            format!("/api/chats/{id}/messages"),
            Some(say("hi")),
        ),
        (
            Method::POST,
            format!("/api/chats/{id}/messages/{user_msg}/edit"),
            Some(say("hi")),
        ),
        (
            Method::POST,
            format!("/api/chats/{id}/messages/{answer}/regenerate"),
            Some(body!({})),
        ),
        (
            Method::POST,
            format!("/api/chats/{id}/messages/{answer}/stop"),
            None,
        ),
    ];
    for (method, path, payload) in attempts {
        let response = app.send(method.clone(), &path, t, payload.as_ref()).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{method} {path}");
        let text = response.text().await.expect("body");
        assert!(
            !text.contains("secret plans") && !text.contains("hello"),
            "{text}"
        );
    }
    assert_eq!(
        upstream.request_count(),
        requests_before,
        "nothing was generated for mallory"
    );
    let (_, page) = list(&app, t, "").await;
    assert_eq!(page["chats"].as_array().map(Vec::len), Some(0));
    let still = json(
        app.get(&format!("/api/chats/{id}"), Some(&alice.access_token))
            .await,
    )
    .await;
    assert_eq!(still["title"], "secret plans");
}
