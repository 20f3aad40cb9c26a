//! Personal API keys: shown once, stored by hash, listed without their value, revoked at once
//! on every process, refused when expired, never accepted on `/api` (and a session's token is
//! never accepted on `/v1`), gone with their account.

use integration_tests::{SignedIn, TestApp, expect_field_error, json, spawn_pair_with_upstream};
use mongodb::bson::{DateTime, Document, doc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json as body};

async fn create_key(user: &SignedIn, request: Value) -> reqwest::Response {
    user.raw(Method::POST, "/api/users/me/api-keys", Some(&request))
        .await
}

pub async fn new_key(user: &SignedIn, name: &str) -> Value {
    let response = create_key(user, body!({ "name": name })).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    json(response).await
}

async fn listed(user: &SignedIn) -> Vec<Value> {
    let response = user.raw(Method::GET, "/api/users/me/api-keys", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    json(response).await["api_keys"]
        .as_array()
        .expect("api_keys")
        .clone()
}

/// `GET /v1/models` with this bearer value: its status.
async fn models_with(app: &TestApp, bearer: &str) -> StatusCode {
    reqwest::Client::new()
        .get(app.url("/v1/models"))
        .bearer_auth(bearer)
        .send()
        .await
        .expect("sent")
        .status()
}

fn key_of(created: &Value) -> &str {
    created["key"].as_str().expect("key")
}

#[tokio::test]
async fn a_key_is_shown_once_works_only_on_v1_and_its_revocation_holds_on_every_process() {
    let (a, b, _upstream) = spawn_pair_with_upstream(&[]).await;
    let ada = a.signed_in().await;
    let bob = a.signed_in().await;

    let created = new_key(&ada, " notebook ").await;
    let key = key_of(&created).to_owned();
    assert!(key.starts_with("cfk_") && key.len() == 47, "{key}");
    assert_eq!(created["name"], "notebook", "trimmed");
    assert_eq!(created["prefix"], key[..12]);
    assert_eq!(created["expires_at"], Value::Null);
    assert_eq!(created["last_used_at"], Value::Null);

    // Listed without its value; stored by hash only.
    let list = listed(&ada).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], created["id"]);
    assert!(list[0].get("key").is_none(), "{}", list[0]);
    let stored: Vec<Document> = {
        use futures::TryStreamExt as _;
        a.db()
            .await
            .collection::<Document>("api_keys")
            .find(doc! {})
            .await
            .expect("find")
            .try_collect()
            .await
            .expect("read")
    };
    let text = format!("{stored:?}");
    assert!(
        !text.contains(&key[4..]),
        "the key itself is not stored: {text}"
    );
    assert_eq!(listed(&bob).await.len(), 0);

    // On /v1 only, on both processes; the session's token is refused there.
    assert_eq!(models_with(&a, &key).await, StatusCode::OK);
    assert_eq!(models_with(&b, &key).await, StatusCode::OK);
    assert_eq!(models_with(&a, ada.token()).await, StatusCode::UNAUTHORIZED);
    let me = reqwest::Client::new()
        .get(a.url("/api/users/me"))
        .bearer_auth(&key)
        .send()
        .await
        .expect("sent");
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    let refused = json(me).await;
    assert!(
        refused["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("/v1")),
        "{refused}"
    );
    let made_by_key = reqwest::Client::new()
        .post(a.url("/api/users/me/api-keys"))
        .bearer_auth(&key)
        .json(&body!({ "name": "another" }))
        .send()
        .await
        .expect("sent");
    assert_eq!(
        made_by_key.status(),
        StatusCode::UNAUTHORIZED,
        "a key cannot make keys"
    );

    // Its use is recorded (to the minute).
    let mut used = Value::Null;
    for _ in 0..50 {
        used = listed(&ada).await[0]["last_used_at"].clone();
        if !used.is_null() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(used.is_string(), "last_used_at: {used}");

    // Another user cannot revoke it; revoked on A, refused on B at once.
    let path = format!(
        "/api/users/me/api-keys/{}",
        created["id"].as_str().expect("id")
    );
    assert_eq!(
        bob.raw(Method::DELETE, &path, None).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        ada.raw(Method::DELETE, &path, None).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(models_with(&b, &key).await, StatusCode::UNAUTHORIZED);
    assert_eq!(models_with(&a, &key).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        ada.raw(Method::DELETE, &path, None).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        ada.raw(Method::DELETE, "/api/users/me/api-keys/not-an-id", None)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn expired_malformed_and_unknown_keys_are_refused_with_openai_errors() {
    let (a, _b, _upstream) = spawn_pair_with_upstream(&[]).await;
    let ada = a.signed_in().await;
    let created = create_key(&ada, body!({ "name": "short", "expires_in_days": 1 })).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created = json(created).await;
    let key = key_of(&created).to_owned();
    assert!(created["expires_at"].is_string());
    assert_eq!(models_with(&a, &key).await, StatusCode::OK);

    // Past its expiry (set in the database: a day is long to wait), refused at once.
    let id = mongodb::bson::oid::ObjectId::parse_str(created["id"].as_str().expect("id"))
        .expect("object id");
    a.db()
        .await
        .collection::<Document>("api_keys")
        .update_one(
            doc! { "_id": id },
            doc! { "$set": { "expires_at": DateTime::from_millis(DateTime::now().timestamp_millis() - 1000) } },
        )
        .await
        .expect("update");
    assert_eq!(models_with(&a, &key).await, StatusCode::UNAUTHORIZED);

    let random = format!("cfk_{}", "A".repeat(43));
    for bearer in [
        random.as_str(),
        "sk-not-ours",
        "cfk_short",
        &key.replacen("cfk_", "cfx_", 1),
    ] {
        let response = reqwest::Client::new()
            .get(a.url("/v1/models"))
            .bearer_auth(bearer)
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{bearer}");
        let error = json(response).await;
        assert_eq!(error["error"]["code"], "invalid_api_key", "{error}");
        assert_eq!(error["error"]["type"], "invalid_request_error");
    }
    let anonymous = reqwest::get(a.url("/v1/models")).await.expect("sent");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn key_requests_are_checked_and_an_account_keeps_at_most_25_keys_which_go_with_it() {
    let (a, _b, _upstream) = spawn_pair_with_upstream(&[]).await;
    let _admin = a.signed_in().await;
    let ada = a.signed_in().await;
    for (request, field) in [
        (body!({ "name": "" }), "name"),
        (body!({ "name": "   " }), "name"),
        (body!({ "name": "x".repeat(101) }), "name"),
        (
            body!({ "name": "k", "expires_in_days": 0 }),
            "expires_in_days",
        ),
        (
            body!({ "name": "k", "expires_in_days": 3651 }),
            "expires_in_days",
        ),
    ] {
        expect_field_error(
            create_key(&ada, request.clone()).await,
            field,
            &request.to_string(),
        )
        .await;
    }
    let unknown = create_key(&ada, body!({ "name": "k", "scopes": ["all"] })).await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let mut keys = Vec::new();
    for i in 0..25 {
        keys.push(key_of(&new_key(&ada, &format!("key {i}")).await).to_owned());
    }
    let over = create_key(&ada, body!({ "name": "one more" })).await;
    assert_eq!(over.status(), StatusCode::CONFLICT);
    assert_eq!(json(over).await["error"]["code"], "too_many_api_keys");
    let names: Vec<String> = listed(&ada)
        .await
        .iter()
        .map(|k| k["name"].as_str().expect("name").to_owned())
        .collect();
    assert_eq!(
        names.first().map(String::as_str),
        Some("key 24"),
        "newest first"
    );

    // Deleting the account deletes its keys.
    let deleted = ada
        .raw(
            Method::DELETE,
            "/api/users/me",
            Some(&body!({ "password": ada.credentials.password })),
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(models_with(&a, &keys[0]).await, StatusCode::UNAUTHORIZED);
    let left = a
        .db()
        .await
        .collection::<Document>("api_keys")
        .count_documents(doc! {})
        .await
        .expect("count");
    assert_eq!(left, 0);
}
