//! A MongoDB outage gives 503 (quickly, not a hang), and the app recovers when it returns.

use std::time::{Duration, Instant};

use integration_tests::{TcpProxy, json, mongodb_uri, spawn_app_with};
use reqwest::StatusCode;

fn mongodb_host_port() -> String {
    let uri = mongodb_uri();
    let rest = uri.trim_start_matches("mongodb://");
    let authority = rest.split(['/', '?']).next().unwrap_or("127.0.0.1:27017");
    authority.rsplit('@').next().unwrap_or(authority).to_owned()
}

#[tokio::test]
async fn an_unreachable_database_gives_503_and_the_app_recovers() {
    let proxy = TcpProxy::start(mongodb_host_port()).await;
    let uri = format!("mongodb://127.0.0.1:{}/?directConnection=true", proxy.port);
    let app = spawn_app_with(&[("MONGODB_URI", &uri), ("MONGODB_TIMEOUT_MS", "500")]).await;
    let (user, session) = app.with_user().await;
    assert_eq!(app.get("/api/ready", None).await.status(), StatusCode::OK);

    proxy.cut();
    let started = Instant::now();
    let ready = app.get("/api/ready", None).await;
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(ready.headers().contains_key("retry-after"));
    assert_eq!(json(ready).await["error"]["code"], "service_unavailable");
    let me = app.get("/api/users/me", Some(&session.access_token)).await;
    assert_eq!(me.status(), StatusCode::SERVICE_UNAVAILABLE);
    let login = app.try_login(&user.email, &user.password).await;
    assert_eq!(login.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = json(login).await;
    assert!(
        !body.to_string().contains("127.0.0.1"),
        "driver details leaked: {body}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    // Liveness does not depend on the database.
    assert_eq!(app.get("/api/health", None).await.status(), StatusCode::OK);

    proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if app.get("/api/ready", None).await.status() == StatusCode::OK {
            break;
        }
        assert!(Instant::now() < deadline, "the app did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let me = app.get("/api/users/me", Some(&session.access_token)).await;
    assert_eq!(me.status(), StatusCode::OK);
}
