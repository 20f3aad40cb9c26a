use integration_tests::{json, paths, spawn_app};
use reqwest::StatusCode;

#[tokio::test]
async fn the_openapi_document_lists_every_route() {
    let app = spawn_app().await;
    let response = app.get(paths::OPENAPI, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let doc = json(response).await;
    assert!(doc["openapi"].as_str().expect("version").starts_with("3."));
    let expected = [
        ("/api/health", "get"),
        ("/api/ready", "get"),
        ("/api/auth/register", "post"),
        ("/api/auth/login", "post"),
        ("/api/auth/refresh", "post"),
        ("/api/auth/logout", "post"),
        ("/api/users/me", "get"),
        ("/api/users/{id}", "get"),
        ("/api/users/me", "delete"),
        ("/api/users/me/sessions", "get"),
        ("/api/users/me/sessions/{id}", "delete"),
        ("/api/users/me/sessions/revoke-others", "post"),
        ("/api/users/me/password", "put"),
        ("/api/users/me/usage", "get"),
        ("/api/users/me/api-keys", "get"),
        ("/api/users/me/api-keys", "post"),
        ("/api/users/me/api-keys/{id}", "delete"),
        ("/api/auth/registration", "get"),
        ("/api/auth/reset-password", "post"),
        ("/api/admin/users", "get"),
        ("/api/admin/users/{id}", "patch"),
        ("/api/admin/users/{id}", "delete"),
        ("/api/admin/invites", "get"),
        ("/api/admin/invites", "post"),
        ("/api/admin/invites/{id}", "delete"),
        ("/api/admin/usage", "get"),
        ("/api/admin/audit", "get"),
        ("/api/admin/models", "get"),
        ("/api/admin/models/{id}/load", "post"),
        ("/api/admin/models/{id}/unload", "post"),
        ("/api/models", "get"),
        ("/api/chats", "get"),
        ("/api/chats", "post"),
        ("/api/chats/{id}", "get"),
        ("/api/chats/{id}", "patch"),
        ("/api/chats/{id}", "delete"),
        ("/api/presets", "get"),
        ("/api/presets", "post"),
        ("/api/presets/{id}", "patch"),
        ("/api/presets/{id}", "delete"),
        ("/api/chats/{id}/shares", "post"),
        ("/api/chats/{id}/export", "get"),
        ("/api/users/me/export", "get"),
        ("/api/shares", "get"),
        ("/api/shares/{id}", "delete"),
        ("/api/shared/{token}", "get"),
        ("/api/shared/{token}/copy", "post"),
        ("/api/imports", "get"),
        ("/api/imports", "post"),
        ("/api/imports/{id}", "get"),
        ("/api/folders", "get"),
        ("/api/folders", "post"),
        ("/api/folders/{id}", "patch"),
        ("/api/folders/{id}", "delete"),
        ("/api/chats/{id}/messages", "get"),
        ("/api/chats/{id}/messages", "post"),
        ("/api/chats/{id}/messages/{message_id}/edit", "post"),
        ("/api/chats/{id}/messages/{message_id}/regenerate", "post"),
        ("/api/chats/{id}/messages/{message_id}/continue", "post"),
        ("/api/chats/{id}/messages/{message_id}/stop", "post"),
        ("/api/chats/{id}/messages/{message_id}/fork", "post"),
        ("/api/chats/{id}/messages/{message_id}/stream", "get"),
        ("/api/chats/{id}/messages/{message_id}/vote", "put"),
        ("/api/feedback/export", "get"),
        ("/api/ws/ticket", "post"),
        ("/api/ws", "get"),
    ];
    let paths = doc["paths"].as_object().expect("paths");
    for (path, method) in expected {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} undocumented"
        );
    }
    let documented: usize = paths
        .values()
        .map(|p| p.as_object().map_or(0, |o| o.len()))
        .sum();
    assert_eq!(
        documented,
        expected.len(),
        "unexpected operations: {:?}",
        paths.keys()
    );
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    // Every documented route really exists (none answers the catch-all 404).
    for (path, method) in expected {
        let url = app.url(
            &path
                .replace("{id}", "0123456789abcdef01234567")
                .replace("{message_id}", "0123456789abcdef01234567"),
        );
        let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
        let response = app
            .http
            .request(method.clone(), url)
            .send()
            .await
            .expect("sent");
        if response.status() == StatusCode::NOT_FOUND {
            let body = json(response).await;
            assert_ne!(
                body["error"]["message"], "route not found",
                "{method} {path}"
            );
        }
    }
}

#[tokio::test]
async fn the_api_reference_is_a_page_of_the_client_build_and_not_an_api_route() {
    // The tests' server has no built client: a clear 404, in the API's error shape.
    let app = spawn_app().await;
    let response = app.get("/api/docs", None).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body = json(response).await;
    assert_eq!(body["error"]["code"], "not_found");
    assert_ne!(body["error"]["message"], "route not found");
    // With a built client it serves its docs.html (the browser test renders it).
    let dir = std::env::temp_dir().join(format!("confab-docs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("index.html"), "<!doctype html><title>app</title>").expect("index");
    std::fs::write(
        dir.join("docs.html"),
        "<!doctype html><title>API reference</title>",
    )
    .expect("docs");
    let app =
        integration_tests::spawn_app_with(&[("CLIENT_DIR", dir.to_str().expect("utf-8"))]).await;
    let response = app.get("/api/docs", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-security-policy"]
            .to_str()
            .expect("csp")
            .contains("script-src 'self'")
    );
    assert!(
        response
            .text()
            .await
            .expect("text")
            .contains("API reference")
    );
    // Not documented as an operation of the API itself.
    let doc = json(app.get(paths::OPENAPI, None).await).await;
    assert!(doc["paths"].get("/api/docs").is_none());
    let _ = std::fs::remove_dir_all(&dir);
}
