//! `/api/auth/*`: register, login, refresh (rotating), logout.

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use axum_extra::extract::CookieJar;
use mongodb::bson::DateTime;
use serde::{Deserialize, Serialize};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use validator::Validate;

use crate::views::UserView;
use crate::{
    auth::{
        Registration, bearer_token, cookie,
        refresh_token::{self, RefreshToken},
        throttle,
    },
    domain::{AccountRole, AccountStatus, Email, Password, Username},
    error::{ApiError, ApiResult, ErrorBody},
    http::{ClientIp, ValidatedJson, origin_allowed},
    state::AppState,
    store::{
        UserDoc, audit, invites,
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
        .routes(routes!(registration))
        .routes(routes!(reset_password))
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
#[schema(example = json!({"username": "ada", "email": "ada@example.org", "password": "correct horse battery staple"}))]
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
    /// An invite code an admin created: required when `REGISTRATION=invite`; in the other
    /// modes it gives its role and skips the approval.
    #[validate(length(min = 1, max = 128, message = "must be 1 to 128 characters long"))]
    #[schema(min_length = 1, max_length = 128)]
    invite: Option<String>,
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "ada@example.org", "password": "correct horse battery staple"}))]
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
    ip: std::net::IpAddr,
    jar: CookieJar,
) -> ApiResult<(CookieJar, Json<AuthResponse>)> {
    let refresh = RefreshToken::generate();
    let ttl = state.settings.auth.refresh_token_ttl;
    let (session, _) = tokio::try_join!(
        sessions::create(
            &state.store.sessions,
            user.id,
            refresh.hash,
            ttl,
            user_agent(headers),
            Some(crate::domain::device::approximate(ip)),
        ),
        users::touch(&state.store.users, user.id),
    )?;
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

/// An account created in `approval` mode: it can sign in once an admin approves it.
#[derive(Serialize, ToSchema)]
pub struct PendingResponse {
    /// Always `pending`.
    status: AccountStatus,
    user: UserView,
}

/// Creates an account and signs it in (201). With `REGISTRATION=approval`, the account waits for
/// an admin's approval (202, no tokens). The first account of an empty deployment is its admin.
#[utoipa::path(post, path = "/api/auth/register", tag = "auth", request_body = RegisterRequest,
    responses(
        (status = 201, description = "Account created; refresh cookie set", body = AuthResponse),
        (status = 202, description = "Account created; it awaits an admin's approval", body = PendingResponse),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 403, description = "`registration_closed`, `invite_required`, `invite_invalid` or `email_domain_not_allowed`", body = ErrorBody),
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
) -> ApiResult<Response> {
    let username = Username::parse(&body.username).map_err(|e| ApiError::field("username", e))?;
    let email = Email::parse(&body.email).map_err(|e| ApiError::field("email", e))?;
    let password = Password::parse(&body.password).map_err(|e| ApiError::field("password", e))?;
    let settings = &state.settings.auth;
    let mode = settings.registration;
    if mode == Registration::Closed {
        return Err(ApiError::Refused {
            code: "registration_closed",
            message: "this server does not take new accounts; ask its operator for one",
        });
    }
    let domain = email
        .normalized()
        .rsplit_once('@')
        .map(|(_, d)| d.to_owned());
    if !settings.allowed_domains.is_empty()
        && !domain.is_some_and(|d| settings.allowed_domains.contains(&d))
    {
        return Err(ApiError::Refused {
            code: "email_domain_not_allowed",
            message: "accounts on this server need an e-mail address of one of its allowed domains",
        });
    }
    if mode == Registration::Invite && body.invite.is_none() {
        return Err(ApiError::Refused {
            code: "invite_required",
            message: "this server takes new accounts by invitation only: an invite code is needed",
        });
    }

    let per_hour = settings.registrations_per_ip_per_hour;
    throttle::register_attempt(&state.store.throttles, ip, per_hour)
        .await?
        .map_err(|retry_after| ApiError::TooManyRequests { retry_after })?;
    // Refuse a taken address or name before spending a password hash (or an invite) on it.
    if let Some(taken) = users::taken(&state.store.users, &email, &username).await? {
        return Err(conflict(taken));
    }
    let invite = match &body.invite {
        Some(code) => Some(
            invites::redeem(&state.store.invites, &refresh_token::hash(code.trim()))
                .await?
                .ok_or(ApiError::Refused {
                    code: "invite_invalid",
                    message: "this invite code is unknown, used up or expired",
                })?,
        ),
        None => None,
    };
    let created = create_account(&state, &username, &email, &password, mode, invite.as_ref()).await;
    if created.is_err()
        && let Some(invite) = &invite
        && let Err(err) = invites::give_back(&state.store.invites, invite.id).await
    {
        tracing::warn!(error = %err, "giving an invite's use back failed");
    }
    let user = created?;
    tracing::info!(user_id = %user.id, role = ?user.role, status = ?user.status, "account registered");
    if user.status == AccountStatus::Pending {
        let body = PendingResponse {
            status: AccountStatus::Pending,
            user: UserView::from(&user),
        };
        return Ok((StatusCode::ACCEPTED, Json(body)).into_response());
    }
    let (jar, body) = start_session(&state, &user, &headers, ip, jar).await?;
    Ok((StatusCode::CREATED, jar, body).into_response())
}

