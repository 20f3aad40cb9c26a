//! Refresh tokens: rotation, reuse detection (stolen-token revocation) and logout.

use integration_tests::{json, paths, refresh_cookie, set_cookie_header, spawn_app};
use mongodb::bson::{Document, doc};
use reqwest::StatusCode;
use sha2::{Digest, Sha256};

#[tokio::test]
async fn refreshing_rotates_the_cookie_and_issues_a_working_access_token() {
    let app = spawn_app().await;
    let (_, session) = app.with_user().await;
    let response = app.refresh(&session.refresh).await;
    assert_eq!(response.status(), StatusCode::OK);
    let next = refresh_cookie(&response).expect("a new refresh cookie");
    assert_ne!(next, session.refresh, "the refresh token is rotated");
    let body = json(response).await;
    assert_eq!(body["user"]["id"], session.user_id());
    let token = body["access_token"].as_str().expect("token");
    assert_eq!(app.me(token).await.status(), StatusCode::OK);
    // The same session goes on: the new token refreshes again.
    assert_eq!(app.refresh(&next).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn refresh_tokens_are_stored_only_as_hashes() {
    let app = spawn_app().await;
    let (_, session) = app.with_user().await;
    let sessions = app.db().await.collection::<Document>("sessions");
    let stored = sessions
        .find_one(doc! {})
        .await
        .expect("query")
        .expect("a session is stored");
    let expected = hex_sha256(&session.refresh);
    assert_eq!(stored.get_str("token_hash").expect("hash"), expected);
    assert!(!format!("{stored:?}").contains(&session.refresh));
}

fn hex_sha256(value: &str) -> String {
    Sha256::digest(value.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn reusing_a_rotated_refresh_token_revokes_the_whole_session() {
    let app = spawn_app().await;
    let (_, session) = app.with_user().await;
    let first = app.refresh(&session.refresh).await;
    let legit_refresh = refresh_cookie(&first).expect("rotated");
    let legit_access = json(first).await["access_token"]
        .as_str()
        .expect("token")
        .to_owned();

    // An attacker replays the old token.
    let replay = app.refresh(&session.refresh).await;
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
    let cleared = set_cookie_header(&replay).expect("cookie cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");

    // Everything issued to that session is now dead: the newest refresh token and the
    // access tokens, old and new.
    assert_eq!(
        app.refresh(&legit_refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
    for token in [&legit_access, &session.access_token] {
        let me = app.me(token).await;
        assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn reuse_revokes_only_that_session_not_the_users_others() {
    let app = spawn_app().await;
    let (user, laptop) = app.with_user().await;
    let phone = app.login(&user.email, &user.password).await;
    app.refresh(&laptop.refresh).await;
    app.refresh(&laptop.refresh).await; // reuse: laptop session revoked
    let me = app.me(&phone.access_token).await;
    assert_eq!(me.status(), StatusCode::OK);
    assert_eq!(app.refresh(&phone.refresh).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn concurrent_refreshes_with_one_token_let_at_most_one_through() {
    let app = spawn_app().await;
    let (_, session) = app.with_user().await;
    let attempts = (0..4).map(|_| app.refresh(&session.refresh));
    let statuses: Vec<StatusCode> = futures::future::join_all(attempts)
        .await
        .iter()
        .map(reqwest::Response::status)
        .collect();
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert!(ok <= 1, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::UNAUTHORIZED)
    );
}

#[tokio::test]
async fn refresh_without_a_valid_cookie_is_401() {
    let app = spawn_app().await;
    let response = app.post_with_cookie(paths::REFRESH, None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json(response).await["error"]["code"], "unauthorized");
    for bogus in ["", "garbage", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"] {
        let response = app.refresh(bogus).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{bogus:?}");
    }
}

#[tokio::test]
async fn logout_ends_the_session_its_refresh_token_and_its_access_tokens() {
    let app = spawn_app().await;
    let (_, session) = app.with_user().await;
    let response = app.logout(&session).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let cleared = set_cookie_header(&response).expect("cookie cleared");
    assert!(
        cleared.contains("Max-Age=0") && cleared.contains("Path=/api/auth"),
        "{cleared}"
    );

    let me = app.me(&session.access_token).await;
    assert_eq!(
        me.status(),
        StatusCode::UNAUTHORIZED,
        "the access token died with the session"
    );
    assert_eq!(
        app.refresh(&session.refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn logout_with_only_the_cookie_or_only_the_token_works_and_spares_other_sessions() {
    let app = spawn_app().await;
    let (user, a) = app.with_user().await;
    let b = app.login(&user.email, &user.password).await;
    let c = app.login(&user.email, &user.password).await;

    let by_cookie = app.logout_by_cookie(&a.refresh).await;
    assert_eq!(by_cookie.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.me(&a.access_token).await.status(),
        StatusCode::UNAUTHORIZED
    );

    let by_token = app.logout_by_token(&b.access_token).await;
    assert_eq!(by_token.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.refresh(&b.refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );

    assert_eq!(app.me(&c.access_token).await.status(), StatusCode::OK);
    assert_eq!(app.refresh(&c.refresh).await.status(), StatusCode::OK);

    // Logging out again is harmless.
    let again = app.logout_by_cookie(&a.refresh).await;
    assert_eq!(again.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn answers_that_carry_tokens_are_never_cached() {
    let app = spawn_app().await;
    let user = integration_tests::TestUser::random();
    let registered = app.try_register(&user.body()).await;
    let refresh = refresh_cookie(&registered).expect("cookie");
    let login = app.try_login(&user.email, &user.password).await;
    let refreshed = app.refresh(&refresh).await;
    let failed = app.try_login(&user.email, "wrong password").await;
    for (what, response) in [
        ("register", registered),
        ("login", login),
        ("refresh", refreshed),
        ("failed login", failed),
    ] {
        assert_eq!(response.headers()["cache-control"], "no-store", "{what}");
        assert_eq!(response.headers()["pragma"], "no-cache", "{what}");
    }
}

#[tokio::test]
async fn refresh_and_logout_refuse_a_foreign_origin_and_change_nothing() {
    let app = spawn_app().await;
    let (_, session) = app.with_user().await;
    let cookie = format!("confab_refresh={}", session.refresh);
    for path in [paths::REFRESH, paths::LOGOUT] {
        let response = app
            .http
            .post(app.url(path))
            .header("cookie", &cookie)
            .header("origin", "https://evil.example.org")
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
        assert_eq!(json(response).await["error"]["code"], "forbidden");
    }
    // The session is untouched: the same refresh token still works, from our own origin.
    let own = app
        .http
        .post(app.url(paths::REFRESH))
        .header("cookie", &cookie)
        .header("origin", app.address.as_str())
        .send()
        .await
        .expect("sent");
    assert_eq!(own.status(), StatusCode::OK);
}

/// `find` commands run so far (sessions and accounts are read with `find`).
async fn finds(app: &integration_tests::TestApp) -> f64 {
    integration_tests::sample(
        &app.metrics().await,
        "confab_mongodb_operation_seconds_count",
        "op=\"find\"",
    )
    .unwrap_or(0.0)
}

#[tokio::test]
async fn a_burst_of_requests_on_a_session_the_cache_let_go_of_reads_it_together() {
    let app = integration_tests::spawn_app_with(&[("METRICS_ADDR", "127.0.0.1:0")]).await;
    let (_, session) = app.with_user().await;
    let (_, other) = app.with_user().await;
    let token = session.access_token.as_str();
    assert_eq!(
        app.get(paths::MODELS, Some(token)).await.status(),
        StatusCode::OK
    );
    app.state.session_cache.clear();
    let before = finds(&app).await;
    const BURST: usize = 40;
    let burst = (0..BURST).map(|_| app.get(paths::MODELS, Some(token)));
    for response in futures::future::join_all(burst).await {
        assert_eq!(response.status(), StatusCode::OK);
    }
    let reads = finds(&app).await - before;
    // One read each would be 40 (and as many for the account's standing had its cache let go
    // of it too); the batches share a handful.
    assert!(
        reads <= (BURST / 4) as f64,
        "{reads} finds for {BURST} requests"
    );

    // Read together, each request still gets its own session's answer: a revoked session is
    // refused while another user's live one, in the same burst, is not.
    assert_eq!(app.logout(&session).await.status(), StatusCode::NO_CONTENT);
    app.state.session_cache.clear();
    let mixed = (0..BURST).map(|i| {
        let token = if i % 2 == 0 {
            token
        } else {
            other.access_token.as_str()
        };
        app.get(paths::MODELS, Some(token))
    });
    let statuses: Vec<StatusCode> = futures::future::join_all(mixed)
        .await
        .iter()
        .map(reqwest::Response::status)
        .collect();
    for (i, status) in statuses.iter().enumerate() {
        let expected = if i % 2 == 0 {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::OK
        };
        assert_eq!(*status, expected, "request {i}");
    }
}
