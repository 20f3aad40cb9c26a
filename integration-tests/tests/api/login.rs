//! Login: by e-mail or username, uniform failures, and throttling of repeated failures.

use std::time::{Duration, Instant};

use integration_tests::{TestUser, json, spawn_app, spawn_app_with};
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
        assert_eq!(session.user["id"], registered.user["id"], "{login}");
        let me = app.get("/api/users/me", Some(&session.access_token)).await;
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
async fn repeated_failures_lock_the_account_with_429_and_retry_after() {
    let app = spawn_app_with(&[("LOGIN_MAX_FAILURES_PER_ACCOUNT", "3")]).await;
    let (user, _) = app.with_user().await;
    let (other, _) = app.with_user().await;
    for _ in 0..3 {
        let response = app.try_login(&user.email, "wrong password").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    // Locked: even the right password (and the username form of the login) is refused.
    for login in [&user.email, &user.username] {
        let response = app.try_login(login, &user.password).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry_after: u64 = response.headers()["retry-after"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("seconds");
        assert!((1..=900).contains(&retry_after), "{retry_after}");
        assert_eq!(json(response).await["error"]["code"], "rate_limited");
    }
    // Other accounts are unaffected.
    app.login(&other.email, &other.password).await;
}

#[tokio::test]
async fn the_lock_lifts_when_the_window_ends() {
    let app = spawn_app_with(&[
        ("LOGIN_MAX_FAILURES_PER_ACCOUNT", "2"),
        ("LOGIN_FAILURE_WINDOW_SECS", "1"),
    ])
    .await;
    let (user, _) = app.with_user().await;
    for _ in 0..2 {
        app.try_login(&user.email, "wrong password").await;
    }
    let response = app.try_login(&user.email, &user.password).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    app.login(&user.email, &user.password).await;
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
async fn a_successful_login_resets_the_account_failures() {
    let app = spawn_app_with(&[("LOGIN_MAX_FAILURES_PER_ACCOUNT", "3")]).await;
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