/// Hashes the password and inserts the account: the first of an empty deployment as its admin,
/// one from an invite with the invite's role, one in `approval` mode (without an invite) pending.
async fn create_account(
    state: &AppState,
    username: &Username,
    email: &Email,
    password: &Password,
    mode: Registration,
    invite: Option<&invites::InviteDoc>,
) -> ApiResult<UserDoc> {
    let hash = state
        .passwords
        .hash(password)
        .await
        .map_err(ApiError::internal)?;
    let mut user = UserDoc::new(username, email, hash);
    if let Some(invite) = invite {
        user.role = invite.role;
    } else if mode == Registration::Approval {
        user.status = AccountStatus::Pending;
    }
    if users::claim_first_admin(&state.store.users, &state.store.claims, user.id).await? {
        user.role = AccountRole::Admin;
        user.status = AccountStatus::Active;
    }
    users::insert(&state.store.users, &user)
        .await
        .map_err(|err| match err {
            InsertError::Taken(taken) => conflict(taken),
            InsertError::Db(err) => err.into(),
        })?;
    Ok(user)
}

/// What the sign-up form must ask for: who may register, and with which e-mail domains.
#[derive(Serialize, ToSchema)]
pub struct RegistrationInfo {
    mode: Registration,
    /// Empty: any domain.
    allowed_domains: Vec<String>,
}

/// How accounts are created on this server (no sign-in needed).
#[utoipa::path(get, path = "/api/auth/registration", tag = "auth",
    responses((status = 200, body = RegistrationInfo)))]
async fn registration(State(state): State<AppState>) -> Json<RegistrationInfo> {
    Json(RegistrationInfo {
        mode: state.settings.auth.registration,
        allowed_domains: state.settings.auth.allowed_domains.clone(),
    })
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPasswordRequest {
    /// E-mail address or username.
    #[validate(length(min = 1, max = 254, message = "must be 1 to 254 characters long"))]
    #[schema(min_length = 1, max_length = 254)]
    login: String,
    /// The code `confab user reset-password` printed.
    #[validate(length(min = 1, max = 128, message = "must be 1 to 128 characters long"))]
    #[schema(min_length = 1, max_length = 128)]
    code: String,
    /// 8–128 characters.
    #[validate(custom(function = "crate::domain::validate_password"))]
    #[schema(min_length = 8, max_length = 128)]
    new_password: String,
}

const INVALID_RESET: ApiError = ApiError::Refused {
    code: "reset_code_invalid",
    message: "this login and reset code do not match, or the code was used or has expired; ask for a new one",
};

/// Sets a new password with a one-time reset code (from `confab user reset-password`, valid an
/// hour), and ends every session of the account.
#[utoipa::path(post, path = "/api/auth/reset-password", tag = "auth", request_body = ResetPasswordRequest,
    responses(
        (status = 204, description = "Password changed; every session ended"),
        (status = 400, body = ErrorBody),
        (status = 403, description = "`reset_code_invalid`: a wrong, used or expired code", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
        (status = 429, description = "Too many failures; see Retry-After", body = ErrorBody),
    ))]
