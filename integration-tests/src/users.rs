//! Accounts and sessions at the level of tokens and cookies: register, log in, refresh, log
//! out, `GET /api/users/me`. (A signed-in user driving chats is `SignedIn`, in `client`.)

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::{TestApp, paths, refresh_cookie};

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

impl Session {
    /// The signed-in user's id.
    pub fn user_id(&self) -> &str {
        self.user["id"].as_str().expect("the user's id")
    }
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
        let response = self.try_register(&user.body()).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        session_from(response).await
    }

    /// `POST /api/auth/register` with this body.
    pub async fn try_register(&self, body: &Value) -> Response {
        self.post_json(paths::REGISTER, body).await
    }

    /// A registration from another client address (the app must trust `X-Forwarded-For`).
    pub async fn try_register_from(&self, address: &str, body: &Value) -> Response {
        self.http
            .post(self.url(paths::REGISTER))
            .header("x-forwarded-for", address)
            .json(body)
            .send()
            .await
            .expect("request sent")
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

    pub async fn try_login(&self, login: &str, password: &str) -> Response {
        self.post_json(paths::LOGIN, &login_body(login, password))
            .await
    }

    /// A login attempt from another client address (the app must trust `X-Forwarded-For`:
    /// `TRUST_PROXY_HEADERS=true`).
    pub async fn try_login_from(&self, address: &str, login: &str, password: &str) -> Response {
        self.http
            .post(self.url(paths::LOGIN))
            .header("x-forwarded-for", address)
            .json(&login_body(login, password))
            .send()
            .await
            .expect("request sent")
    }

    /// `POST /api/auth/refresh` with this refresh cookie.
    pub async fn refresh(&self, refresh: &str) -> Response {
        self.post_with_cookie(paths::REFRESH, Some(refresh)).await
    }

    /// `GET /api/users/me` with this access token.
    pub async fn me(&self, token: &str) -> Response {
        self.get(paths::ME, Some(token)).await
    }

    /// `POST /api/auth/logout` with the refresh cookie only (as the browser sends it).
    pub async fn logout_by_cookie(&self, refresh: &str) -> Response {
        self.post_with_cookie(paths::LOGOUT, Some(refresh)).await
    }

    /// `POST /api/auth/logout` with the access token only.
    pub async fn logout_by_token(&self, token: &str) -> Response {
        self.http
            .post(self.url(paths::LOGOUT))
            .bearer_auth(token)
            .send()
            .await
            .expect("request sent")
    }

    /// `POST /api/auth/logout` with the session's access token and its refresh cookie.
    pub async fn logout(&self, session: &Session) -> Response {
        self.http
            .post(self.url(paths::LOGOUT))
            .bearer_auth(&session.access_token)
            .header("cookie", format!("confab_refresh={}", session.refresh))
            .send()
            .await
            .expect("request sent")
    }
}

/// The body of a login: `login` is an e-mail address or a username.
pub(crate) fn login_body(login: &str, password: &str) -> Value {
    json!({ "email": login, "password": password })
}

/// Reads a 200/201 auth response into a `Session`.
pub async fn session_from(response: Response) -> Session {
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
