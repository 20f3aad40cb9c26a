use integration_tests::{json, paths, spawn_app};
use reqwest::StatusCode;

#[tokio::test]
async fn health_answers_ok() {
    let app = spawn_app().await;
    let response = app.health().await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json(response).await["status"], "ok");
}

#[tokio::test]
async fn ready_answers_when_mongodb_is_reachable() {
    let app = spawn_app().await;
    let response = app.ready().await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json(response).await["status"], "ready");
}

#[tokio::test]
async fn every_response_carries_security_headers_and_a_request_id() {
    let app = spawn_app().await;
    for path in [paths::HEALTH, paths::ME, "/", "/c/some-chat"] {
        let response = app.get(path, None).await;
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        let csp = headers["content-security-policy"].to_str().expect("ascii");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("default-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        let request_id = headers["x-request-id"].to_str().expect("ascii");
        assert!(
            uuid::Uuid::parse_str(request_id).is_ok(),
            "{path}: {request_id}"
        );
    }
}

#[tokio::test]
async fn hsts_is_sent_only_behind_https() {
    let plain = spawn_app().await;
    let response = plain.health().await;
    assert!(!response.headers().contains_key("strict-transport-security"));

    let https = spawn_app_with_https().await;
    let response = https.health().await;
    assert!(
        response.headers()["strict-transport-security"]
            .to_str()
            .expect("ascii")
            .starts_with("max-age=")
    );
}

async fn spawn_app_with_https() -> integration_tests::TestApp {
    integration_tests::spawn_app_with(&[("PUBLIC_URL", "https://chat.example.org")]).await
}

#[tokio::test]
async fn the_web_client_is_served_at_the_root_and_for_deep_links() {
    let app = spawn_app().await;
    for path in ["/", "/c/0123456789abcdef01234567"] {
        let response = app.get(path, None).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let content_type = response.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .to_owned();
        assert!(
            content_type.starts_with("text/html"),
            "{path}: {content_type}"
        );
        assert!(
            response
                .text()
                .await
                .expect("body")
                .contains("<title>Confab</title>")
        );
    }
}

#[tokio::test]
async fn unknown_api_routes_are_json_404s_and_wrong_methods_json_405s() {
    let app = spawn_app().await;
    let response = app.get("/api/no-such-thing", None).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(json(response).await["error"]["code"], "not_found");

    let response = app.get(paths::LOGIN, None).await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(json(response).await["error"]["code"], "method_not_allowed");
}

#[tokio::test]
async fn graceful_shutdown_stops_the_server() {
    let app = spawn_app().await;
    let address = app.url(paths::HEALTH);
    assert_eq!(app.health().await.status(), StatusCode::OK);
    tokio::time::timeout(std::time::Duration::from_secs(10), app.stop())
        .await
        .expect("the server stops within 10 s")
        .expect("the server stops cleanly");
    assert!(
        reqwest::get(&address).await.is_err(),
        "nothing listens any more"
    );
}
