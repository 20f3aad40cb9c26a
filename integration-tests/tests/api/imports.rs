//! Imports: ChatGPT's export (every branch, the current node on screen, tools and images left
//! out and counted), Confab's own export back (the same tree: a round trip), a second import
//! of the same file adding nothing, bad and hostile files refused at once, broken
//! conversations reported, one import at a time per account, another user's import 404, and
//! the job of a process that died failed by the sweep.

use std::{collections::HashMap, io::Write as _, time::Duration};

use integration_tests::{
    ChatId, Message, SignedIn, TestApp, chatgpt, json, spawn_app_with, spawn_chat,
};
use mongodb::bson::{DateTime, doc, oid::ObjectId};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json as body};

async fn post_file(user: &SignedIn, content_type: &str, bytes: Vec<u8>) -> Response {
    user.request(Method::POST, "/api/imports")
        .header("content-type", content_type)
        .header("x-file-name", "conversations.json")
        .body(bytes)
        .send()
        .await
        .expect("sent")
}

/// Starts an import (202) and waits for its end.
async fn import(user: &SignedIn, content_type: &str, bytes: Vec<u8>) -> Value {
    let response = post_file(user, content_type, bytes).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let job = json(response).await;
    assert!(
        job["status"] == "queued" || job["status"] == "running",
        "{job}"
    );
    finished(user, job["id"].as_str().expect("id")).await
}

