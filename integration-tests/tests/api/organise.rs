//! Organising chats: pinned chats first (across pages), archived ones out of the list but
//! found by search, folders (unique names, their chats listed by folder, deleting one keeps
//! its chats), and another user's folder is 404 everywhere.

use integration_tests::{Chat, SignedIn, json, spawn_chat};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json as body};

fn titles(page: &integration_tests::ChatPage) -> Vec<String> {
    page.chats
        .iter()
        .map(|c| c["title"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Every page of `query`, following `next_cursor`.
async fn all_pages(user: &SignedIn, query: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..20 {
        let q = match &cursor {
            Some(c) => format!("{query}&cursor={c}"),
            None => query.to_owned(),
        };
        let page = user.list_chats(&q).await;
        seen.extend(titles(&page));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return seen,
        }
    }
    panic!("too many pages: {seen:?}");
}

async fn titled(user: &SignedIn, title: &str) -> Chat {
    user.create_chat(body!({ "title": title })).await
}

async fn folder(user: &SignedIn, name: &str) -> Value {
    let response = user
        .raw(Method::POST, "/api/folders", Some(&body!({ "name": name })))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    json(response).await
}

#[tokio::test]
async fn pinned_chats_come_first_on_every_page_and_archived_ones_only_when_asked() {
    let (_app, _upstream, ada, _first) = spawn_chat(&[]).await;
    // Oldest first: c1 … c6 (each newer than the one before).
    let mut chats = Vec::new();
    for i in 1..=6 {
        chats.push(titled(&ada, &format!("c{i}")).await);
    }
    // Pin two old ones; pinning is not activity: they keep their order among the pinned.
    for i in [0, 2] {
        let pinned = ada.update_chat(&chats[i], body!({ "pinned": true })).await;
        assert_eq!(pinned["pinned"], true);
        assert_eq!(pinned["updated_at"], chats[i]["updated_at"], "not activity");
    }
    let archived = ada
        .update_chat(&chats[4], body!({ "archived": true }))
        .await;
    assert_eq!(archived["archived"], true);

    // Pages of two: the pinned first, newest first, then the others; the archived one left out.
    let listed = all_pages(&ada, "limit=2").await;
    assert_eq!(listed[..5], ["c3", "c1", "c6", "c4", "c2"], "{listed:?}");
    assert!(!listed.contains(&"c5".to_owned()));

    // Only the archived ones; search finds it with its marker.
    assert_eq!(all_pages(&ada, "archived=true").await, ["c5"]);
    let found = ada.list_chats("q=c5").await;
    assert_eq!(titles(&found), ["c5"]);
    assert_eq!(found.chats[0]["archived"], true);

    // Unpinned and brought back: stored as no value, listed by activity again.
    ada.update_chat(&chats[2], body!({ "pinned": false })).await;
    let back = ada
        .update_chat(&chats[4], body!({ "archived": false }))
        .await;
    assert_eq!(
        (back["archived"].clone(), back["pinned"].clone()),
        (body!(false), body!(false))
    );
    let listed = all_pages(&ada, "limit=4").await;
    assert_eq!(
        listed[..6],
        ["c1", "c6", "c5", "c4", "c3", "c2"],
        "{listed:?}"
    );
    for bad in [body!({ "pinned": "yes" }), body!({ "archived": 1 })] {
        let refused = ada.try_update_chat(&chats[0], &bad).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
}

#[tokio::test]
async fn folders_hold_chats_and_deleting_one_keeps_them() {
    let (app, _upstream, ada, _first) = spawn_chat(&[]).await;
    let bob = app.signed_in().await;
    let work = folder(&ada, " Work ").await;
    assert_eq!(work["name"], "Work");
    let home = folder(&ada, "Home").await;
    let duplicate = ada
        .raw(
            Method::POST,
            "/api/folders",
            Some(&body!({ "name": "work" })),
        )
        .await;
    assert_eq!(duplicate.status(), StatusCode::CONFLICT);
    let listed = json(ada.raw(Method::GET, "/api/folders", None).await).await;
    let names: Vec<&str> = listed["folders"]
        .as_array()
        .expect("folders")
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert_eq!(names, ["Work", "Home"]);

    let report = titled(&ada, "report").await;
    let recipe = titled(&ada, "recipe").await;
    let filed = ada
        .update_chat(&report, body!({ "folder_id": work["id"] }))
        .await;
    assert_eq!(filed["folder_id"], work["id"]);
    ada.update_chat(&recipe, body!({ "folder_id": home["id"] }))
        .await;
    let in_work = format!("folder_id={}", work["id"].as_str().expect("id"));
    assert_eq!(titles(&ada.list_chats(&in_work).await), ["report"]);

    // Another user's folder: 404 to list by, to file into, to change, to delete.
    let path = format!("/api/folders/{}", work["id"].as_str().expect("id"));
    assert_eq!(
        bob.try_list_chats(&in_work).await.status(),
        StatusCode::NOT_FOUND
    );
    let bobs = titled(&bob, "bob's").await;
    assert_eq!(
        bob.try_update_chat(&bobs, &body!({ "folder_id": work["id"] }))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    for (method, change) in [
        (Method::PATCH, Some(body!({ "name": "Mine" }))),
        (Method::DELETE, None),
    ] {
        let response = bob.raw(method.clone(), &path, change.as_ref()).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{method}");
    }

    // Renamed and reordered; moved out with null.
    let renamed = json(
        ada.raw(
            Method::PATCH,
            &path,
            Some(&body!({ "name": "Office", "order": 5 })),
        )
        .await,
    )
    .await;
    assert_eq!(
        (renamed["name"].clone(), renamed["order"].clone()),
        (body!("Office"), body!(5))
    );
    let out = ada.update_chat(&recipe, body!({ "folder_id": null })).await;
    assert_eq!(out["folder_id"], Value::Null);

    // Deleting the folder keeps its chats, out of any folder.
    let deleted = ada.raw(Method::DELETE, &path, None).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let kept = ada.chat(&report).await;
    assert_eq!(kept["folder_id"], Value::Null);
    assert_eq!(
        ada.try_list_chats(&in_work).await.status(),
        StatusCode::NOT_FOUND
    );
    for bad in [
        body!({ "name": "" }),
        body!({ "name": "   " }),
        body!({ "name": "x".repeat(101) }),
    ] {
        let refused = ada.raw(Method::POST, "/api/folders", Some(&bad)).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
}

#[tokio::test]
async fn a_fork_holds_the_branch_up_to_its_message_with_stats_and_without_votes() {
    let (app, _upstream, ada, chat) = spawn_chat(&[]).await;
    let bob = app.signed_in().await;
    ada.update_chat(
        &chat,
        body!({ "title": "Tides", "parameters": { "temperature": 0.4 } }),
    )
    .await;
    let first = ada
        .send(
            &chat,
            body!({ "content": "What are tides?", "parameters": { "seed": 3 } }),
        )
        .await
        .done()
        .await;
    ada.vote(&chat, &first, body!({ "vote": "up" })).await;
    // Another version of the first answer, then a second exchange under the first version.
    ada.regenerate(&chat, &first, None).await.done().await;
    let second = ada
        .send(
            &chat,
            body!({ "content": "And spring tides?", "parent_id": first["id"] }),
        )
        .await
        .done()
        .await;
    let before = ada.messages(&chat).await.len();

    let path = format!("/api/chats/{}/messages/{}/fork", chat.id, second.id);
    let response = ada.raw(Method::POST, &path, None).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let fork = json(response).await;
    assert_ne!(fork["id"].as_str(), Some(chat.id.to_string().as_str()));
    assert_eq!(fork["title"], "Tides");
    assert_eq!(fork["parameters"]["temperature"], 0.4);
    let fork_id = fork["id"].as_str().expect("id").to_owned();
    let copied = json(
        ada.raw(Method::GET, &format!("/api/chats/{fork_id}/messages"), None)
            .await,
    )
    .await["messages"]
        .as_array()
        .expect("messages")
        .clone();
    let shape: Vec<(Value, Value)> = copied
        .iter()
        .map(|m| (m["role"].clone(), m["content"].clone()))
        .collect();
    assert_eq!(
        shape,
        [
            (body!("user"), body!("What are tides?")),
            (body!("assistant"), first["content"].clone()),
            (body!("user"), body!("And spring tides?")),
            (body!("assistant"), second["content"].clone()),
        ],
        "the branch up to the message, not the other version"
    );
    assert_eq!(copied[1]["parameters"]["seed"], 3, "parameters kept");
    assert_eq!(copied[1]["usage"], first["usage"], "stats kept");
    assert_eq!(copied[1]["vote"], Value::Null, "votes not");
    for pair in copied.windows(2) {
        assert_eq!(pair[1]["parent_id"], pair[0]["id"]);
    }
    assert_eq!(fork["current_message_id"], copied[3]["id"]);
    // The original is as it was.
    assert_eq!(ada.messages(&chat).await.len(), before);

    // Another user's chat, an unknown message, a message of another chat: 404.
    assert_eq!(
        bob.raw(Method::POST, &path, None).await.status(),
        StatusCode::NOT_FOUND
    );
    for bad in [
        format!(
            "/api/chats/{}/messages/{}/fork",
            chat.id,
            mongodb::bson::oid::ObjectId::new()
        ),
        format!("/api/chats/{fork_id}/messages/{}/fork", second.id),
        format!("/api/chats/{}/messages/not-an-id/fork", chat.id),
    ] {
        assert_eq!(
            ada.raw(Method::POST, &bad, None).await.status(),
            StatusCode::NOT_FOUND,
            "{bad}"
        );
    }
}

#[tokio::test]
async fn a_chat_exports_as_its_whole_tree_in_json_and_its_branch_in_markdown() {
    let (app, upstream, ada, chat) = spawn_chat(&[]).await;
    let bob = app.signed_in().await;
    ada.update_chat(&chat, body!({ "title": "Tides: a study" }))
        .await;
    let first = ada.send(&chat, "What are tides?").await.done().await;
    ada.vote(&chat, &first, body!({ "vote": "up" })).await;
    upstream.set_behaviour(integration_tests::fake_upstream::Behaviour {
        reply: Some("Second version.".to_owned()),
        ..Default::default()
    });
    let again = ada.regenerate(&chat, &first, None).await.done().await;

    let response = ada
        .raw(Method::GET, &format!("/api/chats/{}/export", chat.id), None)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-disposition"],
        "attachment; filename=\"Tides_ a study.json\""
    );
    let export = json(response).await;
    assert_eq!(
        (export["format"].clone(), export["version"].clone()),
        (body!("confab.chat"), body!(1))
    );
    assert_eq!(export["chat"]["title"], "Tides: a study");
    let messages = export["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 3, "the question and both versions");
    let voted: Vec<&Value> = messages.iter().filter(|m| m["vote"] == "up").collect();
    assert_eq!(voted.len(), 1);
    assert_eq!(voted[0]["id"], first["id"]);
    assert!(
        messages
            .iter()
            .filter(|m| m["role"] == "assistant")
            .all(|m| m["usage"]["completion_tokens"]
                .as_u64()
                .is_some_and(|n| n > 0)),
        "every answer's stats"
    );

    let markdown = ada
        .raw(
            Method::GET,
            &format!("/api/chats/{}/export?format=markdown", chat.id),
            None,
        )
        .await;
    assert_eq!(markdown.status(), StatusCode::OK);
    assert!(
        markdown.headers()["content-type"]
            .to_str()
            .is_ok_and(|t| t.starts_with("text/markdown"))
    );
    let text = markdown.text().await.expect("text");
    assert!(text.starts_with("# Tides: a study\n"), "{text}");
    assert!(text.contains("## You\n\nWhat are tides?"), "{text}");
    let shown = again["content"].as_str().expect("content");
    assert!(
        text.contains(shown),
        "the branch on screen: the second version\n{text}"
    );
    assert!(
        !text.contains(first["content"].as_str().expect("content")),
        "{text}"
    );

    assert_eq!(
        bob.raw(Method::GET, &format!("/api/chats/{}/export", chat.id), None)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        ada.raw(
            Method::GET,
            &format!("/api/chats/{}/export?format=pdf", chat.id),
            None
        )
        .await
        .status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

#[tokio::test]
async fn the_whole_account_exports_as_a_streamed_zip_of_one_file_per_chat() {
    use std::io::Read as _;
    let (app, _upstream, ada, chat) = spawn_chat(&[]).await;
    let bob = app.signed_in().await;
    let first = ada.send(&chat, "What are tides?").await.done().await;
    ada.vote(&chat, &first, body!({ "vote": "down" })).await;
    let mut ids = vec![chat.id.to_string()];
    for i in 0..24 {
        ids.push(titled(&ada, &format!("chat {i}")).await.id.to_string());
    }
    folder(&ada, "Work").await;
    titled(&bob, "bob's").await;

    let response = ada.raw(Method::GET, "/api/users/me/export", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/zip");
    assert!(
        response.headers().get("content-length").is_none(),
        "streamed"
    );
    let bytes = response.bytes().await.expect("body");
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).expect("a zip");
    let mut read = |name: &str| -> Value {
        let mut text = String::new();
        archive
            .by_name(name)
            .unwrap_or_else(|_| panic!("{name} in the zip"))
            .read_to_string(&mut text)
            .expect("utf-8");
        serde_json::from_str(&text).expect("JSON")
    };
    let manifest = read("manifest.json");
    assert_eq!(manifest["format"], "confab.account");
    let mut listed: Vec<String> = manifest["chats"]
        .as_array()
        .expect("chats")
        .iter()
        .filter_map(|c| c.as_str().map(str::to_owned))
        .collect();
    listed.sort();
    let mut expected: Vec<String> = ids.iter().map(|id| format!("chats/{id}.json")).collect();
    expected.sort();
    assert_eq!(
        listed, expected,
        "every chat of hers (25, over two rounds), none of Bob's"
    );
    let tides = read(&format!("chats/{}.json", chat.id));
    assert_eq!(tides["format"], "confab.chat");
    assert_eq!(tides["messages"].as_array().map(Vec::len), Some(2));
    assert_eq!(tides["messages"][1]["vote"], "down");
    assert_eq!(read("folders.json")[0]["name"], "Work");
    assert_eq!(read("votes.json")[0]["vote"], "down");
    assert_eq!(read("presets.json"), body!([]));
    assert!(!manifest.to_string().contains("password"), "{manifest}");
}

#[tokio::test]
async fn folder_changes_reach_every_open_client() {
    let (_app, _upstream, ada, chat) = spawn_chat(&[]).await;
    let mut socket = ada.live().await;
    let wait = std::time::Duration::from_secs(5);
    let work = folder(&ada, "Work").await;
    let created = socket
        .wait_for("folder.created", wait)
        .await
        .expect("folder.created");
    assert_eq!(created["folder_id"], work["id"]);
    assert_eq!(created["data"]["name"], "Work");

    let renamed = ada
        .raw(
            Method::PATCH,
            &format!("/api/folders/{}", work["id"].as_str().expect("id")),
            Some(&body!({ "name": "Projects", "order": 3 })),
        )
        .await;
    assert_eq!(renamed.status(), StatusCode::OK);
    let updated = socket
        .wait_for("folder.updated", wait)
        .await
        .expect("folder.updated");
    assert_eq!(
        (
            updated["data"]["name"].clone(),
            updated["data"]["order"].clone()
        ),
        (body!("Projects"), body!(3))
    );

    ada.update_chat(&chat, body!({ "folder_id": work["id"] }))
        .await;
    let deleted = ada
        .raw(
            Method::DELETE,
            &format!("/api/folders/{}", work["id"].as_str().expect("id")),
            None,
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = socket
        .wait_for("folder.deleted", wait)
        .await
        .expect("folder.deleted");
    assert_eq!(gone["folder_id"], work["id"]);
    let out = socket
        .wait_for("chat.updated", wait)
        .await
        .expect("chat.updated");
    assert_eq!(out["data"]["folder_id"], Value::Null);
}
