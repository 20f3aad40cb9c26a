//! Registration: the rules for usernames, e-mail addresses and passwords; uniqueness;
//! how the password is stored; what the response reveals.

use integration_tests::{
    TestUser, json, set_cookie_header, spawn_app, spawn_app_with, spawn_pair_with,
};
use mongodb::bson::{Document, doc};
use reqwest::StatusCode;
use serde_json::{Value, json as body};

async fn register_fields(app: &integration_tests::TestApp, payload: Value) -> (StatusCode, Value) {
    let response = app.try_register(&payload).await;
    let status = response.status();
    (status, json(response).await)
}

#[tokio::test]
async fn registering_returns_201_the_user_an_access_token_and_a_refresh_cookie() {
    let app = spawn_app().await;
    let user = TestUser::random();
    let response = app.try_register(&user.body()).await;
    assert_eq!(response.status(), StatusCode::CREATED);

    let cookie = set_cookie_header(&response).expect("refresh cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/api/auth", "Max-Age="] {
        assert!(
            cookie.contains(attribute),
            "{attribute} missing from {cookie}"
        );
    }
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP gets no Secure flag: {cookie}"
    );

    let body = json(response).await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["user"]["username"], user.username);
    assert_eq!(body["user"]["email"], user.email);
    let mut keys: Vec<&String> = body["user"].as_object().expect("object").keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["created_at", "email", "id", "role", "status", "username"],
        "no hash, no extras"
    );

    let token = body["access_token"].as_str().expect("token");
    let me = app.me(token).await;
    assert_eq!(me.status(), StatusCode::OK);
    assert_eq!(json(me).await["id"], body["user"]["id"]);
}

#[tokio::test]
async fn the_refresh_cookie_is_secure_behind_https() {
    let app = spawn_app_with(&[("PUBLIC_URL", "https://chat.example.org")]).await;
    let response = app.try_register(&TestUser::random().body()).await;
    let cookie = set_cookie_header(&response).expect("refresh cookie");
    assert!(cookie.contains("; Secure"), "{cookie}");
}

#[tokio::test]
async fn passwords_are_stored_as_argon2id_hashes_only() {
    let app = spawn_app().await;
    let (user, session) = app.with_user().await;
    let stored = app
        .db()
        .await
        .collection::<Document>("users")
        .find_one(doc! { "username": &user.username })
        .await
        .expect("query")
        .expect("user stored");
    let hash = stored.get_str("password_hash").expect("hash field");
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    let everything = format!("{stored:?}");
    assert!(
        !everything.contains(&user.password),
        "plaintext password stored"
    );
    assert!(!session.user.to_string().contains("argon2"));
}

#[tokio::test]
async fn duplicate_email_is_409_naming_email_whatever_its_case() {
    let app = spawn_app().await;
    let (user, _) = app.with_user().await;
    let mut other = TestUser::random();
    other.email = user.email.to_uppercase();
    let (status, body) = register_fields(&app, other.body()).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "conflict");
    assert!(body["error"]["fields"]["email"].is_string(), "{body}");
}

#[tokio::test]
async fn duplicate_username_is_409_naming_username_whatever_its_case() {
    let app = spawn_app().await;
    let (user, _) = app.with_user().await;
    let mut other = TestUser::random();
    other.username = user.username.to_uppercase();
    let (status, body) = register_fields(&app, other.body()).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(body["error"]["fields"]["username"].is_string(), "{body}");
}

#[tokio::test]
async fn concurrent_registrations_of_one_email_create_exactly_one_account() {
    let app = spawn_app().await;
    let email = TestUser::random().email;
    let attempts = (0..6).map(|_| {
        let mut user = TestUser::random();
        user.email = email.clone();
        let app = &app;
        async move { app.try_register(&user.body()).await.status() }
    });
    let statuses = futures::future::join_all(attempts).await;
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let conflicts = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((created, conflicts), (1, 5), "{statuses:?}");
}

#[tokio::test]
async fn each_invalid_field_is_rejected_with_422_naming_it() {
    let app = spawn_app().await;
    let cases: Vec<(&str, Value)> = vec![
        ("username", body!("ab")),
        ("username", body!("x".repeat(33))),
        ("username", body!("has space")),
        ("username", body!("émile")),
        ("username", body!("semi;colon")),
        ("email", body!("not-an-email")),
        ("email", body!("a@")),
        ("email", body!("")),
        ("password", body!("seven77")),
        ("password", body!("p".repeat(129))),
        ("password", body!("")),
    ];
    for (field, value) in cases {
        let mut payload = TestUser::random().body();
        payload[field] = value.clone();
        let (status, body) = register_fields(&app, payload).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field} = {value}"
        );
        assert_eq!(body["error"]["code"], "validation_failed");
        let fields = body["error"]["fields"].as_object().expect("fields");
        assert_eq!(
            fields.keys().collect::<Vec<_>>(),
            [field],
            "{field} = {value}: {body}"
        );
    }
}

