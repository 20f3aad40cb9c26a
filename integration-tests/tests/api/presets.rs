//! Presets: named parameter sets, private to their owner (another user's is 404), plus shared
//! ones that admins make and every user sees read-only (403). A chat copies a preset's
//! parameters (later edits of the preset change nothing in it); its answers record the preset.

use integration_tests::{SignedIn, expect_field_error, json, spawn_chat};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json as body};

async fn create(user: &SignedIn, preset: Value) -> reqwest::Response {
    user.raw(Method::POST, "/api/presets", Some(&preset)).await
}

async fn created(user: &SignedIn, preset: Value) -> Value {
    let response = create(user, preset).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    json(response).await
}

async fn listed(user: &SignedIn) -> Vec<Value> {
    let response = user.raw(Method::GET, "/api/presets", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    json(response).await["presets"]
        .as_array()
        .expect("presets")
        .clone()
}

fn names(presets: &[Value]) -> Vec<&str> {
    presets
        .iter()
        .map(|p| p["name"].as_str().expect("name"))
        .collect()
}

async fn patch(user: &SignedIn, id: &Value, change: Value) -> reqwest::Response {
    let path = format!("/api/presets/{}", id.as_str().expect("id"));
    user.raw(Method::PATCH, &path, Some(&change)).await
}

async fn delete(user: &SignedIn, id: &Value) -> reqwest::Response {
    let path = format!("/api/presets/{}", id.as_str().expect("id"));
    user.raw(Method::DELETE, &path, None).await
}

#[tokio::test]
async fn presets_are_private_to_their_owner_and_shared_ones_read_only_for_users() {
    let (app, _upstream, admin, _chat) = spawn_chat(&[]).await;
    let ada = app.signed_in().await;
    let bob = app.signed_in().await;
    assert_eq!(admin.session.user["role"], "admin");

    let precise = created(
        &ada,
        body!({ "name": " Precise ", "parameters": { "temperature": 0.1, "seed": 7 } }),
    )
    .await;
    assert_eq!(precise["name"], "Precise", "trimmed");
    assert_eq!(
        (precise["shared"].clone(), precise["editable"].clone()),
        (body!(false), body!(true))
    );
    assert_eq!(
        precise["parameters"],
        body!({ "temperature": 0.1, "seed": 7 })
    );
    let house = created(
        &admin,
        body!({ "name": "House style", "parameters": { "temperature": 0.7 }, "shared": true }),
    )
    .await;
    assert_eq!(house["shared"], true);

    // Ada sees the shared one (first) and her own; Bob only the shared one.
    assert_eq!(names(&listed(&ada).await), ["House style", "Precise"]);
    assert_eq!(names(&listed(&bob).await), ["House style"]);
    let for_bob = &listed(&bob).await[0];
    assert_eq!(for_bob["editable"], false);

    // Another user's preset is 404, for everything.
    assert_eq!(
        patch(&bob, &precise["id"], body!({ "name": "Mine" }))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        delete(&bob, &precise["id"]).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        delete(&admin, &precise["id"]).await.status(),
        StatusCode::NOT_FOUND,
        "admins too"
    );
    // A shared one is read-only for users (403), not for admins.
    assert_eq!(
        patch(&bob, &house["id"], body!({ "name": "Bob's" }))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        delete(&ada, &house["id"]).await.status(),
        StatusCode::FORBIDDEN
    );
    // Only admins share.
    let refused = create(
        &ada,
        body!({ "name": "Mine for all", "parameters": {}, "shared": true }),
    )
    .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        patch(&ada, &precise["id"], body!({ "shared": true }))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );

    // The owner renames and changes it.
    let renamed = json(
        patch(
            &ada,
            &precise["id"],
            body!({ "name": "Exact", "parameters": { "temperature": 0.0 } }),
        )
        .await,
    )
    .await;
    assert_eq!(
        (renamed["name"].clone(), renamed["parameters"].clone()),
        (body!("Exact"), body!({ "temperature": 0.0 }))
    );
    let renamed_house = patch(&admin, &house["id"], body!({ "name": "House" })).await;
    assert_eq!(renamed_house.status(), StatusCode::OK);
    assert_eq!(names(&listed(&bob).await), ["House"]);

    // Names are unique per owner (case aside), not across owners.
    let taken = create(&ada, body!({ "name": "exact", "parameters": {} })).await;
    assert_eq!(taken.status(), StatusCode::CONFLICT);
    created(&bob, body!({ "name": "Exact", "parameters": {} })).await;

    // Deleted: gone for the owner; the shared one for everyone.
    assert_eq!(
        delete(&ada, &precise["id"]).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        delete(&admin, &house["id"]).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(names(&listed(&ada).await), Vec::<&str>::new());
    assert_eq!(names(&listed(&bob).await), ["Exact"]);
}

#[tokio::test]
async fn bad_presets_are_refused_naming_the_field() {
    let (_app, _upstream, ada, _chat) = spawn_chat(&[]).await;
    let cases = [
        ("name", body!({ "name": "   ", "parameters": {} })),
        ("name", body!({ "name": "x".repeat(101), "parameters": {} })),
        (
            "parameters.temperature",
            body!({ "name": "hot", "parameters": { "temperature": 9 } }),
        ),
        (
            "parameters.model",
            body!({ "name": "who", "parameters": { "model": "gpt-17" } }),
        ),
    ];
    for (field, preset) in cases {
        expect_field_error(
            create(&ada, preset.clone()).await,
            field,
            &preset.to_string(),
        )
        .await;
    }
    let bad_id = ada
        .raw(
            Method::PATCH,
            "/api/presets/not-an-id",
            Some(&body!({ "name": "x" })),
        )
        .await;
    assert_eq!(bad_id.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_chat_copies_a_presets_parameters_and_its_answers_record_it() {
    let (app, upstream, ada, _chat) = spawn_chat(&[]).await;
    let bob = app.signed_in().await;
    let preset = created(&ada, body!({ "name": "Terse", "parameters": { "temperature": 0.2, "max_tokens": 40, "system_prompt": "Be terse." } })).await;
    let id = preset["id"].clone();

    let chat = ada.create_chat(body!({ "preset_id": id })).await;
    assert_eq!(chat["parameters"], preset["parameters"]);
    assert_eq!(chat["preset_id"], id);
    let answer = ada.send(&chat, "hello").await.done().await;
    assert_eq!(answer["preset_id"], id, "the answer records its preset");
    let sent = upstream.last_request().expect("request");
    assert_eq!(
        (sent["temperature"].clone(), sent["max_tokens"].clone()),
        (body!(0.2), body!(40))
    );
    assert_eq!(sent["messages"][0]["content"], "Be terse.");

    // An override on one message: that answer's parameters are not the preset's.
    let overridden = ada
        .send(
            &chat,
            body!({ "content": "again", "parameters": { "temperature": 1.0 } }),
        )
        .await
        .done()
        .await;
    assert!(overridden.get("preset_id").is_none(), "{overridden}");

    // Later edits of the preset do not change the chat.
    patch(&ada, &id, body!({ "parameters": { "temperature": 1.5 } })).await;
    assert_eq!(ada.chat(&chat).await["parameters"]["temperature"], 0.2);

    // Applied to an existing chat: a copy again (of the preset as it is now).
    let other = ada.new_chat().await;
    let applied = ada.update_chat(&other, body!({ "preset_id": id })).await;
    assert_eq!(applied["parameters"], body!({ "temperature": 1.5 }));
    assert_eq!(applied["preset_id"], id);
    // Parameters set by hand: no longer from the preset.
    let by_hand = ada
        .update_chat(&other, body!({ "parameters": { "temperature": 0.9 } }))
        .await;
    assert!(by_hand.get("preset_id").is_none(), "{by_hand}");
    let answer = ada.send(&other, "and?").await.done().await;
    assert!(answer.get("preset_id").is_none());

    // Someone else's preset, a malformed id, or a preset with parameters too: 422 naming it.
    let response = bob.try_create_chat(&body!({ "preset_id": id })).await;
    expect_field_error(response, "preset_id", "another user's preset").await;
    let response = ada.try_create_chat(&body!({ "preset_id": "nope" })).await;
    expect_field_error(response, "preset_id", "not an id").await;
    let response = ada
        .try_update_chat(&other, &body!({ "preset_id": id, "parameters": {} }))
        .await;
    expect_field_error(response, "preset_id", "both").await;
    // Deleting the preset leaves the chats' parameters.
    assert_eq!(delete(&ada, &id).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(ada.chat(&chat).await["parameters"]["temperature"], 0.2);
}

#[tokio::test]
async fn a_deleted_account_takes_its_presets_but_not_the_shared_ones_it_made() {
    let (app, _upstream, admin, _chat) = spawn_chat(&[]).await;
    let ada = app.signed_in().await;
    created(&ada, body!({ "name": "Mine", "parameters": {} })).await;
    created(
        &admin,
        body!({ "name": "For all", "parameters": {}, "shared": true }),
    )
    .await;
    let db = app.db().await;
    let presets = db.collection::<mongodb::bson::Document>("presets");
    assert_eq!(
        presets
            .count_documents(mongodb::bson::doc! {})
            .await
            .expect("count"),
        2
    );
    let response = ada
        .raw(
            Method::DELETE,
            "/api/users/me",
            Some(&body!({ "password": ada.credentials.password })),
        )
        .await;
    assert!(response.status().is_success(), "{}", response.status());
    assert_eq!(
        presets
            .count_documents(mongodb::bson::doc! {})
            .await
            .expect("count"),
        1
    );
    assert_eq!(names(&listed(&admin).await), ["For all"]);
}
