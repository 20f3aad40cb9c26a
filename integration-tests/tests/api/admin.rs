//! Roles, registration control and administration: the first account is the admin (exactly
//! one, however many register at once), each `REGISTRATION` mode, invites, approval, disabling,
//! the last admin, and every admin route refused to anyone else.

use std::time::Duration;

use integration_tests::{SignedIn, TestApp, TestUser, json, spawn_app_with, spawn_pair_with};
use mongodb::bson::{Document, doc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn expect(response: reqwest::Response, status: StatusCode) -> Value {
    let got = response.status();
    let body = json(response).await;
    assert_eq!(got, status, "{body}");
    body
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

/// The first account of the app (its admin) and a second one (a user).
async fn admin_and_user(app: &TestApp) -> (SignedIn, SignedIn) {
    let admin = app.signed_in().await;
    assert_eq!(admin.session.user["role"], "admin");
    let user = app.signed_in().await;
    assert_eq!(user.session.user["role"], "user");
    (admin, user)
}

#[tokio::test]
async fn of_simultaneous_first_registrations_on_two_processes_exactly_one_becomes_admin() {
    let (a, b) = spawn_pair_with(&[("REGISTRATIONS_PER_IP_PER_HOUR", "0")]).await;
    let users: Vec<TestUser> = (0..8).map(|_| TestUser::random()).collect();
    let bodies: Vec<Value> = users.iter().map(TestUser::body).collect();
    let sends = bodies.iter().enumerate().map(|(i, body)| {
        let app = if i % 2 == 0 { &a } else { &b };
        app.try_register(body)
    });
    let responses = futures::future::join_all(sends).await;
    let mut roles = Vec::new();
    for response in responses {
        let body = expect(response, StatusCode::CREATED).await;
        roles.push(body["user"]["role"].as_str().unwrap_or_default().to_owned());
    }
    assert_eq!(
        roles.iter().filter(|r| *r == "admin").count(),
        1,
        "{roles:?}"
    );
    let admins = a
        .db()
        .await
        .collection::<Document>("users")
        .count_documents(doc! { "role": "admin" })
        .await
        .expect("count");
    assert_eq!(admins, 1);
}

#[tokio::test]
async fn every_admin_route_refuses_a_user_with_403_and_a_stranger_with_401() {
    let app = spawn_app_with(&[]).await;
    let (admin, user) = admin_and_user(&app).await;
    let id = admin.user_id().to_owned();
    let routes: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, "/api/admin/users".into(), None),
        (
            Method::PATCH,
            format!("/api/admin/users/{id}"),
            Some(json!({ "role": "user" })),
        ),
        (Method::DELETE, format!("/api/admin/users/{id}"), None),
        (Method::GET, "/api/admin/invites".into(), None),
        (Method::POST, "/api/admin/invites".into(), Some(json!({}))),
        (Method::DELETE, format!("/api/admin/invites/{id}"), None),
        (Method::GET, "/api/admin/usage".into(), None),
        (Method::GET, "/api/admin/audit".into(), None),
    ];
    for (method, path, body) in &routes {
        let refused = user.raw(method.clone(), path, body.as_ref()).await;
        let body = expect(refused, StatusCode::FORBIDDEN).await;
        assert_eq!(code(&body), "forbidden", "{method} {path}");
        let stranger = app
            .http
            .request(method.clone(), app.url(path))
            .send()
            .await
            .expect("sent");
        assert_eq!(
            stranger.status(),
            StatusCode::UNAUTHORIZED,
            "{method} {path}"
        );
    }
    // The admin is still the admin: nothing above changed anything.
    let me = expect(
        admin.raw(Method::GET, "/api/users/me", None).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(me["role"], "admin");
}

#[tokio::test]
async fn a_promotion_and_a_demotion_hold_on_tokens_already_issued_on_every_process() {
    let (a, b) = spawn_pair_with(&[]).await;
    let admin = a.signed_in().await;
    let user = a.signed_in().await;
    let on_b = user.on(&b);
    assert_eq!(
        on_b.raw(Method::GET, "/api/admin/users", None)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let path = format!("/api/admin/users/{}", user.user_id());
    let promoted = expect(
        admin
            .raw(Method::PATCH, &path, Some(&json!({ "role": "admin" })))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(promoted["role"], "admin");
    // Within a second on the other process (which has the user's standing cached: it just
    // refused it), with the token issued before.
    within_a_second(&on_b, StatusCode::OK).await;
    expect(
        admin
            .raw(Method::PATCH, &path, Some(&json!({ "role": "user" })))
            .await,
        StatusCode::OK,
    )
    .await;
    within_a_second(&on_b, StatusCode::FORBIDDEN).await;
}

/// `GET /api/admin/users` answers `status` within a second.
async fn within_a_second(user: &SignedIn, status: StatusCode) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    loop {
        let got = user
            .raw(Method::GET, "/api/admin/users", None)
            .await
            .status();
        if got == status {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still {got} after a second"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn the_last_active_admin_stays_even_when_two_admins_demote_each_other_at_once() {
    let (a, b) = spawn_pair_with(&[]).await;
    let (admin, user) = admin_and_user(&a).await;
    let me = format!("/api/admin/users/{}", admin.user_id());
    // An admin's own role and status are another admin's to change.
    for change in [json!({ "role": "user" }), json!({ "status": "disabled" })] {
        let body = expect(
            admin.raw(Method::PATCH, &me, Some(&change)).await,
            StatusCode::CONFLICT,
        )
        .await;
        assert_eq!(code(&body), "own_account");
    }
    let body = expect(
        admin.raw(Method::DELETE, &me, None).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(code(&body), "own_account");
    // Deleting one's own account, as the only admin, is refused.
    let body = expect(
        admin
            .raw(
                Method::DELETE,
                "/api/users/me",
                Some(&json!({ "password": admin.credentials.password })),
            )
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(code(&body), "last_admin");
    // Two admins demote each other at the same moment, on two processes: one of them stays.
    let other = format!("/api/admin/users/{}", user.user_id());
    expect(
        admin
            .raw(Method::PATCH, &other, Some(&json!({ "role": "admin" })))
            .await,
        StatusCode::OK,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let user_on_b = user.on(&b);
    let demote = json!({ "role": "user" });
    let (first, second) = tokio::join!(
        admin.raw(Method::PATCH, &other, Some(&demote)),
        user_on_b.raw(Method::PATCH, &me, Some(&demote)),
    );
    // Never both. Either one landed first and the other was no longer an admin (403), or both
    // acted as admins and the change that found no admin left was undone (409 `last_admin`) —
    // one of them, or both when each counted after the other's update.
    let statuses = [first.status(), second.status()];
    assert!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count() <= 1,
        "{statuses:?}"
    );
    for response in [first, second] {
        match response.status() {
            StatusCode::OK => {}
            StatusCode::CONFLICT => assert_eq!(code(&json(response).await), "last_admin"),
            other => assert_eq!(other, StatusCode::FORBIDDEN),
        }
    }
    // The undoing itself, without the admin check in front: two changes that each demote one
    // of the last two admins, at the same moment, leave one admin.
    let store = &a.state.store;
    let both: Vec<mongodb::bson::oid::ObjectId> = [admin.user_id(), user.user_id()]
        .iter()
        .map(|id| mongodb::bson::oid::ObjectId::parse_str(id).expect("id"))
        .collect();
    for id in &both {
        let promote = confab::store::users::AccountChange {
            role: Some(confab::domain::AccountRole::Admin),
            ..Default::default()
        };
        confab::store::users::change(&store.users, *id, &promote)
            .await
            .expect("promote");
    }
    let demote = confab::store::users::AccountChange {
        role: Some(confab::domain::AccountRole::User),
        ..Default::default()
    };
    let (one, two) = tokio::join!(
        confab::store::users::change(&store.users, both[0], &demote),
        confab::store::users::change(&store.users, both[1], &demote),
    );
    let refused = [&one, &two]
        .iter()
        .filter(|r| matches!(r, Err(confab::store::users::ChangeError::LastAdmin)))
        .count();
    assert!(refused >= 1, "{one:?} {two:?}");
    let admins = a
        .db()
        .await
        .collection::<Document>("users")
        .count_documents(doc! { "role": "admin", "status": "active" })
        .await
        .expect("count");
    assert!(admins >= 1);
}

#[tokio::test]
async fn a_disabled_account_is_refused_at_sign_in_and_on_its_tokens_and_its_socket_closes() {
    let (a, b) = spawn_pair_with(&[]).await;
    let admin = a.signed_in().await;
    let user = a.signed_in().await;
    let mut socket = user.on(&b).live().await;
    let path = format!("/api/admin/users/{}", user.user_id());
    let disabled = expect(
        admin
            .raw(Method::PATCH, &path, Some(&json!({ "status": "disabled" })))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(disabled["status"], "disabled");
    // Its tokens are refused on both processes at once (its sessions ended), its socket closes.
    for app in [&a, &b] {
        let me = user.on(app).raw(Method::GET, "/api/users/me", None).await;
        assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        socket.ended(Duration::from_secs(5)).await,
        integration_tests::Ended::Closed(4001)
    );
    let refused = a
        .try_login(&user.credentials.email, &user.credentials.password)
        .await;
    let body = expect(refused, StatusCode::FORBIDDEN).await;
    assert_eq!(code(&body), "account_disabled");
    // A wrong password learns nothing of the account's state.
    let wrong = a
        .try_login(&user.credentials.email, "not the password")
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    // Enabled again, it signs in.
    expect(
        admin
            .raw(Method::PATCH, &path, Some(&json!({ "status": "active" })))
            .await,
        StatusCode::OK,
    )
    .await;
    a.login(&user.credentials.email, &user.credentials.password)
        .await;
}

#[tokio::test]
async fn registration_closed_refuses_every_sign_up() {
    let app = spawn_app_with(&[("REGISTRATION", "closed")]).await;
    let info = expect(
        app.get("/api/auth/registration", None).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(info["mode"], "closed");
    let body = expect(
        app.try_register(&TestUser::random().body()).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(code(&body), "registration_closed");
    let users = app
        .db()
        .await
        .collection::<Document>("users")
        .count_documents(doc! {})
        .await
        .expect("count");
    assert_eq!(users, 0);
}

#[tokio::test]
async fn only_the_allowed_email_domains_may_register() {
    let app = spawn_app_with(&[("REGISTRATION_ALLOWED_DOMAINS", "example.org, Confab.dev")]).await;
    let info = expect(
        app.get("/api/auth/registration", None).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        info["allowed_domains"],
        json!(["example.org", "confab.dev"])
    );
    let mut user = TestUser::random();
    user.email = format!("{}@elsewhere.net", user.username);
    let body = expect(app.try_register(&user.body()).await, StatusCode::FORBIDDEN).await;
    assert_eq!(code(&body), "email_domain_not_allowed");
    user.email = format!("{}@CONFAB.dev", user.username);
    expect(app.try_register(&user.body()).await, StatusCode::CREATED).await;
}

async fn create_invite(admin: &SignedIn, body: Value) -> Value {
    expect(
        admin
            .raw(Method::POST, "/api/admin/invites", Some(&body))
            .await,
        StatusCode::CREATED,
    )
    .await
}

/// A sign-up with this invite code is refused as `invite_invalid` (`why`: for the message).
async fn refused_invite(app: &TestApp, code_value: &str, why: &str) {
    let response = app
        .try_register(&with_invite(&TestUser::random(), code_value))
        .await;
    let body = expect(response, StatusCode::FORBIDDEN).await;
    assert_eq!(code(&body), "invite_invalid", "{why}");
}

fn with_invite(user: &TestUser, code: &str) -> Value {
    let mut body = user.body();
    body["invite"] = json!(code);
    body
}

#[tokio::test]
async fn invite_mode_needs_a_valid_unused_unexpired_invite_which_gives_its_role() {
    // The first account (the admin) comes from the command line in a real deployment; here
    // the invite mode is switched on for a second process of the same database.
    let open = spawn_app_with(&[]).await;
    let admin = open.signed_in().await;
    let app = spawn_app_with(&[
        ("REGISTRATION", "invite"),
        ("MONGODB_DATABASE", open.database.as_str()),
        ("JWT_SECRET", open.jwt_secret.as_str()),
        ("PUBLIC_URL", "https://chat.example.org"),
    ])
    .await;
    let admin = admin.on(&app);
    let body = expect(
        app.try_register(&TestUser::random().body()).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(code(&body), "invite_required");
    let body = expect(
        app.try_register(&with_invite(&TestUser::random(), "made-up"))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(code(&body), "invite_invalid");

    // Single use by default; the code and link are shown once.
    let invite = create_invite(&admin, json!({})).await;
    let code_value = invite["code"].as_str().expect("code").to_owned();
    assert_eq!(invite["uses"], 1);
    assert_eq!(
        invite["url"],
        format!("https://chat.example.org/?invite={code_value}")
    );
    let first = expect(
        app.try_register(&with_invite(&TestUser::random(), &code_value))
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(first["user"]["role"], "user");
    let body = expect(
        app.try_register(&with_invite(&TestUser::random(), &code_value))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(code(&body), "invite_invalid", "used up");

    // `uses` and `role`; a taken username does not spend a use.
    let two = create_invite(&admin, json!({ "uses": 2, "role": "admin" })).await;
    let two_code = two["code"].as_str().expect("code").to_owned();
    let taken = TestUser {
        username: first["user"]["username"].as_str().expect("name").to_owned(),
        ..TestUser::random()
    };
    expect(
        app.try_register(&with_invite(&taken, &two_code)).await,
        StatusCode::CONFLICT,
    )
    .await;
    for _ in 0..2 {
        let made = expect(
            app.try_register(&with_invite(&TestUser::random(), &two_code))
                .await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(made["user"]["role"], "admin");
    }
    let listed = expect(
        admin.raw(Method::GET, "/api/admin/invites", None).await,
        StatusCode::OK,
    )
    .await;
    let listed_two = listed["invites"]
        .as_array()
        .expect("invites")
        .iter()
        .find(|i| i["id"] == two["id"])
        .expect("listed")
        .clone();
    assert_eq!(listed_two["used"], 2);
    assert!(
        listed_two.get("code").is_none(),
        "codes are shown once: {listed_two}"
    );

    // Expired and revoked invites are refused.
    let expiring = create_invite(&admin, json!({ "expires_in_hours": 1 })).await;
    app.db()
        .await
        .collection::<Document>("invites")
        .update_one(
            doc! { "_id": mongodb::bson::oid::ObjectId::parse_str(expiring["id"].as_str().expect("id")).expect("oid") },
            doc! { "$set": { "expires_at": mongodb::bson::DateTime::from_millis(0) } },
        )
        .await
        .expect("expire it");
    refused_invite(&app, expiring["code"].as_str().expect("code"), "expired").await;
    let revoked = create_invite(&admin, json!({})).await;
    let path = format!("/api/admin/invites/{}", revoked["id"].as_str().expect("id"));
    assert_eq!(
        admin.raw(Method::DELETE, &path, None).await.status(),
        StatusCode::NO_CONTENT
    );
    refused_invite(&app, revoked["code"].as_str().expect("code"), "revoked").await;
    drop(open);
}

#[tokio::test]
async fn approval_mode_creates_pending_accounts_that_sign_in_once_an_admin_approves() {
    let app = spawn_app_with(&[("REGISTRATION", "approval")]).await;
    // The first account of an empty deployment is its admin, active at once.
    let admin = app.signed_in().await;
    assert_eq!(admin.session.user["status"], "active");
    let user = TestUser::random();
    let pending = expect(app.try_register(&user.body()).await, StatusCode::ACCEPTED).await;
    assert_eq!(pending["status"], "pending");
    assert_eq!(pending["user"]["status"], "pending");
    assert!(pending.get("access_token").is_none());
    let refused = expect(
        app.try_login(&user.email, &user.password).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(code(&refused), "account_pending");
    // The admin finds it and approves it.
    let found = expect(
        admin
            .raw(
                Method::GET,
                &format!("/api/admin/users?q={}", user.username.to_uppercase()),
                None,
            )
            .await,
        StatusCode::OK,
    )
    .await;
    let listed = found["users"].as_array().expect("users");
    assert_eq!(listed.len(), 1, "{found}");
    assert_eq!(listed[0]["status"], "pending");
    let path = format!("/api/admin/users/{}", listed[0]["id"].as_str().expect("id"));
    expect(
        admin
            .raw(Method::PATCH, &path, Some(&json!({ "status": "active" })))
            .await,
        StatusCode::OK,
    )
    .await;
    app.login(&user.email, &user.password).await;
    // The approval is in the audit log, with who did it.
    let audit = expect(
        admin.raw(Method::GET, "/api/admin/audit", None).await,
        StatusCode::OK,
    )
    .await;
    let entry = &audit["entries"][0];
    assert_eq!(entry["action"], "user.update");
    assert_eq!(entry["target"], user.username.as_str());
    assert_eq!(
        entry["actor"]["username"],
        admin.credentials.username.as_str()
    );
    assert_eq!(entry["detail"], "status=active");
}

#[tokio::test]
async fn the_user_list_pages_with_a_cursor_and_shows_no_chat_content() {
    let app = spawn_app_with(&[("REGISTRATIONS_PER_IP_PER_HOUR", "0")]).await;
    let admin = app.signed_in().await;
    for _ in 0..4 {
        app.signed_in().await;
    }
    let mut seen = Vec::new();
    let mut path = "/api/admin/users?limit=2".to_owned();
    loop {
        let page = expect(admin.raw(Method::GET, &path, None).await, StatusCode::OK).await;
        for user in page["users"].as_array().expect("users") {
            let mut keys: Vec<&String> = user.as_object().expect("object").keys().collect();
            keys.sort();
            assert_eq!(
                keys,
                [
                    "created_at",
                    "effective_limits",
                    "email",
                    "id",
                    "last_active_at",
                    "limits",
                    "role",
                    "status",
                    "tokens_this_month",
                    "username"
                ]
            );
            seen.push(user["id"].as_str().expect("id").to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/admin/users?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    seen.dedup();
    assert_eq!(seen.len(), 5, "no account twice");
    let bad = admin
        .raw(Method::GET, "/api/admin/users?cursor=", None)
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_burst_of_failed_sign_ins_is_in_the_audit_log_once() {
    let app = spawn_app_with(&[("LOGIN_FREE_FAILURES", "3")]).await;
    let admin = app.signed_in().await;
    let victim = app.signed_in().await;
    for _ in 0..4 {
        let failed = app
            .try_login(&victim.credentials.username, "not the password")
            .await;
        assert!(matches!(
            failed.status(),
            StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS
        ));
    }
    let audit = expect(
        admin.raw(Method::GET, "/api/admin/audit", None).await,
        StatusCode::OK,
    )
    .await;
    let bursts: Vec<&Value> = audit["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["action"] == "login.failures")
        .collect();
    assert_eq!(bursts.len(), 1, "{audit}");
    assert_eq!(bursts[0]["target"], victim.credentials.username.as_str());
    assert_eq!(bursts[0]["address"], "127.0.0.0/24");
    assert_eq!(bursts[0]["actor"], Value::Null);
    assert!(
        bursts[0]["detail"]
            .as_str()
            .expect("detail")
            .starts_with("3 failed sign-ins")
    );
}

#[tokio::test]
async fn a_change_to_an_account_in_the_database_clears_every_process_s_cache_at_once() {
    let app = spawn_app_with(&[]).await;
    let ada = app.signed_in().await;
    let id = mongodb::bson::oid::ObjectId::parse_str(ada.user_id()).expect("id");
    // Followed by the change stream, a standing is kept past a second (signing in records the
    // account's activity, which the stream leaves out: it changes no standing).
    assert_eq!(
        ada.raw(Method::GET, "/api/users/me", None).await.status(),
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        app.state.standing_cache.get(id).is_some(),
        "kept past a second while the change stream follows"
    );
    // …and forgotten as soon as the account changes, whoever changes it (here: the database
    // itself, as the command line does).
    app.db()
        .await
        .collection::<Document>("users")
        .update_one(
            doc! { "_id": id },
            doc! { "$set": { "status": "disabled" } },
        )
        .await
        .expect("disable");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while app.state.standing_cache.get(id).is_some() {
        assert!(tokio::time::Instant::now() < deadline, "still cached");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        ada.raw(Method::GET, "/api/users/me", None).await.status(),
        StatusCode::UNAUTHORIZED
    );
}
