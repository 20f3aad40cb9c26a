//! `/api/auth/*`: register, login, refresh (rotating), logout.

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::IntoResponse,
};
use axum_extra::extract::CookieJar;
use serde::{Deserialize, Serialize};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use validator::Validate;

use crate::views::UserView;
use crate::{
    auth::{
        bearer_token, cookie,
        refresh_token::{self, RefreshToken},
        throttle,
    },
    domain::{Email, Password, Username},
    error::{ApiError, ApiResult, ErrorBody},
    http::{ClientIp, ValidatedJson, origin_allowed},
    state::AppState,
    store::{
        UserDoc,
        sessions::{self, Rotation},
        users::{self, InsertError, Taken},
    },
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        // Answers carry tokens: no cache (a shared proxy's, or the browser's) may keep them.
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::PRAGMA,
            HeaderValue::from_static("no-cache"),
        ))
}

const INVALID_CREDENTIALS: &str = "the email/username or password is incorrect";
const INVALID_REFRESH: &str = "the session has ended; sign in again";

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// 3–32 characters of `[A-Za-z0-9_.-]`, unique (case-insensitive).
    #[validate(custom(function = "crate::domain::validate_username"))]
    #[schema(example = "ada", pattern = "^[A-Za-z0-9_.-]{3,32}$")]
    username: String,
    /// A valid e-mail address, unique (case-insensitive).
    #[validate(custom(function = "crate::domain::validate_email"))]
    #[schema(example = "ada@example.org", format = Email, max_length = 254)]
    email: String,
    /// 8–128 characters, any characters.
    #[validate(custom(function = "crate::domain::validate_password"))]
    #[schema(min_length = 8, max_length = 128)]
    password: String,
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// E-mail address or username.
    #[serde(alias = "username", alias = "login")]
    #[validate(length(min = 1, max = 254, message = "must be 1 to 254 characters long"))]
    #[schema(min_length = 1, max_length = 254)]
    email: String,
    #[validate(length(min = 1, max = 128, message = "must be 1 to 128 characters long"))]
    #[schema(min_length = 1, max_length = 128)]
    password: String,
}

#[derive(Serialize, ToSchema)]
pub struct AuthResponse {
    /// JWT (HS256) for `Authorization: Bearer …`.
    access_token: String,
    /// Always `Bearer`.
    token_type: &'static str,
    /// Seconds until the access token expires.
    expires_in: u64,
    user: UserView,
}

fn user_agent(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(256).collect())
}

/// Opens a session: stores the refresh token's hash, issues both tokens.
async fn start_session(
    state: &AppState,
    user: &UserDoc,
    headers: &HeaderMap,
    jar: CookieJar,
) -> ApiResult<(CookieJar, Json<AuthResponse>)> {
    let refresh = RefreshToken::generate();
    let ttl = state.settings.auth.refresh_token_ttl;
    let session = sessions::create(
        &state.store.sessions,
        user.id,
        refresh.hash,
        ttl,
        user_agent(headers),
    )
    .await?;
    respond(state, user, session.id, refresh.value, jar)
}

fn respond(
    state: &AppState,
    user: &UserDoc,
    session_id: mongodb::bson::oid::ObjectId,
    refresh_value: String,
    jar: CookieJar,
) -> ApiResult<(CookieJar, Json<AuthResponse>)> {
    let access_token = state
        .jwt
        .issue(user.id, session_id)
        .map_err(ApiError::internal)?;
    let cookie = cookie::issue(
        refresh_value,
        state.settings.auth.refresh_token_ttl,
        state.settings.cookie_secure(),
    );
    Ok((
        jar.add(cookie),
        Json(AuthResponse {
            access_token,
            token_type: "Bearer",
            expires_in: state.jwt.ttl().as_secs(),
            user: UserView::from(user),
        }),
    ))
}

/// Creates an account and signs it in.
#[utoipa::path(post, path = "/api/auth/register", tag = "auth", request_body = RegisterRequest,
    responses(
        (status = 201, description = "Account created; refresh cookie set", body = AuthResponse),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 409, description = "Email or username taken", body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
        (status = 429, description = "Too many sign-ups from this address; see Retry-After", body = ErrorBody),
    ))]
async fn register(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    jar: CookieJar,
    ValidatedJson(body): ValidatedJson<RegisterRequest>,
) -> ApiResult<impl IntoResponse> {
    let username = Username::parse(&body.username).map_err(|e| ApiError::field("username", e))?;
    let email = Email::parse(&body.email).map_err(|e| ApiError::field("email", e))?;
    let password = Password::parse(&body.password).map_err(|e| ApiError::field("password", e))?;

    let per_hour = state.settings.auth.registrations_per_ip_per_hour;
    throttle::register_attempt(&state.store.throttles, ip, per_hour)
        .await?
        .map_err(|retry_after| ApiError::TooManyRequests { retry_after })?;
    // Refuse a taken address or name before spending a password hash on it.
    if let Some(taken) = users::taken(&state.store.users, &email, &username).await? {
        return Err(conflict(taken));
    }
    let hash = state
        .passwords
        .hash(&password)
        .await
        .map_err(ApiError::internal)?;
    let user = UserDoc::new(&username, &email, hash);
    users::insert(&state.store.users, &user)
        .await
        .map_err(|err| match err {
            InsertError::Taken(taken) => conflict(taken),
            InsertError::Db(err) => err.into(),
        })?;
    tracing::info!(user_id = %user.id, "account registered");
    let (jar, body) = start_session(&state, &user, &headers, jar).await?;
    Ok((StatusCode::CREATED, jar, body))
}