async fn finished(user: &SignedIn, id: &str) -> Value {
    for _ in 0..300 {
        let job = got(user, &format!("/api/imports/{id}")).await;
        if job["status"] == "done" || job["status"] == "failed" {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the import {id} did not end");
}

/// GET `path` as `user`, asserting 200: the JSON answer.
async fn got(user: &SignedIn, path: &str) -> Value {
    let response = user.raw(Method::GET, path, None).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    json(response).await
}

fn json_bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("serialises")
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    for (name, content) in entries {
        zip.start_file(*name, zip::write::SimpleFileOptions::default())
            .expect("entry");
        zip.write_all(content).expect("written");
    }
    zip.finish().expect("finished");
    out.into_inner()
}

/// A chat's messages by id, and the texts from the root to its current message.
async fn branch_on_screen(user: &SignedIn, chat_id: &str) -> Vec<String> {
    let chat = user.chat(ChatId::from(chat_id)).await;
    let by_id: HashMap<String, Message> = user
        .messages(ChatId::from(chat_id))
        .await
        .into_iter()
        .map(|m| (m.id.to_string(), m))
        .collect();
    let mut texts = Vec::new();
    let mut next = chat["current_message_id"].as_str().map(str::to_owned);
    while let Some(id) = next {
        let message = &by_id[&id];
        texts.push(message["content"].as_str().unwrap_or_default().to_owned());
        next = message["parent_id"].as_str().map(str::to_owned);
    }
    texts.reverse();
    texts
}

async fn chats_titled(user: &SignedIn) -> HashMap<String, String> {
    let page = user.list_chats("limit=50").await;
    page.chats
        .iter()
        .map(|c| {
            (
                c["title"].as_str().unwrap_or_default().to_owned(),
                c["id"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_chatgpt_export_comes_in_with_every_branch_and_twice_adds_nothing() {
    let (app, _upstream, ada, _chat) = spawn_chat(&[]).await;
    let mut file = chatgpt::export(3);
    file.as_array_mut()
        .expect("an array")
        .push(chatgpt::broken(3));
    let mut socket = ada.live().await;
    let job = import(&ada, "application/json", json_bytes(&file)).await;
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["format"], "chatgpt");
    assert_eq!(job["file_name"], "conversations.json");
    assert_eq!(
        job["conversations"],
        body!({"total": 4, "imported": 3, "skipped": 0, "failed": 1})
    );
    assert_eq!(
        job["messages"],
        body!({"imported": 3 * chatgpt::KEPT, "skipped": 3 * chatgpt::LEFT_OUT})
    );
    assert_eq!(job["parts_skipped"], 3 * chatgpt::PARTS_LEFT_OUT);
    let errors = job["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{job}");
    assert_eq!(errors[0]["conversation"], "Broken 3");
    assert_eq!(
        errors[0]["path"],
        "conversations.json[3].mapping.a4-3.parent"
    );
    assert!(
        errors[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("not in the conversation")),
        "{job}"
    );
    // The owner's sockets heard of it, up to its end.
    let mut last = None;
    while let Some(event) = socket
        .wait_for("import.updated", Duration::from_secs(5))
        .await
    {
        let done = event["data"]["status"] == "done";
        last = Some(event);
        if done {
            break;
        }
    }
    assert_eq!(
        last.expect("import.updated events")["data"]["conversations"]["imported"],
        3
    );

    let titles = chats_titled(&ada).await;
    for n in 0..3 {
        let chat_id = &titles[&format!("Conversation {n}")];
        assert_eq!(
            branch_on_screen(&ada, chat_id).await,
            chatgpt::current_branch(n)
        );
        let chat = ada.chat(ChatId::from(chat_id.as_str())).await;
        assert_eq!(
            chat["created_at"],
            "2023-11-14T22:13:20Z".replace("22:13:20", &time_of(n))
        );
        let all = ada.messages(ChatId::from(chat_id.as_str())).await;
        assert_eq!(all.len() as u64, chatgpt::KEPT, "every branch");
        let roots: Vec<&str> = all
            .iter()
            .filter(|m| m["parent_id"].is_null())
            .filter_map(|m| m["content"].as_str())
            .collect();
        assert_eq!(roots.len(), 2, "both versions of the question: {roots:?}");
        assert!(
            all.iter()
                .filter(|m| m["role"] == "assistant")
                .all(|m| m["model"] == "gpt-4o" && m["status"] == "complete")
        );
    }
    assert!(!titles.contains_key("Broken 3"));

    // Again: nothing new.
    let again = import(&ada, "application/json", json_bytes(&file)).await;
    assert_eq!(
        again["conversations"],
        body!({"total": 4, "imported": 0, "skipped": 3, "failed": 1})
    );
    assert_eq!(chats_titled(&ada).await.len(), titles.len());

    // Listed for Ada, newest first; 404 for Bob.
    let listed = got(&ada, "/api/imports").await;
    let ids: Vec<&Value> = listed["imports"]
        .as_array()
        .expect("imports")
        .iter()
        .map(|j| &j["id"])
        .collect();
    assert_eq!(ids, [&again["id"], &job["id"]]);
    let bob = app.signed_in().await;
    let path = format!("/api/imports/{}", job["id"].as_str().expect("id"));
    assert_eq!(
        bob.raw(Method::GET, &path, None).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(got(&bob, "/api/imports").await["imports"], body!([]));
    for bad in ["/api/imports/nope", "/api/imports/000000000000000000000000"] {
        assert_eq!(
            bob.raw(Method::GET, bad, None).await.status(),
            StatusCode::NOT_FOUND
        );
    }
}

/// `create_time` of conversation `n` (1_700_000_000 + 1000 n) as a time of 2023-11-14.
fn time_of(n: usize) -> String {
    let seconds = 22 * 3600 + 13 * 60 + 20 + 1000 * n;
    format!(
        "{:02}:{:02}:{:02}",
        seconds / 3600,
        seconds % 3600 / 60,
        seconds % 60
    )
}

#[tokio::test]
async fn chatgpt_zips_and_multipart_forms_are_read_too() {
    let (_app, _upstream, ada, _chat) = spawn_chat(&[]).await;
    let conversations = json_bytes(&chatgpt::export(2));
    let archive = zip_of(&[
        ("chat.html", b"<html></html>"),
        ("file-abc.png", &[0x89, b'P', b'N', b'G']),
        ("conversations.json", &conversations),
    ]);
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(archive)
            .file_name("chatgpt-export.zip")
            .mime_str("application/zip")
            .expect("mime"),
    );
    let response = ada
        .request(Method::POST, "/api/imports")
        .multipart(form)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let job = json(response).await;
    assert_eq!(job["file_name"], "chatgpt-export.zip");
    let job = finished(&ada, job["id"].as_str().expect("id")).await;
    assert_eq!(job["conversations"]["imported"], 2, "{job}");
    let titles = chats_titled(&ada).await;
    assert_eq!(
        branch_on_screen(&ada, &titles["Conversation 1"]).await,
        chatgpt::current_branch(1)
    );

    // A form without the field `file` names it.
    let form = reqwest::multipart::Form::new().text("other", "x");
    let response = ada
        .request(Method::POST, "/api/imports")
        .multipart(form)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(json(response).await["error"]["fields"]["file"].is_string());
}

#[tokio::test]
async fn a_confab_export_comes_back_as_the_same_tree() {
    let (app, _upstream, ada, chat) = spawn_chat(&[]).await;
    ada.update_chat(
        &chat,
        body!({ "title": "Round trip", "parameters": {"temperature": 0.3, "seed": 7} }),
    )
    .await;
    let first = ada.send(&chat, "What are tides?").await.until_done().await;
    let question = first.question();
    let answer = first.done();
    let again = ada
        .regenerate(&chat, &answer, Some(body!({"top_p": 0.5})))
        .await
        .done()
        .await;
    ada.vote(&chat, &again, body!({ "vote": "up" })).await;
    ada.edit(&chat, &question, "What are spring tides?")
        .await
        .done()
        .await;
    let pinned = ada.update_chat(&chat, body!({ "pinned": true })).await;
    assert_eq!(pinned["pinned"], true);
    let exported = got(&ada, &format!("/api/chats/{}/export", chat.id)).await;

    // Into another account: the same tree, parameters, stats and votes, new ids.
    let bob = app.signed_in().await;
    let job = import(&bob, "application/json", json_bytes(&exported)).await;
    assert_eq!(job["format"], "confab");
    assert_eq!(job["conversations"]["imported"], 1, "{job}");
    let titles = chats_titled(&bob).await;
    let copy_id = &titles["Round trip"];
    let copied = got(&bob, &format!("/api/chats/{copy_id}/export")).await;
    assert_eq!(normalised(&copied), normalised(&exported));
    assert_ne!(copied["chat"]["id"], exported["chat"]["id"]);

    // Into the same account: its own chat is there already.
    let own = import(&ada, "application/json", json_bytes(&exported)).await;
    assert_eq!(
        own["conversations"],
        body!({"total": 1, "imported": 0, "skipped": 1, "failed": 0})
    );

    // The whole account, as a zip: chats and folders by name.
    let folder = json(
        ada.raw(
            Method::POST,
            "/api/folders",
            Some(&body!({ "name": "Science" })),
        )
        .await,
    )
    .await;
    ada.update_chat(&chat, body!({ "folder_id": folder["id"] }))
        .await;
    let preset = ada
        .raw(
            Method::POST,
            "/api/presets",
            Some(&body!({ "name": "Terse", "parameters": {"temperature": 0.2, "max_tokens": 64} })),
        )
        .await;
    assert_eq!(preset.status(), StatusCode::CREATED);
    let other = ada.create_chat(body!({ "title": "Second" })).await;
    ada.send(&other, "Hello").await.done().await;
    let archive = ada
        .raw(Method::GET, "/api/users/me/export", None)
        .await
        .bytes()
        .await
        .expect("the zip")
        .to_vec();
    let carol = app.signed_in().await;
    let job = import(&carol, "application/zip", archive).await;
    assert_eq!(job["conversations"]["imported"], 2, "{job}");
    assert_eq!(job["presets_imported"], 1, "{job}");
    let carol_presets = got(&carol, "/api/presets").await;
    let terse = carol_presets["presets"]
        .as_array()
        .expect("presets")
        .iter()
        .find(|p| p["name"] == "Terse")
        .cloned()
        .expect("the preset came along");
    assert_eq!(
        terse["parameters"],
        body!({"temperature": 0.2, "max_tokens": 64})
    );
    let carol_titles = chats_titled(&carol).await;
    let carol_folders = got(&carol, "/api/folders").await;
    assert_eq!(carol_folders["folders"][0]["name"], "Science");
    let filed = got(
        &carol,
        &format!("/api/chats/{}", carol_titles["Round trip"]),
    )
    .await;
    assert_eq!(filed["folder_id"], carol_folders["folders"][0]["id"]);
    let carol_copy = got(
        &carol,
        &format!("/api/chats/{}/export", carol_titles["Round trip"]),
    )
    .await;
    let mut expected = normalised(&exported);
    expected["chat"]["folder_id"] = body!("(folder)");
    let mut got = normalised(&carol_copy);
    got["chat"]["folder_id"] = body!("(folder)");
    assert_eq!(got, expected);
}

/// An export with ids replaced by their place (message `i`), and export times dropped: what a
/// round trip must keep.
fn normalised(export: &Value) -> Value {
    let mut export = export.clone();
    let messages = export["messages"].as_array().cloned().unwrap_or_default();
    let place: HashMap<String, usize> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| (m["id"].as_str().unwrap_or_default().to_owned(), i))
        .collect();
    let at = |id: &Value| {
        id.as_str()
            .and_then(|id| place.get(id))
            .map_or(Value::Null, |i| body!(format!("m{i}")))
    };
    let normal: Vec<Value> = messages
        .iter()
        .map(|m| {
            let mut m = m.clone();
            m["id"] = at(&m["id"]);
            m["parent_id"] = at(&m["parent_id"]);
            m["chat_id"] = Value::Null;
            m
        })
        .collect();
    export["messages"] = Value::Array(normal);
    export["chat"]["current_message_id"] = at(&export["chat"]["current_message_id"]);
    export["chat"]["id"] = Value::Null;
    export["chat"]["preset_id"] = Value::Null;
    if export["chat"]["folder_id"].is_string() {
        export["chat"]["folder_id"] = body!("(folder)");
    }
    export["exported_at"] = Value::Null;
    export
}

#[tokio::test]
async fn bad_and_hostile_files_are_refused_at_once_saying_where() {
    let app = spawn_app_with(&[("MAX_IMPORT_BYTES", "1000000")]).await;
    let ada = app.signed_in().await;
    // A zip bomb: 50 MB of blanks in a ~50 KB archive, against a 1 MB limit.
    let bomb = zip_of(&[("conversations.json", &vec![b' '; 50 << 20])]);
    assert!(bomb.len() < 200_000, "{}", bomb.len());
    let big = json_bytes(&chatgpt::export(400));
    assert!(big.len() > 1_000_000);
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    // (what, content type, file, status, what the message says)
    let cases: Vec<(&str, &str, Vec<u8>, StatusCode, &str)> = vec![
        (
            "bad JSON",
            "application/json",
            b"[{\"mapping\": {}},\n {\"id\": ]".to_vec(),
            unprocessable,
            "line 2 column",
        ),
        (
            "not JSON",
            "text/plain",
            b"hello, world".to_vec(),
            unprocessable,
            "neither JSON nor a zip",
        ),
        (
            "unknown JSON",
            "application/json",
            b"{\"chats\": []}".to_vec(),
            unprocessable,
            "not a format",
        ),
        (
            "deep JSON",
            "application/json",
            format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes(),
            unprocessable,
            "nested deeper than 64",
        ),
        (
            "zip bomb",
            "application/zip",
            bomb,
            StatusCode::PAYLOAD_TOO_LARGE,
            "more than 1000000 bytes",
        ),
        (
            "torn zip",
            "application/zip",
            b"PK\x03\x04 torn".to_vec(),
            unprocessable,
            "zip",
        ),
        (
            "zip of nothing known",
            "application/zip",
            zip_of(&[("notes.txt", b"hi")]),
            unprocessable,
            "conversations.json",
        ),
        (
            "zip of bad JSON",
            "application/zip",
            zip_of(&[("conversations.json", b"[{\"mapping\": }]")]),
            unprocessable,
            "conversations.json: ",
        ),
        (
            "too large",
            "application/json",
            big,
            StatusCode::PAYLOAD_TOO_LARGE,
            "larger than the limit",
        ),
        (
            "empty",
            "application/json",
            Vec::new(),
            unprocessable,
            "empty",
        ),
    ];
    for (what, content_type, file, status, says) in cases {
        let response = post_file(&ada, content_type, file).await;
        assert_eq!(response.status(), status, "{what}");
        let error = json(response).await["error"].clone();
        let expected_code = if status == unprocessable {
            "invalid_file"
        } else {
            "payload_too_large"
        };
        assert_eq!(error["code"], expected_code, "{what}: {error}");
        let message = error["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{what}: {message}");
    }

    // Signed out: 401. Nothing was imported by any of it.
    let anonymous = reqwest::Client::new()
        .post(app.url("/api/imports"))
        .body(json_bytes(&chatgpt::export(1)))
        .send()
        .await
        .expect("sent");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(got(&ada, "/api/imports").await["imports"] == body!([]));
}

#[tokio::test]
async fn one_import_at_a_time_and_a_dead_process_s_job_ends_failed() {
    let app: TestApp = spawn_app_with(&[]).await;
    let ada = app.signed_in().await;
    let user_id = ObjectId::parse_str(ada.user_id()).expect("id");
    // A job of a process that is gone, still marked active.
    let ghost = ObjectId::new();
    let imports = app
        .db()
        .await
        .collection::<mongodb::bson::Document>("imports");
    imports
        .insert_one(doc! {
            "_id": ghost, "user_id": user_id, "status": "running", "active": true,
            "format": "chatgpt", "owner": "a-process-that-died",
            "conversations": {"total": 10, "imported": 4, "skipped": 0, "failed": 0},
            "messages": {"imported": 8, "skipped": 0}, "parts_skipped": 0_i64,
            "errors": [], "created_at": DateTime::now(),
        })
        .await
        .expect("inserted");
    // While it is active, another is refused.
    let busy = post_file(&ada, "application/json", json_bytes(&chatgpt::export(1))).await;
    assert_eq!(busy.status(), StatusCode::CONFLICT);
    assert_eq!(json(busy).await["error"]["code"], "import_running");
    // The sweep fails it; then an import starts.
    let failed = finished(&ada, &ghost.to_hex()).await;
    assert_eq!(failed["status"], "failed");
    assert!(
        failed["error"]
            .as_str()
            .is_some_and(|e| e.contains("import the file again")),
        "{failed}"
    );
    assert_eq!(failed["conversations"]["imported"], 4, "the counts stay");
    let job = import(&ada, "application/json", json_bytes(&chatgpt::export(1))).await;
    assert_eq!(job["status"], "done");
}

#[tokio::test]
async fn a_conversation_is_stored_whole_or_not_at_all_and_once() {
    let app = spawn_app_with(&[]).await;
    let ada = app.signed_in().await;
    let user_id = ObjectId::parse_str(ada.user_id()).expect("id");
    let parsed =
        confab::import::chatgpt::conversation(&chatgpt::conversation(1), user_id).expect("parses");
    let store = &app.state.store;
    assert!(
        store
            .insert_conversation(&parsed.chat, &parsed.messages, &parsed.votes)
            .await
            .expect("stored")
    );
    // The same source again, under new ids (a second import racing the first): nothing.
    let again =
        confab::import::chatgpt::conversation(&chatgpt::conversation(1), user_id).expect("parses");
    assert!(
        !store
            .insert_conversation(&again.chat, &again.messages, &again.votes)
            .await
            .expect("refused cleanly")
    );
    let db = app.db().await;
    let messages = db.collection::<mongodb::bson::Document>("messages");
    let count = |chat_id: ObjectId| {
        let messages = messages.clone();
        async move {
            messages
                .count_documents(doc! { "chat_id": chat_id })
                .await
                .expect("counted")
        }
    };
    assert_eq!(count(parsed.chat.id).await, chatgpt::KEPT);
    assert_eq!(
        count(again.chat.id).await,
        0,
        "no message of the refused copy"
    );
    // Several at once: one already there fails them all, and writes none.
    let fresh =
        confab::import::chatgpt::conversation(&chatgpt::conversation(2), user_id).expect("parses");
    let chats = [&fresh.chat, &again.chat];
    let all: Vec<_> = fresh.messages.iter().chain(&again.messages).collect();
    assert!(store.insert_conversations(&chats, &all, &[]).await.is_err());
    assert_eq!(count(fresh.chat.id).await, 0);
    assert_eq!(
        db.collection::<mongodb::bson::Document>("chats")
            .count_documents(doc! { "user_id": user_id })
            .await
            .expect("counted"),
        1
    );
}
