use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{TestApp, refresh_cookie};

/// Credentials for a fresh, unique user.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub username: String,
    pub email: String,
    pub password: String,
}

/// What a sign-in returns: the access token, the refresh cookie and the user.
#[derive(Debug, Clone)]
pub struct Session {
    pub access_token: String,
    pub refresh: String,
    pub user: Value,
}

impl TestUser {
    pub fn random() -> Self {
        let tag = &uuid::Uuid::new_v4().simple().to_string()[..12];
        Self {
            username: format!("user_{tag}"),
            email: format!("user_{tag}@example.org"),
            password: format!("pässwörd {tag} with spaces"),
        }
    }

    pub fn body(&self) -> Value {
        json!({ "username": self.username, "email": self.email, "password": self.password })
    }
}

impl TestApp {
    /// Registers `user`, asserting 201.
    pub async fn register(&self, user: &TestUser) -> Session {
        let response = self.post_json("/api/auth/register", &user.body()).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        session_from(response).await
    }

    /// Registers a fresh random user.
    pub async fn with_user(&self) -> (TestUser, Session) {
        let user = TestUser::random();
        let session = self.register(&user).await;
        (user, session)
    }

    /// Logs in with `login` (email or username), asserting 200.
    pub async fn login(&self, login: &str, password: &str) -> Session {
        let response = self.try_login(login, password).await;
        assert_eq!(response.status(), StatusCode::OK);
        session_from(response).await
    }

    pub async fn try_login(&self, login: &str, password: &str) -> reqwest::Response {
        self.post_json(
            "/api/auth/login",
            &json!({ "email": login, "password": password }),
        )
        .await
    }

    /// A login attempt from another client address (the app must trust `X-Forwarded-For`:
    /// `TRUST_PROXY_HEADERS=true`).
    pub async fn try_login_from(
        &self,
        address: &str,
        login: &str,
        password: &str,
    ) -> reqwest::Response {
        self.http
            .post(self.url("/api/auth/login"))
            .header("x-forwarded-for", address)
            .json(&json!({ "email": login, "password": password }))
            .send()
            .await
            .expect("request sent")
    }

    /// `POST /api/auth/refresh` with this refresh cookie.
    pub async fn refresh(&self, refresh: &str) -> reqwest::Response {
        self.post_with_cookie("/api/auth/refresh", Some(refresh))
            .await
    }
}

/// Reads a 200/201 auth response into a `Session`.
pub async fn session_from(response: reqwest::Response) -> Session {
    let refresh = refresh_cookie(&response).expect("a refresh cookie is set");
    let body = crate::app::json(response).await;
    Session {
        access_token: body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned(),
        refresh,
        user: body["user"].clone(),
    }
}
