//! Chats: create, list (cursor pagination, search), read, rename, delete — all scoped to the
//! caller.

use std::collections::HashSet;

use integration_tests::{ChatId, expect_field_error, json, spawn_app, spawn_app_with_upstream};
use reqwest::StatusCode;
use serde_json::json as body;

#[tokio::test]
async fn a_chat_is_created_read_renamed_and_deleted() {
    let app = spawn_app().await;
    let ada = app.signed_in().await;
    let chat = ada
        .create_chat(body!({ "title": "Plans", "parameters": { "temperature": 0.3 } }))
        .await;
    assert_eq!(chat["title"], "Plans");
    assert_eq!(chat["parameters"], body!({ "temperature": 0.3 }));
    assert!(chat["current_message_id"].is_null());

    let read = ada.chat(&chat).await;
    assert_eq!(read.id, chat.id);

    let renamed = ada
        .update_chat(&chat, body!({ "title": "  Renamed  " }))
        .await;
    assert_eq!(renamed["title"], "Renamed");
    assert_eq!(
        renamed["parameters"],
        body!({ "temperature": 0.3 }),
        "untouched"
    );

    let params = ada
        .update_chat(&chat, body!({ "parameters": { "top_k": 40 } }))
        .await;
    assert_eq!(
        params["parameters"],
        body!({ "top_k": 40 }),
        "replaced as a whole"
    );

    ada.delete_chat(&chat).await;
    let gone = ada.try_chat(&chat).await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn chat_input_is_validated() {
    let app = spawn_app().await;
    let ada = app.signed_in().await;
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
        let response = ada.try_create_chat(&payload).await;
        expect_field_error(response, field, &payload.to_string()).await;
    }
}

#[tokio::test]
async fn chats_are_listed_newest_first_in_cursor_pages_without_duplicates() {
    let app = spawn_app().await;
    let ada = app.signed_in().await;
    let mut created = Vec::new();
    for i in 0..7 {
        let chat = ada
            .create_chat(body!({ "title": format!("chat {i}") }))
            .await;
        created.push(chat.id);
    }
    created.reverse(); // newest first

    let mut seen: Vec<ChatId> = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let query = match &cursor {
            Some(c) => format!("limit=3&cursor={c}"),
            None => "limit=3".to_owned(),
        };
        let page = ada.list_chats(&query).await;
        pages += 1;
        seen.extend(page.ids());
        match page.next_cursor {
            Some(next) => cursor = Some(next),
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
    let ada = app.signed_in().await;
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=abc", "limit"),
        ("cursor=not-a-cursor", "cursor"),
    ] {
        let response = ada.try_list_chats(query).await;
        let status = response.status();
        let body = json(response).await;
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
    let alice = app.signed_in().await;
    let bob = app.signed_in().await;
    let titled = alice
        .create_chat(body!({ "title": "Trip to Lisbon" }))
        .await;
    let talked = alice.new_chat().await;
    alice
        .send(&talked, "what about the pastéis in LISBON?")
        .await
        .until_done()
        .await;
    let other = alice.create_chat(body!({ "title": "Groceries" })).await;
    let bobs = bob.create_chat(body!({ "title": "Lisbon too" })).await;

    let ids: HashSet<ChatId> = alice
        .list_chats("q=lisbon")
        .await
        .ids()
        .into_iter()
        .collect();
    assert!(ids.contains(&titled.id));
    assert!(ids.contains(&talked.id));
    assert!(!ids.contains(&other.id));
    assert!(!ids.contains(&bobs.id), "another user's chat leaked");

    // Regex metacharacters are literal.
    let page = alice.list_chats("q=L.sbon").await;
    assert_eq!(page.chats.len(), 0);
    let response = alice.try_list_chats("q=%28%5B*").await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn another_users_chat_is_404_on_every_route() {
    let (app, upstream) = spawn_app_with_upstream("vllm", &[]).await;
    let alice = app.signed_in().await;
    let mallory = app.signed_in().await;
    let chat = alice.create_chat(body!({ "title": "secret plans" })).await;
    let events = alice.send(&chat, "hello").await.until_done().await;
    let question = events.question();
    let answer = events.done();
    let requests_before = upstream.request_count();

    let attempts = [
        ("read", mallory.try_chat(&chat).await),
        (
            "rename",
            mallory
                .try_update_chat(&chat, &body!({ "title": "pwned" }))
                .await,
        ),
        ("delete", mallory.try_delete_chat(&chat).await),
        ("list messages", mallory.try_messages(&chat).await),
        ("send", mallory.try_send(&chat, "hi").await),
        ("edit", mallory.try_edit(&chat, &question, "hi").await),
        (
            "regenerate",
            mallory.try_regenerate(&chat, &answer, None).await,
        ),
        ("stop", mallory.try_stop(&chat, &answer).await),
    ];
    for (what, response) in attempts {
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{what}");
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
    let page = mallory.list_chats("").await;
    assert_eq!(page.chats.len(), 0);
    let still = alice.chat(&chat).await;
    assert_eq!(still["title"], "secret plans");
}
