//! Secrets never reach the logs, even at the most verbose level.

use std::sync::{Arc, Mutex};

use integration_tests::{json, paths, refresh_cookie, spawn_app};
use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut bytes) = self.0.lock() {
            bytes.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Self;
    fn make_writer(&'a self) -> Self {
        self.clone()
    }
}

#[tokio::test]
async fn passwords_and_tokens_never_appear_in_logs() {
    let captured = Captured::default();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .try_init()
        .expect("this test owns the process's log subscriber (run with nextest)");

    let app = spawn_app().await;
    let (user, session) = app.with_user().await;
    app.try_login(&user.email, "a wrong password to log").await;
    let login = app.login(&user.email, &user.password).await;
    app.me(&login.access_token).await;
    let refreshed = app.refresh(&login.refresh).await;
    let next_refresh = refresh_cookie(&refreshed).expect("rotated");
    let next_access = json(refreshed).await["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    app.logout_by_cookie(&next_refresh).await;
    drop(app);

    let logs = String::from_utf8_lossy(&captured.0.lock().expect("lock")).into_owned();
    assert!(
        logs.contains(paths::LOGIN),
        "the capture works: requests are logged"
    );
    for secret in [
        user.password.as_str(),
        "a wrong password to log",
        &session.access_token,
        &session.refresh,
        &login.access_token,
        &login.refresh,
        &next_access,
        &next_refresh,
        &app_secret_prefix(&login.access_token),
    ] {
        assert!(
            !logs.contains(secret),
            "a secret reached the logs: {secret}"
        );
    }
}

/// The signature part of a JWT (logging it would be as bad as logging the token).
fn app_secret_prefix(token: &str) -> String {
    token.rsplit('.').next().unwrap_or_default().to_owned()
}