fn conflict(taken: Taken) -> ApiError {
    match taken {
        Taken::Email => ApiError::Conflict {
            field: "email",
            message: "an account with this email already exists".to_owned(),
        },
        Taken::Username => ApiError::Conflict {
            field: "username",
            message: "this username is taken".to_owned(),
        },
    }
}

/// Signs in with e-mail (or username) and password.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in; refresh cookie set", body = AuthResponse),
        (status = 401, description = "Unknown user or wrong password (same body)", body = ErrorBody),
        (status = 422, body = ErrorBody),
        (status = 429, description = "Too many failures; see Retry-After", body = ErrorBody),
    ))]
async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    jar: CookieJar,
    ValidatedJson(body): ValidatedJson<LoginRequest>,
) -> ApiResult<impl IntoResponse> {
    let user = users::find_by_login(&state.store.users, &body.email).await?;
    // Failures count against the account when it exists, else against what was typed.
    let account = user
        .as_ref()
        .map_or_else(|| body.email.trim().to_lowercase(), |u| u.id.to_hex());
    let policy = &state.settings.auth.login;
    let throttles = &state.store.throttles;
    policy
        .check(throttles, &account, ip)
        .await?
        .map_err(|retry_after| ApiError::TooManyRequests { retry_after })?;

    let verified = state
        .passwords
        .verify(
            user.as_ref().map(|u| u.password_hash.as_str()),
            &body.password,
        )
        .await
        .map_err(ApiError::internal)?;
    let Some(user) = user.filter(|_| verified) else {
        policy.failed(throttles, &account, ip).await?;
        tracing::info!(%ip, "failed login");
        return Err(ApiError::unauthorized(INVALID_CREDENTIALS));
    };
    policy.succeeded(throttles, &account, ip).await?;
    tracing::info!(user_id = %user.id, "signed in");
    start_session(&state, &user, &headers, jar).await
}

/// Exchanges the refresh cookie for a new access token and a new refresh cookie. Presenting a
/// refresh token that was already exchanged revokes the whole session.
#[utoipa::path(post, path = "/api/auth/refresh", tag = "auth",
    responses(
        (status = 200, description = "Rotated; new refresh cookie set", body = AuthResponse),
        (status = 401, description = "Missing, unknown, expired, revoked or reused refresh token", body = ErrorBody),
        (status = 403, description = "A foreign Origin", body = ErrorBody),
    ))]
async fn refresh(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
) -> ApiResult<impl IntoResponse> {
    same_origin(&state, &headers)?;
    let secure = state.settings.cookie_secure();
    let Some(presented) = jar.get(cookie::NAME).map(|c| c.value().to_owned()) else {
        return Err(ApiError::unauthorized(INVALID_REFRESH));
    };
    let next = RefreshToken::generate();
    let rotation = sessions::rotate(
        &state.store.sessions,
        &refresh_token::hash(&presented),
        next.hash,
        state.settings.auth.refresh_token_ttl,
    )
    .await?;
    let session = match rotation {
        Rotation::Rotated(session) => session,
        Rotation::ReuseDetected {
            session_id,
            user_id,
        } => {
            tracing::warn!(%session_id, "refresh token reused: session revoked");
            state.session_ended(user_id, session_id);
            return Ok((jar.add(cookie::removal(secure)), refused()).into_response());
        }
        Rotation::Invalid => {
            return Ok((jar.add(cookie::removal(secure)), refused()).into_response());
        }
    };
    let Some(user) = users::find_by_id(&state.store.users, session.user_id).await? else {
        sessions::revoke(&state.store.sessions, session.id).await?;
        state.session_ended(session.user_id, session.id);
        return Ok((jar.add(cookie::removal(secure)), refused()).into_response());
    };
    Ok(respond(&state, &user, session.id, next.value, jar)?.into_response())
}

/// The cookie routes act on whatever refresh cookie the browser holds, so a page of another
/// origin must not call them: `SameSite=Strict` lets a sibling subdomain (same site) through,
/// `Origin` does not. Requests without `Origin` (not from a browser page) are let through.
fn same_origin(state: &AppState, headers: &HeaderMap) -> ApiResult<()> {
    if origin_allowed(&state.settings, headers) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "requests from this origin are not allowed",
        ))
    }
}

fn refused() -> ApiError {
    ApiError::unauthorized(INVALID_REFRESH)
}

/// Ends the session named by the refresh cookie and/or the bearer token: its refresh token
/// stops working and its access tokens are refused from now on. Idempotent.
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth",
    responses(
        (status = 204, description = "Signed out; refresh cookie cleared"),
        (status = 403, description = "A foreign Origin", body = ErrorBody),
    ))]
async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
) -> ApiResult<impl IntoResponse> {
    same_origin(&state, &headers)?;
    let from_token = bearer_token(&headers)
        .and_then(|token| state.jwt.verify(token))
        .map(|subject| (subject.session_id, subject.user_id));
    let from_cookie = match jar.get(cookie::NAME) {
        Some(c) => {
            sessions::find_by_any_token(&state.store.sessions, &refresh_token::hash(c.value()))
                .await?
        }
        None => None,
    };
    for (session_id, user_id) in [from_token, from_cookie].into_iter().flatten() {
        sessions::revoke(&state.store.sessions, session_id).await?;
        state.session_ended(user_id, session_id);
        tracing::info!(%session_id, "signed out");
    }
    let jar = jar.add(cookie::removal(state.settings.cookie_secure()));
    Ok((StatusCode::NO_CONTENT, jar))
}
