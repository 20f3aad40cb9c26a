//! Access tokens: only a well-formed HS256 JWT signed with our secret, with the right issuer
//! and audience, inside its validity window, for a live session, is accepted.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use integration_tests::{TestApp, json, jwt_claims, paths, spawn_app};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json as body};

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn sign(claims: &Value, algorithm: Algorithm, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(algorithm),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign")
}

async fn status_with(app: &TestApp, authorization: &str) -> (StatusCode, bool) {
    let response = app
        .http
        .get(app.url(paths::ME))
        .header("authorization", authorization)
        .send()
        .await
        .expect("sent");
    let challenged = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer"));
    (response.status(), challenged)
}

async fn assert_refused(app: &TestApp, authorization: &str, what: &str) {
    let (status, challenged) = status_with(app, authorization).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{what} was accepted");
    assert!(challenged, "{what}: no WWW-Authenticate: Bearer");
}

#[tokio::test]
async fn a_token_forged_with_our_secret_and_valid_claims_is_accepted() {
    // The control case: proves that the refusals below come from the one thing each changes.
    let app = spawn_app().await;
    let (_, session) = app.with_user().await;
    let claims = jwt_claims(&session.access_token);
    let token = sign(&claims, Algorithm::HS256, &app.jwt_secret);
    let (status, _) = status_with(&app, &format!("Bearer {token}")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn missing_or_malformed_authorization_is_401() {
    let app = spawn_app().await;
    let (_, session) = app.with_user().await;
    let response = app.get(paths::ME, None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().contains_key("www-authenticate"));
    for header in [
        "Bearer".to_owned(),
        "Bearer ".to_owned(),
        "Bearer not-a-jwt".to_owned(),
        format!("Basic {}", session.access_token),
        format!("Token {}", session.access_token),
        session.access_token.clone(),
    ] {
        assert_refused(&app, &header, &header).await;
    }
}

#[tokio::test]
async fn tampered_tokens_are_401() {
    let app = spawn_app().await;
    let (_, alice) = app.with_user().await;
    let (_, bob) = app.with_user().await;
    // Bob's payload under Alice's signature.
    let alice_parts: Vec<&str> = alice.access_token.split('.').collect();
    let bob_parts: Vec<&str> = bob.access_token.split('.').collect();
    let spliced = format!("{}.{}.{}", alice_parts[0], bob_parts[1], alice_parts[2]);
    assert_refused(&app, &format!("Bearer {spliced}"), "a spliced token").await;
    // One flipped signature character.
    let mut flipped = alice.access_token.clone();
    let last = flipped.pop().expect("non-empty");
    flipped.push(if last == 'A' { 'B' } else { 'A' });
    assert_refused(&app, &format!("Bearer {flipped}"), "a flipped signature").await;
}

#[tokio::test]
async fn tokens_signed_with_another_secret_or_algorithm_are_401() {
    let app = spawn_app().await;
    let (_, session) = app.with_user().await;
    let claims = jwt_claims(&session.access_token);

    let other_secret = sign(
        &claims,
        Algorithm::HS256,
        "another-secret-of-sufficient-length-0123",
    );
    assert_refused(&app, &format!("Bearer {other_secret}"), "another secret").await;

    for algorithm in [Algorithm::HS384, Algorithm::HS512] {
        let token = sign(&claims, algorithm, &app.jwt_secret);
        assert_refused(&app, &format!("Bearer {token}"), &format!("{algorithm:?}")).await;
    }

    for alg in ["none", "None", "NONE"] {
        let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#));
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        assert_refused(&app, &format!("Bearer {header}.{payload}."), alg).await;
    }
}

#[tokio::test]
async fn expired_not_yet_valid_and_misaddressed_tokens_are_401() {
    let app = spawn_app().await;
    let (_, session) = app.with_user().await;
    let base = jwt_claims(&session.access_token);
    let variant = |change: &dyn Fn(&mut Value)| {
        let mut claims = base.clone();
        change(&mut claims);
        format!(
            "Bearer {}",
            sign(&claims, Algorithm::HS256, &app.jwt_secret)
        )
    };
    let cases: Vec<(&str, String)> = vec![
        (
            "expired 10 s ago (beyond the leeway)",
            variant(&|c| {
                c["iat"] = body!(now() - 1000);
                c["nbf"] = body!(now() - 1000);
                c["exp"] = body!(now() - 10);
            }),
        ),
        (
            "not valid for another minute",
            variant(&|c| c["nbf"] = body!(now() + 60)),
        ),
        (
            "wrong issuer",
            variant(&|c| c["iss"] = body!("someone-else")),
        ),
        (
            "wrong audience",
            variant(&|c| c["aud"] = body!("another-api")),
        ),
        (
            "no expiry",
            variant(&|c| {
                c.as_object_mut().map(|o| o.remove("exp"));
            }),
        ),
        (
            "no subject",
            variant(&|c| {
                c.as_object_mut().map(|o| o.remove("sub"));
            }),
        ),
        (
            "an unknown session",
            variant(&|c| c["sid"] = body!("0123456789abcdef01234567")),
        ),
        (
            "another user's id in the session",
            variant(&|c| c["sub"] = body!("0123456789abcdef01234567")),
        ),
    ];
    for (what, header) in cases {
        assert_refused(&app, &header, what).await;
    }
}

#[tokio::test]
async fn users_can_read_only_their_own_profile() {
    let app = spawn_app().await;
    let (_, alice) = app.with_user().await;
    let (_, bob) = app.with_user().await;
    let alice_id = alice.user_id();
    let bob_id = bob.user_id();

    let own = app
        .get(&paths::user(alice_id), Some(&alice.access_token))
        .await;
    assert_eq!(own.status(), StatusCode::OK);
    assert_eq!(json(own).await["id"], alice_id);

    for id in [bob_id, "0123456789abcdef01234567", "not-an-id", "%24ne"] {
        let response = app.get(&paths::user(id), Some(&alice.access_token)).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{id}");
        let body = json(response).await;
        assert_eq!(body["error"]["code"], "not_found");
        assert!(
            !body
                .to_string()
                .contains(bob.user["email"].as_str().expect("email"))
        );
    }
    let anonymous = app.get(&paths::user(alice_id), None).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}
