//! One's own account: signed-in sessions (listed, ended one by one or all but this one),
//! changing the password, and deleting the account with everything it owns — also when the
//! process dies midway.

use std::time::Duration;

use integration_tests::{
    Ended, SignedIn, TestApp, json, spawn_app_with, spawn_chat, spawn_pair_with,
};
use mongodb::bson::{DateTime, Document, doc, oid::ObjectId};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn expect(response: reqwest::Response, status: StatusCode) -> Value {
    let got = response.status();
    let text = response.text().await.unwrap_or_default();
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    assert_eq!(got, status, "{text}");
    body
}

async fn sessions(user: &SignedIn) -> Vec<Value> {
    let listed = expect(
        user.raw(Method::GET, "/api/users/me/sessions", None).await,
        StatusCode::OK,
    )
    .await;
    listed.as_array().expect("a list").clone()
}

#[tokio::test]
async fn sessions_are_listed_with_device_and_address_and_ended_one_by_one_everywhere() {
    let (a, b) = spawn_pair_with(&[]).await;
    let ada = a.signed_in().await;
    let phone = ada.another_session().await;
    let listed = sessions(&ada).await;
    assert_eq!(listed.len(), 2);
    let current: Vec<&Value> = listed.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    let phone_id = listed
        .iter()
        .find(|s| s["current"] == false)
        .expect("the other")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    for session in &listed {
        assert_eq!(session["address"], "127.0.0.0/24");
        assert!(session["device"].as_str().is_some_and(|d| !d.is_empty()));
        assert!(session["last_used_at"].is_string() && session["created_at"].is_string());
    }
    // Another user's session is not ours to end.
    let eve = a.signed_in().await;
    let eve_path = format!("/api/users/me/sessions/{phone_id}");
    assert_eq!(
        eve.raw(Method::DELETE, &eve_path, None).await.status(),
        StatusCode::NOT_FOUND
    );

    let mut socket = phone.on(&b).live().await;
    assert_eq!(
        ada.raw(Method::DELETE, &eve_path, None).await.status(),
        StatusCode::NO_CONTENT
    );
    // Its socket on the other process closes, its access token is refused there and here,
    // its refresh token is dead.
    assert_eq!(
        socket.ended(Duration::from_secs(5)).await,
        Ended::Closed(4001)
    );
    for app in [&a, &b] {
        let me = phone.on(app).raw(Method::GET, "/api/users/me", None).await;
        assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        a.refresh(&phone.session.refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // The session of the request is ended by signing out, not here.
    let current = listed
        .iter()
        .find(|s| s["current"] == true)
        .expect("current")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let this_one = ada
        .raw(
            Method::DELETE,
            &format!("/api/users/me/sessions/{current}"),
            None,
        )
        .await;
    assert_eq!(
        expect(this_one, StatusCode::CONFLICT).await["error"]["code"],
        "current_session"
    );
    // This session goes on; ending it twice is 404.
    assert_eq!(sessions(&ada).await.len(), 1);
    assert_eq!(
        ada.raw(Method::DELETE, &eve_path, None).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn revoke_others_ends_every_session_but_this_one() {
    let app = spawn_app_with(&[]).await;
    let ada = app.signed_in().await;
    let others = [ada.another_session().await, ada.another_session().await];
    let ended = expect(
        ada.raw(Method::POST, "/api/users/me/sessions/revoke-others", None)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(ended["revoked"], 2);
    for other in &others {
        assert_eq!(
            other.raw(Method::GET, "/api/users/me", None).await.status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            app.refresh(&other.session.refresh).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        ada.raw(Method::GET, "/api/users/me", None).await.status(),
        StatusCode::OK
    );
    let listed = sessions(&ada).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["current"], true);
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_every_other_session() {
    let app = spawn_app_with(&[]).await;
    let ada = app.signed_in().await;
    let other = ada.another_session().await;
    let wrong = ada
        .raw(
            Method::PUT,
            "/api/users/me/password",
            Some(
                &json!({ "current_password": "wrong one", "new_password": "a brand new password" }),
            ),
        )
        .await;
    let body = expect(wrong, StatusCode::FORBIDDEN).await;
    assert_eq!(body["error"]["code"], "wrong_password");
    let short = ada
        .raw(
            Method::PUT,
            "/api/users/me/password",
            Some(&json!({ "current_password": ada.credentials.password, "new_password": "short" })),
        )
        .await;
    let body = expect(short, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(
        body["error"]["fields"]["new_password"].is_string(),
        "{body}"
    );
    let changed = ada
        .raw(Method::PUT, "/api/users/me/password", Some(&json!({ "current_password": ada.credentials.password, "new_password": "a brand new password" })))
        .await;
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        other.raw(Method::GET, "/api/users/me", None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        ada.raw(Method::GET, "/api/users/me", None).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.try_login(&ada.credentials.email, &ada.credentials.password)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    app.login(&ada.credentials.email, "a brand new password")
        .await;
}

/// Every document of every collection that names the user (by `user_id`, `_id`, or in its
/// key), apart from the audit log (the admins' record).
async fn owned_by(app: &TestApp, user: ObjectId) -> Vec<String> {
    let db = app.db().await;
    let mut found = Vec::new();
    for name in db.list_collection_names().await.expect("collections") {
        if name == "audit" {
            continue;
        }
        let collection = db.collection::<Document>(&name);
        let filter = doc! { "$or": [
            { "user_id": user },
            { "_id": user },
            { "created_by": user },
            { "_id": { "$regex": user.to_hex() } },
        ] };
        let count = collection.count_documents(filter).await.expect("count");
        if count > 0 {
            found.push(format!("{name}: {count}"));
        }
    }
    found
}

/// A user with a bit of everything: chats, messages, a vote, two sessions, usage, events.
async fn busy_user(app: &TestApp, ada: &SignedIn, chat: &integration_tests::Chat) {
    let done = ada.send(chat, "hello").await.done().await;
    ada.vote(chat, &done.id, json!({ "vote": "up" })).await;
    ada.another_session().await;
    // The answer's usage and the log's events are written.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let user = ObjectId::parse_str(ada.user_id()).expect("id");
    let before = owned_by(app, user).await;
    for kind in ["chats", "messages", "votes", "sessions", "usage", "events"] {
        assert!(
            before.iter().any(|f| f.starts_with(kind)),
            "{kind} in {before:?}"
        );
    }
}

#[tokio::test]
async fn deleting_the_account_leaves_nothing_of_it_and_frees_its_name() {
    let (app, _upstream, admin, _) = spawn_chat(&[]).await;
    let ada = app.signed_in().await;
    let chat = ada.new_chat().await;
    busy_user(&app, &ada, &chat).await;
    let mut socket = ada.live().await;
    let wrong = ada
        .raw(
            Method::DELETE,
            "/api/users/me",
            Some(&json!({ "password": "wrong" })),
        )
        .await;
    assert_eq!(
        expect(wrong, StatusCode::FORBIDDEN).await["error"]["code"],
        "wrong_password"
    );
    let deleted = ada
        .raw(
            Method::DELETE,
            "/api/users/me",
            Some(&json!({ "password": ada.credentials.password })),
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        socket.ended(Duration::from_secs(5)).await,
        Ended::Closed(4001)
    );
    assert_eq!(
        ada.raw(Method::GET, "/api/users/me", None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let user = ObjectId::parse_str(ada.user_id()).expect("id");
    // What was still in flight (the log's last events) is removed within seconds.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let left = owned_by(&app, user).await;
        if left.is_empty() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "left behind: {left:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // The name and address are free again.
    let again = app.try_register(&ada.credentials.body()).await;
    assert_eq!(again.status(), StatusCode::CREATED);
    // Nobody else lost anything.
    assert_eq!(
        admin.raw(Method::GET, "/api/users/me", None).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_deletion_cut_short_by_a_crash_is_finished_by_the_next_process() {
    let (app, _upstream, _admin, _) = spawn_chat(&[]).await;
    let ada = app.signed_in().await;
    let chat = ada.new_chat().await;
    busy_user(&app, &ada, &chat).await;
    let user = ObjectId::parse_str(ada.user_id()).expect("id");
    // What a process that died right after step 1 leaves: the account marked, all else there.
    let db = app.db().await;
    db.collection::<Document>("users")
        .update_one(
            doc! { "_id": user },
            doc! { "$set": { "deleting_at": DateTime::from_millis(DateTime::now().timestamp_millis() - 120_000) } },
        )
        .await
        .expect("mark");
    // The account is gone for every purpose (within the second that processes keep an
    // account's standing).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        ada.raw(Method::GET, "/api/users/me", None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let login = app
        .try_login(&ada.credentials.email, &ada.credentials.password)
        .await;
    assert_eq!(login.status(), StatusCode::UNAUTHORIZED);
    assert!(!owned_by(&app, user).await.is_empty());
    // A process starting on this database finishes the deletion.
    let next = spawn_app_with(&[
        ("MONGODB_DATABASE", app.database.as_str()),
        ("JWT_SECRET", app.jwt_secret.as_str()),
        ("INSTANCE_ID", "next"),
    ])
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !owned_by(&next, user).await.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:?}",
            owned_by(&next, user).await
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let gone = db
        .collection::<Document>("users")
        .find_one(doc! { "_id": user })
        .await
        .expect("read");
    assert!(gone.is_none());
}

#[tokio::test]
async fn an_admin_deleting_a_user_removes_everything_it_owns() {
    let (app, _upstream, admin, _) = spawn_chat(&[]).await;
    let ada = app.signed_in().await;
    let chat = ada.new_chat().await;
    busy_user(&app, &ada, &chat).await;
    let path = format!("/api/admin/users/{}", ada.user_id());
    assert_eq!(
        admin.raw(Method::DELETE, &path, None).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        admin.raw(Method::DELETE, &path, None).await.status(),
        StatusCode::NOT_FOUND
    );
    let user = ObjectId::parse_str(ada.user_id()).expect("id");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !owned_by(&app, user).await.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:?}",
            owned_by(&app, user).await
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = json;
}