#[tokio::test]
async fn every_invalid_field_is_reported_at_once() {
    let app = spawn_app().await;
    let (status, body) = register_fields(
        &app,
        body!({ "username": "a", "email": "nope", "password": "short" }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = body["error"]["fields"].as_object().expect("fields");
    assert_eq!(fields.len(), 3, "{body}");
}

#[tokio::test]
async fn boundary_lengths_are_accepted() {
    let app = spawn_app().await;
    let mut user = TestUser::random();
    user.username = format!("abc{}", &uuid::Uuid::new_v4().simple().to_string()[..29]);
    assert_eq!(user.username.len(), 32);
    user.password = "€".repeat(128); // 128 characters, 384 bytes
    let (status, body) = register_fields(&app, user.body()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let mut short = TestUser::random();
    short.username = format!("a{}", &uuid::Uuid::new_v4().simple().to_string()[..2]);
    short.password = "12345678".into();
    let (status, body) = register_fields(&app, short.body()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn long_passwords_are_never_truncated() {
    let app = spawn_app().await;
    let mut user = TestUser::random();
    user.password = format!("{}{}", "a".repeat(100), "tail-that-matters");
    app.register(&user).await;
    // bcrypt would have cut at 72 bytes; the first 100 characters alone must not work.
    let response = app.try_login(&user.email, &"a".repeat(100)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    app.login(&user.email, &user.password).await;
}

#[tokio::test]
async fn a_taken_email_or_username_is_refused_before_any_password_is_hashed() {
    let app = spawn_app().await;
    let (user, _) = app.with_user().await;
    let hashed = app.state.passwords.hashes_computed();
    for i in 0..5 {
        let mut again = TestUser::random();
        if i % 2 == 0 {
            again.email = user.email.clone();
        } else {
            again.username = user.username.clone();
        }
        let (status, _) = register_fields(&app, again.body()).await;
        assert_eq!(status, StatusCode::CONFLICT);
    }
    assert_eq!(app.state.passwords.hashes_computed(), hashed);
}

#[tokio::test]
async fn sign_ups_from_one_address_are_limited_per_hour_across_processes() {
    let (a, b) = spawn_pair_with(&[
        ("REGISTRATIONS_PER_IP_PER_HOUR", "3"),
        ("TRUST_PROXY_HEADERS", "true"),
    ])
    .await;
    let sign_up = |app: &'static str, address: &'static str, user: TestUser| {
        let app = if app == "a" { &a } else { &b };
        async move { app.try_register_from(address, &user.body()).await }
    };
    let taken = TestUser::random();
    assert_eq!(
        sign_up("a", "198.51.100.1", taken.clone()).await.status(),
        StatusCode::CREATED
    );
    // A taken address costs an attempt like any other.
    assert_eq!(
        sign_up("b", "198.51.100.1", taken).await.status(),
        StatusCode::CONFLICT
    );
    let third = sign_up("a", "198.51.100.1", TestUser::random()).await;
    assert_eq!(third.status(), StatusCode::CREATED);
    // The two processes together allow what one would.
    let refused = sign_up("b", "198.51.100.1", TestUser::random()).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait = integration_tests::retry_after(&refused);
    assert!((1..=3600).contains(&wait), "{wait}");
    assert_eq!(json(refused).await["error"]["code"], "rate_limited");
    // Another address is not affected.
    let other = sign_up("a", "198.51.100.2", TestUser::random()).await;
    assert_eq!(other.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn one_mailbox_cannot_hold_two_accounts_however_its_domain_is_written() {
    let app = spawn_app().await;
    let mut user = TestUser::random();
    let local = user.email.split('@').next().expect("local part").to_owned();
    user.email = format!("{local}@example.org");
    let session = app.register(&user).await;
    assert_eq!(session.user["email"], user.email);
    for domain in [
        "ｅｘａｍｐｌｅ.ｏｒｇ",
        "example。org",
        "example．org",
        "ex\u{00AD}ample.org",
        "EXAMPLE.org",
    ] {
        let mut twin = TestUser::random();
        twin.email = format!("{local}@{domain}");
        let (status, body) = register_fields(&app, twin.body()).await;
        assert_eq!(status, StatusCode::CONFLICT, "{domain}: {body}");
        assert!(body["error"]["fields"]["email"].is_string(), "{body}");
        // The same address signs in, whichever way it is written.
        app.login(&twin.email, &user.password).await;
    }
}
