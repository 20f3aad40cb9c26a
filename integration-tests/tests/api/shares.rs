//! Share links: a snapshot of a branch that later edits do not change, read without signing in
//! (never showing the owner), revoked at once; another user's chat or share is 404.

use integration_tests::{ChatId, json, spawn_chat};
use reqwest::{Method, StatusCode};
use serde_json::json as body;

#[tokio::test]
async fn a_share_is_a_snapshot_anyone_with_the_link_reads_until_it_is_revoked() {
    let (app, _upstream, ada, chat) = spawn_chat(&[]).await;
    let bob = app.signed_in().await;
    ada.update_chat(&chat, body!({ "title": "Tides" })).await;
    let first = ada.send(&chat, "What are tides?").await.done().await;
    let created = ada
        .raw(
            Method::POST,
            &format!("/api/chats/{}/shares", chat.id),
            Some(&body!({ "include_parameters": true })),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let share = json(created).await;
    let url = share["url"].as_str().expect("url").to_owned();
    let token = url.strip_prefix("/s/").expect("/s/{token}").to_owned();
    assert_eq!(token.len(), 43, "256 bits, base64url");
    assert_eq!(
        (
            share["message_count"].clone(),
            share["includes_parameters"].clone()
        ),
        (body!(2), body!(true))
    );

    // Later edits do not change it.
    ada.send(&chat, "And spring tides?").await.done().await;
    ada.update_chat(&chat, body!({ "title": "Renamed" })).await;

    let anonymous = reqwest::Client::new();
    let read = anonymous
        .get(app.url(&format!("/api/shared/{token}")))
        .send()
        .await
        .expect("sent");
    assert_eq!(read.status(), StatusCode::OK);
    assert_eq!(read.headers()["x-robots-tag"], "noindex");
    assert_eq!(read.headers()["cache-control"], "private");
    let snapshot = json(read).await;
    assert_eq!(snapshot["title"], "Tides");
    let messages = snapshot["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["content"], "What are tides?");
    assert_eq!(messages[1]["content"], first["content"]);
    assert_eq!(messages[1]["model"], first["model"]);
    let text = snapshot.to_string();
    assert!(
        !text.contains(&ada.credentials.email) && !text.contains(&ada.credentials.username),
        "never the owner: {text}"
    );

    // Without parameters unless asked; a branch up to a message.
    let plain = json(
        ada.raw(
            Method::POST,
            &format!("/api/chats/{}/shares", chat.id),
            Some(&body!({ "message_id": first["id"] })),
        )
        .await,
    )
    .await;
    assert_eq!(plain["message_count"], 2);
    let plain_token = plain["url"]
        .as_str()
        .expect("url")
        .trim_start_matches("/s/")
        .to_owned();
    let plain_read = json(
        anonymous
            .get(app.url(&format!("/api/shared/{plain_token}")))
            .send()
            .await
            .expect("sent"),
    )
    .await;
    assert!(
        plain_read["messages"][1].get("parameters").is_none(),
        "{plain_read}"
    );

    // Mine are listed, not Bob's; Bob cannot share Ada's chat or revoke her links.
    let mine = json(ada.raw(Method::GET, "/api/shares", None).await).await;
    assert_eq!(mine["shares"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        json(bob.raw(Method::GET, "/api/shares", None).await).await["shares"],
        body!([])
    );
    let share_path = format!("/api/shares/{}", share["id"].as_str().expect("id"));
    assert_eq!(
        bob.raw(Method::DELETE, &share_path, None).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        bob.raw(
            Method::POST,
            &format!("/api/chats/{}/shares", chat.id),
            Some(&body!({}))
        )
        .await
        .status(),
        StatusCode::NOT_FOUND
    );

    // Revoked: 404 at once; unknown and malformed tokens too.
    assert_eq!(
        ada.raw(Method::DELETE, &share_path, None).await.status(),
        StatusCode::NO_CONTENT
    );
    for bad in [token.as_str(), "x", &"A".repeat(43), "a%2Fb%2Fc"] {
        let response = anonymous
            .get(app.url(&format!("/api/shared/{bad}")))
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{bad}");
    }
    let empty = ada.new_chat().await;
    let refused = ada
        .raw(
            Method::POST,
            &format!("/api/chats/{}/shares", empty.id),
            Some(&body!({})),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert_eq!(json(refused).await["error"]["code"], "empty_chat");
}

#[tokio::test]
async fn a_signed_in_reader_continues_a_shared_chat_as_a_copy_of_their_own() {
    let (app, _upstream, ada, chat) = spawn_chat(&[]).await;
    ada.update_chat(
        &chat,
        body!({ "title": "Tides", "parameters": {"temperature": 0.4} }),
    )
    .await;
    let answer = ada.send(&chat, "What are tides?").await.done().await;
    let share = json(
        ada.raw(
            Method::POST,
            &format!("/api/chats/{}/shares", chat.id),
            Some(&body!({ "include_parameters": true })),
        )
        .await,
    )
    .await;
    let token = share["url"]
        .as_str()
        .expect("url")
        .trim_start_matches("/s/")
        .to_owned();
    let copy_path = format!("/api/shared/{token}/copy");

    let bob = app.signed_in().await;
    let mut socket = bob.live().await;
    let copied = bob.raw(Method::POST, &copy_path, None).await;
    assert_eq!(copied.status(), StatusCode::CREATED);
    let copy = json(copied).await;
    assert_eq!(copy["title"], "Tides");
    assert_ne!(copy["id"], chat.id.to_string());
    assert_eq!(copy["parameters"]["temperature"], 0.4, "{copy}");
    let created = socket
        .wait_for("chat.created", std::time::Duration::from_secs(5))
        .await
        .expect("chat.created");
    assert_eq!(created["chat_id"], copy["id"]);
    let messages = json(
        bob.raw(
            Method::GET,
            &format!("/api/chats/{}/messages", copy["id"].as_str().expect("id")),
            None,
        )
        .await,
    )
    .await;
    let texts: Vec<&str> = messages["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert_eq!(
        texts,
        ["What are tides?", answer["content"].as_str().expect("text")]
    );
    assert_eq!(
        messages["messages"][1]["parent_id"],
        messages["messages"][0]["id"]
    );
    assert_eq!(copy["current_message_id"], messages["messages"][1]["id"]);
    // The copy is Bob's: he can answer in it. Ada's chat is unchanged.
    bob.send(ChatId::of(&copy["id"]), "And the moon?")
        .await
        .done()
        .await;
    assert_eq!(ada.messages(&chat).await.len(), 2);

    // Signed out: 401; revoked: 404.
    let anonymous = reqwest::Client::new()
        .post(app.url(&copy_path))
        .send()
        .await
        .expect("sent");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    ada.raw(
        Method::DELETE,
        &format!("/api/shares/{}", share["id"].as_str().expect("id")),
        None,
    )
    .await;
    assert_eq!(
        bob.raw(Method::POST, &copy_path, None).await.status(),
        StatusCode::NOT_FOUND
    );
}