async fn reset_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ValidatedJson(body): ValidatedJson<ResetPasswordRequest>,
) -> ApiResult<StatusCode> {
    let password =
        Password::parse(&body.new_password).map_err(|e| ApiError::field("new_password", e))?;
    let user = users::find_by_login(&state.store.users, &body.login).await?;
    // Wrong codes count as failed sign-ins of the account: the same throttle.
    let account = user
        .as_ref()
        .map_or_else(|| body.login.trim().to_lowercase(), |u| u.id.to_hex());
    let policy = &state.settings.auth.login;
    let throttles = &state.store.throttles;
    policy
        .check(throttles, &account, ip)
        .await?
        .map_err(|retry_after| ApiError::TooManyRequests { retry_after })?;
    let code_hash = refresh_token::hash(body.code.trim());
    let Some(user) = user.filter(|u| {
        u.reset
            .as_ref()
            .is_some_and(|r| r.hash == code_hash && r.expires_at > DateTime::now())
    }) else {
        let burst = policy.failed(throttles, &account, ip).await?;
        audit_burst(&state, burst, &body.login, ip, "reset codes").await;
        return Err(INVALID_RESET);
    };
    let hash = state
        .passwords
        .hash(&password)
        .await
        .map_err(ApiError::internal)?;
    if !users::use_reset_code(&state.store.users, user.id, &code_hash, hash).await? {
        return Err(INVALID_RESET);
    }
    end_sessions(&state, user.id, None).await?;
    tracing::info!(user_id = %user.id, "password reset with a code");
    Ok(StatusCode::NO_CONTENT)
}

/// Records a burst of failures in the audit log (who was tried, from where).
async fn audit_burst(
    state: &AppState,
    burst: Option<throttle::Burst>,
    login: &str,
    ip: std::net::IpAddr,
    what: &str,
) {
    let Some(burst) = burst else { return };
    let detail = match burst {
        throttle::Burst::Account(n) => format!("{n} failed {what} in a row for this account"),
        throttle::Burst::Address(n) => format!("{n} failed {what} from this address"),
    };
    let entry = audit::AuditDoc {
        target: Some(login.trim().chars().take(254).collect()),
        address: Some(crate::domain::device::approximate(ip)),
        detail: Some(detail),
        ..audit::AuditDoc::new("login.failures")
    };
    if let Err(err) = audit::record(&state.store.audit, &entry).await {
        tracing::warn!(error = %err, "recording a burst of failed sign-ins failed");
    }
}

/// Ends the user's sessions (all, or all but `keep`) everywhere: refresh tokens die, access
/// tokens are refused, sockets close with 4001. How many it ended.
pub async fn end_sessions(
    state: &AppState,
    user_id: mongodb::bson::oid::ObjectId,
    keep: Option<mongodb::bson::oid::ObjectId>,
) -> ApiResult<usize> {
    let ended = sessions::revoke_all_of(&state.store.sessions, user_id, keep).await?;
    for session_id in &ended {
        state.session_ended(user_id, *session_id);
    }
    Ok(ended.len())
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
        (status = 403, description = "`account_pending` or `account_disabled` (right password)", body = ErrorBody),
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
        let burst = policy.failed(throttles, &account, ip).await?;
        audit_burst(&state, burst, &body.email, ip, "sign-ins").await;
        tracing::info!(%ip, "failed login");
        return Err(ApiError::unauthorized(INVALID_CREDENTIALS));
    };
    policy.succeeded(throttles, &account, ip).await?;
    // Only the right password learns the account's state.
    match user.status {
        AccountStatus::Active => {}
        AccountStatus::Pending => {
            return Err(ApiError::Refused {
                code: "account_pending",
                message: "this account awaits an admin's approval",
            });
        }
        AccountStatus::Disabled => {
            return Err(ApiError::Refused {
                code: "account_disabled",
                message: "this account has been disabled by an admin",
            });
        }
    }
    tracing::info!(user_id = %user.id, "signed in");
    start_session(&state, &user, &headers, ip, jar).await
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
    let user = users::find_by_id(&state.store.users, session.user_id)
        .await?
        .filter(UserDoc::is_usable);
    let Some(user) = user else {
        sessions::revoke(&state.store.sessions, session.id).await?;
        state.session_ended(session.user_id, session.id);
        return Ok((jar.add(cookie::removal(secure)), refused()).into_response());
    };
    if let Err(err) = users::touch(&state.store.users, user.id).await {
        tracing::debug!(error = %err, "recording activity failed");
    }
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
