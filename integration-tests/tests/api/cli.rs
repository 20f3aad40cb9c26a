//! The operator's command line (`confab user …`), run as its own process against the database
//! of a running server.

use std::{
    io::Write as _,
    process::{Command, Output, Stdio},
    time::Duration,
};

use integration_tests::{Ended, TestApp, json, spawn_app_with};
use reqwest::{Method, StatusCode};
use serde_json::json;

fn confab(app: &TestApp, args: &[&str], stdin: Option<&str>) -> Output {
    let binary = std::env::var("CONFAB_BIN").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../target/debug/confab").to_owned()
    });
    let mut child = Command::new(&binary)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("MONGODB_URI", integration_tests::mongodb_uri())
        .env("MONGODB_DATABASE", &app.database)
        .env("JWT_SECRET", &app.jwt_secret)
        .env("RUST_LOG", "warn")
        .arg("user")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {binary}: {e}"));
    if let (Some(text), Some(mut input)) = (stdin, child.stdin.take()) {
        input.write_all(text.as_bytes()).expect("stdin");
    }
    child.wait_with_output().expect("the command ends")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn create_makes_an_account_with_the_password_from_stdin_never_from_an_argument() {
    let app = spawn_app_with(&[]).await;
    // The first account of an empty deployment is its admin, also from the command line.
    let first = confab(
        &app,
        &[
            "create",
            "--username",
            "root",
            "--email",
            "root@example.org",
        ],
        Some("first password\n"),
    );
    assert!(first.status.success(), "{first:?}");
    assert!(stdout(&first).contains("(admin)"), "{}", stdout(&first));
    let made = confab(
        &app,
        &[
            "create",
            "--username",
            "grace",
            "--email",
            "grace@example.org",
        ],
        Some("grace's password\n"),
    );
    assert!(made.status.success(), "{made:?}");
    let session = app.login("grace", "grace's password").await;
    assert_eq!(session.user["role"], "user");
    let admin = confab(
        &app,
        &[
            "create",
            "--username",
            "ops",
            "--email",
            "ops@example.org",
            "--admin",
        ],
        Some("ops password 1\n"),
    );
    assert!(admin.status.success());
    assert_eq!(
        app.login("ops", "ops password 1").await.user["role"],
        "admin"
    );

    let argument = confab(
        &app,
        &[
            "create",
            "--username",
            "x_y",
            "--email",
            "x@example.org",
            "--password",
            "visible",
        ],
        Some("ignored\n"),
    );
    assert!(!argument.status.success());
    assert!(String::from_utf8_lossy(&argument.stderr).contains("never an argument"));
    let taken = confab(
        &app,
        &[
            "create",
            "--username",
            "GRACE",
            "--email",
            "other@example.org",
        ],
        Some("another password\n"),
    );
    assert!(!taken.status.success());
    let short = confab(
        &app,
        &["create", "--username", "shorty", "--email", "s@example.org"],
        Some("short\n"),
    );
    assert!(!short.status.success());
}

#[tokio::test]
async fn set_role_takes_effect_on_tokens_already_issued_and_keeps_the_last_admin() {
    let app = spawn_app_with(&[]).await;
    let admin = app.signed_in().await;
    let user = app.signed_in().await;
    assert_eq!(
        user.raw(Method::GET, "/api/admin/users", None)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let promoted = confab(
        &app,
        &["set-role", &user.credentials.username, "admin"],
        None,
    );
    assert!(promoted.status.success(), "{promoted:?}");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        user.raw(Method::GET, "/api/admin/users", None)
            .await
            .status(),
        StatusCode::OK
    );
    // Two admins: one may go; then the other is the last and stays.
    assert!(
        confab(&app, &["set-role", &admin.credentials.email, "user"], None)
            .status
            .success()
    );
    let last = confab(
        &app,
        &["set-role", &user.credentials.username, "user"],
        None,
    );
    assert!(!last.status.success());
    assert!(String::from_utf8_lossy(&last.stderr).contains("last active admin"));
    let unknown = confab(&app, &["set-role", "nobody_here", "admin"], None);
    assert!(!unknown.status.success());
    let bad = confab(
        &app,
        &["set-role", &user.credentials.username, "owner"],
        None,
    );
    assert!(!bad.status.success());
}

#[tokio::test]
async fn reset_password_prints_a_one_time_code_that_sets_a_new_password_and_ends_every_session() {
    let app = spawn_app_with(&[]).await;
    let ada = app.signed_in().await;
    let output = confab(&app, &["reset-password", &ada.credentials.username], None);
    assert!(output.status.success(), "{output:?}");
    let printed = stdout(&output);
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "the code alone on its own line: {printed:?}"
    );
    let code = lines[0].trim();
    assert!(code.len() >= 40, "{code}");

    let reset = |code: &str, password: &str| {
        let body =
            json!({ "login": ada.credentials.email, "code": code, "new_password": password });
        let app = &app;
        async move { app.post_json("/api/auth/reset-password", &body).await }
    };
    let wrong = reset("not-the-code", "a new password here").await;
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    assert_eq!(json(wrong).await["error"]["code"], "reset_code_invalid");
    assert_eq!(
        reset(code, "a new password here").await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        ada.raw(Method::GET, "/api/users/me", None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.refresh(&ada.session.refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
    app.login(&ada.credentials.username, "a new password here")
        .await;
    // Once only.
    assert_eq!(
        reset(code, "yet another password").await.status(),
        StatusCode::FORBIDDEN
    );
    // An expired code is refused.
    let output = confab(&app, &["reset-password", &ada.credentials.username], None);
    let code = stdout(&output).trim().to_owned();
    app.db()
        .await
        .collection::<mongodb::bson::Document>("users")
        .update_one(
            mongodb::bson::doc! { "username": &ada.credentials.username },
            mongodb::bson::doc! { "$set": { "reset.expires_at": mongodb::bson::DateTime::from_millis(0) } },
        )
        .await
        .expect("expire");
    assert_eq!(
        reset(&code, "yet another password").await.status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn disable_ends_the_sessions_of_a_running_server_and_refuses_sign_in() {
    let app = spawn_app_with(&[]).await;
    let _admin = app.signed_in().await;
    let ada = app.signed_in().await;
    let mut socket = ada.live().await;
    let output = confab(&app, &["disable", &ada.credentials.username], None);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        socket.ended(Duration::from_secs(5)).await,
        Ended::Closed(4001)
    );
    assert_eq!(
        ada.raw(Method::GET, "/api/users/me", None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let refused = app
        .try_login(&ada.credentials.email, &ada.credentials.password)
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(json(refused).await["error"]["code"], "account_disabled");
    // In the audit log, from the command line.
    let admin = _admin;
    let audit = json(admin.raw(Method::GET, "/api/admin/audit", None).await).await;
    let entry = &audit["entries"][0];
    assert_eq!(entry["action"], "user.update");
    assert_eq!(entry["actor"], serde_json::Value::Null);
    assert!(
        entry["detail"]
            .as_str()
            .expect("detail")
            .contains("command line")
    );
}
