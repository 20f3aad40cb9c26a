//! Login: by e-mail or username, uniform failures, and throttling of repeated failures.

use std::time::{Duration, Instant};

use integration_tests::{TestUser, json, retry_after, spawn_app, spawn_app_with};
use reqwest::StatusCode;

#[tokio::test]
async fn login_works_with_email_or_username_in_any_case() {
    let app = spawn_app().await;
    let (user, registered) = app.with_user().await;
    for login in [
        user.email.clone(),
        user.email.to_uppercase(),
        user.username.clone(),
        user.username.to_uppercase(),
    ] {
        let session = app.login(&login, &user.password).await;
        assert_eq!(session.user_id(), registered.user_id(), "{login}");
        let me = app.me(&session.access_token).await;
        assert_eq!(me.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn login_body_is_bearer_token_with_expiry_and_user() {
    let app = spawn_app().await;
    let (user, _) = app.with_user().await;
    let response = app.try_login(&user.email, &user.password).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(integration_tests::refresh_cookie(&response).is_some());
    let body = json(response).await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["user"]["email"], user.email);
    let claims = integration_tests::jwt_claims(body["access_token"].as_str().expect("token"));
    for claim in ["sub", "exp", "iat", "nbf", "iss", "aud", "jti", "sid"] {
        assert!(!claims[claim].is_null(), "{claim} missing: {claims}");
    }
    let lifetime = claims["exp"].as_u64().expect("exp") - claims["iat"].as_u64().expect("iat");
    assert_eq!(lifetime, 15 * 60);
}

#[tokio::test]
async fn unknown_user_and_wrong_password_get_the_same_401() {
    let app = spawn_app().await;
    let (user, _) = app.with_user().await;
    let wrong = app.try_login(&user.email, "not the password").await;
    let unknown = app
        .try_login("nobody-at-all@example.org", "not the password")
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers().contains_key("www-authenticate"));
    assert!(integration_tests::refresh_cookie(&wrong).is_none());
    assert_eq!(json(wrong).await, json(unknown).await);
}

#[tokio::test]
async fn an_unknown_user_costs_a_password_verification_too() {
    // Without a dummy hash, "no such user" answers in about a millisecond while a wrong
    // password takes a full argon2id verification: the difference would reveal accounts.
    let app = spawn_app().await;
    let (user, _) = app.with_user().await;
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for i in 0..4 {
        let started = Instant::now();
        app.try_login(&user.email, &format!("wrong password {i}"))
            .await;
        known.push(started.elapsed());
        let started = Instant::now();
        app.try_login(&format!("ghost{i}@example.org"), "wrong password")
            .await;
        unknown.push(started.elapsed());
    }
    known.sort();
    unknown.sort();
    let (known, unknown) = (known[known.len() / 2], unknown[unknown.len() / 2]);
    assert!(
        unknown * 3 > known,
        "unknown user answered in {unknown:?}, wrong password in {known:?}"
    );
}

#[tokio::test]
async fn failures_from_one_address_make_it_back_off_while_the_owner_signs_in_from_elsewhere() {
    let app = spawn_app_with(&[
        ("TRUST_PROXY_HEADERS", "true"),
        ("LOGIN_FREE_FAILURES", "3"),
        ("LOGIN_BACKOFF_BASE_SECS", "30"),
    ])
    .await;
    let (user, _) = app.with_user().await;
    let (other, _) = app.with_user().await;
    let attacker = "198.51.100.7";
    for _ in 0..3 {
        let response = app
            .try_login_from(attacker, &user.email, "wrong password")
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    // That address now waits, even with the right password (and the username form).
    for login in [&user.email, &user.username] {
        let response = app.try_login_from(attacker, login, &user.password).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!((1..=30).contains(&retry_after(&response)));
        assert_eq!(json(response).await["error"]["code"], "rate_limited");
    }
    // The owner, at home, is not locked out; nor is anyone else's account from that address.
    let home = app
        .try_login_from("203.0.113.20", &user.email, &user.password)
        .await;
    assert_eq!(home.status(), StatusCode::OK);
    let elsewhere = app
        .try_login_from(attacker, &other.email, &other.password)
        .await;
    assert_eq!(elsewhere.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_backoff_doubles_with_each_further_failure_and_lifts_when_it_ends() {
    let app = spawn_app_with(&[
        ("TRUST_PROXY_HEADERS", "true"),
        ("LOGIN_FREE_FAILURES", "2"),
        ("LOGIN_BACKOFF_BASE_SECS", "1"),
    ])
    .await;
    let (user, _) = app.with_user().await;
    let address = "198.51.100.8";
    for _ in 0..2 {
        app.try_login_from(address, &user.email, "wrong password")
            .await;
    }
    let locked = app
        .try_login_from(address, &user.email, &user.password)
        .await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // One more failure: now two seconds.
    let third = app
        .try_login_from(address, &user.email, "wrong password")
        .await;
    assert_eq!(third.status(), StatusCode::UNAUTHORIZED);
    let locked = app
        .try_login_from(address, &user.email, &user.password)
        .await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&locked), 2);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let response = app
        .try_login_from(address, &user.email, &user.password)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_account_attacked_from_many_addresses_stays_open_to_its_owners_usual_address() {
    let app = spawn_app_with(&[
        ("TRUST_PROXY_HEADERS", "true"),
        ("LOGIN_MAX_FAILURES_PER_ACCOUNT", "4"),
    ])
    .await;
    let (user, _) = app.with_user().await;
    let home = "203.0.113.30";
    let signed_in = app.try_login_from(home, &user.email, &user.password).await;
    assert_eq!(signed_in.status(), StatusCode::OK);
    for i in 0..4 {
        let response = app
            .try_login_from(&format!("198.51.100.{}", 100 + i), &user.email, "guess")
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    // A new address is refused: the account is under attack.
    let new = app
        .try_login_from("192.0.2.55", &user.email, &user.password)
        .await;
    assert_eq!(new.status(), StatusCode::TOO_MANY_REQUESTS);
    // The owner's usual address still works, and a success clears the count.
    let owner = app.try_login_from(home, &user.email, &user.password).await;
    assert_eq!(owner.status(), StatusCode::OK);
    let new = app
        .try_login_from("192.0.2.55", &user.email, &user.password)
        .await;
    assert_eq!(new.status(), StatusCode::OK);
}

#[tokio::test]
async fn two_processes_on_one_database_count_failures_together() {
    let one = spawn_app_with(&[("LOGIN_FREE_FAILURES", "4")]).await;
    let database = one.database.clone();
    let two = spawn_app_with(&[
        ("LOGIN_FREE_FAILURES", "4"),
        ("MONGODB_DATABASE", database.as_str()),
    ])
    .await;
    let (user, _) = one.with_user().await;
    for app in [&one, &two, &one, &two] {
        let response = app.try_login(&user.email, "wrong password").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    for app in [&one, &two] {
        let response = app.try_login(&user.email, &user.password).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    }
}

#[tokio::test]
async fn repeated_failures_from_one_address_are_throttled_across_accounts() {
    let app = spawn_app_with(&[("LOGIN_MAX_FAILURES_PER_IP", "4")]).await;
    for i in 0..4 {
        let response = app
            .try_login(&format!("ghost{i}@example.org"), "wrong password")
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let (user, _) = app.with_user().await;
    let response = app.try_login(&user.email, &user.password).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn a_successful_login_resets_the_failures() {
    let app = spawn_app_with(&[("LOGIN_FREE_FAILURES", "3")]).await;
    let (user, _) = app.with_user().await;
    for _ in 0..2 {
        app.try_login(&user.email, "wrong password").await;
    }
    app.login(&user.email, &user.password).await;
    for _ in 0..2 {
        let response = app.try_login(&user.email, "wrong password").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    app.login(&user.email, &user.password).await;
}

#[tokio::test]
async fn login_rejects_empty_and_oversized_fields_with_422() {
    let app = spawn_app().await;
    let user = TestUser::random();
    let response = app.try_login("", &user.password).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(json(response).await["error"]["fields"]["email"].is_string());
    let response = app.try_login(&user.email, &"p".repeat(129)).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
}
