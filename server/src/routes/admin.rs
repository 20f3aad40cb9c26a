//! `/api/admin/…`: accounts, invites, usage and the audit log, for admins only (anyone else
//! 403). No route here returns a chat's content: admins run the deployment, they do not read
//! their users' conversations.

use axum::{Json, extract::State, http::StatusCode};
use mongodb::bson::{DateTime, oid::ObjectId};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use validator::Validate;

use super::users::delete_account;
use crate::{
    auth::{Admin, refresh_token::RefreshToken},
    domain::{AccountRole, AccountStatus, account::MAX_LIMIT},
    error::{ApiError, ApiResult, ErrorBody},
    http::{ClientIp, Path, Query, ValidatedJson},
    state::AppState,
    store::{
        audit::{self, AuditDoc},
        invites::{self, InviteDoc},
        usage::{self, GroupBy},
        users::{self, AccountChange, ChangeError},
    },
    views::account::{
        AdminUserPage, AdminUserView, AuditEntry, AuditPage, InviteList, InviteView, UsageRow,
        UsageSummary,
    },
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users))
        .routes(routes!(update_user, delete_user))
        .routes(routes!(list_invites, create_invite))
        .routes(routes!(delete_invite))
        .routes(routes!(usage_summary))
        .routes(routes!(audit_log))
}

/// Records an admin's action (a failure to record is logged, not the admin's problem).
pub(super) async fn record(
    state: &AppState,
    admin: &Admin,
    ip: std::net::IpAddr,
    action: &str,
    target: String,
    detail: String,
) {
    let actor_name = users::find_by_id(&state.store.users, admin.0.user_id)
        .await
        .ok()
        .flatten()
        .map(|u| u.username);
    let entry = AuditDoc {
        actor_id: Some(admin.0.user_id),
        actor_name,
        target: Some(target),
        address: Some(crate::domain::device::approximate(ip)),
        detail: Some(detail),
        ..AuditDoc::new(action)
    };
    if let Err(err) = audit::record(&state.store.audit, &entry).await {
        tracing::warn!(error = %err, action, "recording an admin action failed");
    }
}

/// An admin does not demote, disable or delete themselves here: another admin does (or they
/// delete their own account with its password, `DELETE /api/users/me`).
const OWN_ACCOUNT: ApiError = ApiError::ConflictCode {
    code: "own_account",
    message: "an admin's own role and status are changed by another admin",
};

/// A page's size (`limit`, 1–200, default 50) and where it starts (`cursor`: an id this API gave
/// as `next_cursor`).
fn page_request(limit: Option<i64>, cursor: Option<&str>) -> ApiResult<(i64, Option<ObjectId>)> {
    let limit = limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::field("limit", "must be 1 to 200"));
    }
    let cursor = match cursor {
        Some(cursor) => Some(
            ObjectId::parse_str(cursor)
                .map_err(|_| ApiError::field("cursor", "is not a cursor this API gave"))?,
        ),
        None => None,
    };
    Ok((limit, cursor))
}

/// The page of `found` (read with one more than `limit`) and the cursor after it, if more follow.
fn page_of<T>(found: &[T], limit: i64, id: impl Fn(&T) -> ObjectId) -> (&[T], Option<String>) {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let page = &found[..found.len().min(limit)];
    let next = (found.len() > limit)
        .then(|| page.last().map(|last| id(last).to_hex()))
        .flatten();
    (page, next)
}

fn user_id(raw: &str) -> ApiResult<ObjectId> {
    ObjectId::parse_str(raw).map_err(|_| ApiError::NotFound("user"))
}

fn this_month() -> String {
    usage::day_and_month(chrono::Utc::now()).1
}

async fn view_of(state: &AppState, user: &crate::store::UserDoc) -> ApiResult<AdminUserView> {
    let tokens = usage::month_totals(&state.store.usage, &[user.id], &this_month()).await?;
    Ok(AdminUserView::new(
        user,
        tokens.get(&user.id).copied().unwrap_or(0),
        state.generations.limits.as_limits(),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserListQuery {
    /// Part of a username or e-mail address (case-insensitive).
    #[param(max_length = 254)]
    q: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(pattern = "^[0-9a-f]{24}$")]
    cursor: Option<String>,
    /// Accounts per page (1–200, default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

/// Accounts, oldest first, with their role, status, limits and tokens this month.
#[utoipa::path(get, path = "/api/admin/users", tag = "admin", security(("bearer" = [])),
    params(UserListQuery),
    responses(
        (status = 200, body = AdminUserPage),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn list_users(
    State(state): State<AppState>,
    _admin: Admin,
    Query(query): Query<UserListQuery>,
) -> ApiResult<Json<AdminUserPage>> {
    if query.q.as_ref().is_some_and(|q| q.chars().count() > 254) {
        return Err(ApiError::field("q", "must be at most 254 characters long"));
    }
    let (limit, after) = page_request(query.limit, query.cursor.as_deref())?;
    let found = users::search(&state.store.users, query.q.as_deref(), after, limit + 1).await?;
    let (page, next_cursor) = page_of(&found, limit, |u| u.id);
    let ids: Vec<ObjectId> = page.iter().map(|u| u.id).collect();
    let tokens = usage::month_totals(&state.store.usage, &ids, &this_month()).await?;
    let defaults = state.generations.limits.as_limits();
    Ok(Json(AdminUserPage {
        users: page
            .iter()
            .map(|u| AdminUserView::new(u, tokens.get(&u.id).copied().unwrap_or(0), defaults))
            .collect(),
        next_cursor,
    }))
}

/// Per-account limits: a number sets it (0: no limit), `null` goes back to the default.
#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct LimitsChange {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u64>, minimum = 0, maximum = 1000000000000_u64)]
    messages_per_minute: Option<Option<u64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u64>, minimum = 0, maximum = 1000000000000_u64)]
    concurrent_generations: Option<Option<u64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u64>, minimum = 0, maximum = 1000000000000_u64)]
    daily_tokens: Option<Option<u64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u64>, minimum = 0, maximum = 1000000000000_u64)]
    monthly_tokens: Option<Option<u64>>,
}

/// A whole number as JSON Schema's `integer` has it (`3` and `3.0` alike), not negative.
fn whole(value: &serde_json::Value) -> Option<u64> {
    if let Some(n) = value.as_u64() {
        return Some(n);
    }
    let f = value.as_f64()?;
    (f >= 0.0 && f.fract() == 0.0 && f <= MAX_LIMIT as f64).then_some(f as u64)
}

/// A field that is present (`null` included) is `Some`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<u64>>, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Null => Ok(Some(None)),
        value => whole(&value)
            .map(|n| Some(Some(n)))
            .ok_or_else(|| serde::de::Error::custom("must be a whole number, at least 0, or null")),
    }
}

/// An optional whole number (`uses`, `expires_in_hours`).
fn optional_whole<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    match Option::<serde_json::Value>::deserialize(d)? {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(value) => whole(&value)
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom("must be a whole number")),
    }
}

/// `limits` is an object (or `null`), never an array.
fn limits_object<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<LimitsChange>, D::Error> {
    match Option::<serde_json::Value>::deserialize(d)? {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(object @ serde_json::Value::Object(_)) => serde_json::from_value(object)
            .map(Some)
            .map_err(serde::de::Error::custom),
        Some(_) => Err(serde::de::Error::custom("must be an object")),
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserChange {
    role: Option<AccountRole>,
    /// `active` approves a pending account (or enables a disabled one); `disabled` ends its
    /// sessions at once.
    status: Option<AccountStatus>,
    #[serde(default, deserialize_with = "limits_object")]
    limits: Option<LimitsChange>,
}

/// Changes an account's role, status or limits. An admin cannot demote or disable the last
/// active admin (409 `last_admin`), nor change their own role or status (409 `own_account`).
#[utoipa::path(patch, path = "/api/admin/users/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    request_body = UserChange,
    responses(
        (status = 200, body = AdminUserView),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn update_user(
    State(state): State<AppState>,
    admin: Admin,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    ValidatedJson(body): ValidatedJson<UserChange>,
) -> ApiResult<Json<AdminUserView>> {
    let id = user_id(&id)?;
    if id == admin.0.user_id && (body.role.is_some() || body.status.is_some()) {
        return Err(OWN_ACCOUNT);
    }
    let limits = body.limits.unwrap_or_default();
    let given = [
        limits.messages_per_minute,
        limits.concurrent_generations,
        limits.daily_tokens,
        limits.monthly_tokens,
    ];
    for (field, value) in users::LIMIT_FIELDS.iter().zip(given) {
        if value.flatten().is_some_and(|n| n > MAX_LIMIT) {
            return Err(ApiError::field(
                format!("limits.{field}"),
                format!("must be at most {MAX_LIMIT}"),
            ));
        }
    }
    let change = AccountChange {
        role: body.role,
        status: body.status,
        limits: given,
    };
    let user = users::change(&state.store.users, id, &change)
        .await
        .map_err(|err| match err {
            ChangeError::NotFound => ApiError::NotFound("user"),
            ChangeError::LastAdmin => ApiError::LAST_ADMIN,
            ChangeError::Db(err) => err.into(),
        })?;
    state.standing_cache.forget(id);
    if user.status != AccountStatus::Active {
        super::auth::end_sessions(&state, id, None).await?;
    }
    let detail = describe_change(&change);
    record(
        &state,
        &admin,
        ip,
        "user.update",
        user.username.clone(),
        detail,
    )
    .await;
    Ok(Json(view_of(&state, &user).await?))
}

fn describe_change(change: &AccountChange) -> String {
    let mut parts = Vec::new();
    if let Some(role) = change.role {
        parts.push(format!("role={role:?}").to_lowercase());
    }
    if let Some(status) = change.status {
        parts.push(format!("status={status:?}").to_lowercase());
    }
    for (field, value) in users::LIMIT_FIELDS.iter().zip(change.limits) {
        match value {
            Some(Some(n)) => parts.push(format!("{field}={n}")),
            Some(None) => parts.push(format!("{field}=default")),
            None => {}
        }
    }
    parts.join(", ")
}

/// Deletes an account and everything it owns. Not the last active admin (409 `last_admin`),
/// nor the admin's own (409 `own_account`: `DELETE /api/users/me` does that).
#[utoipa::path(delete, path = "/api/admin/users/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
    ))]
async fn delete_user(
    State(state): State<AppState>,
    admin: Admin,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = user_id(&id)?;
    if id == admin.0.user_id {
        return Err(OWN_ACCOUNT);
    }
    let user = users::find_by_id(&state.store.users, id)
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    delete_account(&state, &user).await?;
    record(
        &state,
        &admin,
        ip,
        "user.delete",
        user.username.clone(),
        String::new(),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    /// How many accounts it may create (default 1).
    #[validate(range(min = 1, max = 10000, message = "must be 1 to 10000"))]
    #[serde(default, deserialize_with = "optional_whole")]
    #[schema(minimum = 1, maximum = 10000)]
    uses: Option<u32>,
    /// Hours until it expires (default: never).
    #[validate(range(min = 1, max = 87600, message = "must be 1 to 87600 (ten years)"))]
    #[serde(default, deserialize_with = "optional_whole")]
    #[schema(minimum = 1, maximum = 87600)]
    expires_in_hours: Option<u32>,
    /// The role of the accounts it creates (default `user`).
    role: Option<AccountRole>,
}

/// Creates an invite: its code (and the sign-up link carrying it) is in this answer only.
#[utoipa::path(post, path = "/api/admin/invites", tag = "admin", security(("bearer" = [])),
    request_body = InviteRequest,
    responses(
        (status = 201, body = InviteView),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn create_invite(
    State(state): State<AppState>,
    admin: Admin,
    ClientIp(ip): ClientIp,
    ValidatedJson(body): ValidatedJson<InviteRequest>,
) -> ApiResult<(StatusCode, Json<InviteView>)> {
    let code = RefreshToken::generate();
    let uses = i64::from(body.uses.unwrap_or(1));
    let expires_at = body.expires_in_hours.map(|hours| {
        DateTime::from_millis(DateTime::now().timestamp_millis() + i64::from(hours) * 3_600_000)
    });
    let invite = InviteDoc {
        id: ObjectId::new(),
        code_hash: code.hash,
        prefix: code.value.chars().take(6).collect(),
        uses,
        used: 0,
        remaining: uses,
        expires_at,
        role: body.role.unwrap_or_default(),
        created_by: admin.0.user_id,
        created_at: DateTime::now(),
    };
    invites::insert(&state.store.invites, &invite).await?;
    let mut view = InviteView::from(&invite);
    view.url = Some(format!(
        "{}/?invite={}",
        state.settings.public_url.trim_end_matches('/'),
        code.value
    ));
    view.code = Some(code.value);
    let detail = format!("uses={uses}, role={:?}", invite.role).to_lowercase();
    record(
        &state,
        &admin,
        ip,
        "invite.create",
        invite.id.to_hex(),
        detail,
    )
    .await;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Every invite, newest first (without codes).
#[utoipa::path(get, path = "/api/admin/invites", tag = "admin", security(("bearer" = [])),
    responses(
        (status = 200, body = InviteList),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    ))]
async fn list_invites(State(state): State<AppState>, _admin: Admin) -> ApiResult<Json<InviteList>> {
    let all = invites::list(&state.store.invites).await?;
    Ok(Json(InviteList {
        invites: all.iter().map(InviteView::from).collect(),
    }))
}

/// Revokes an invite at once.
#[utoipa::path(delete, path = "/api/admin/invites/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "Invite id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn delete_invite(
    State(state): State<AppState>,
    admin: Admin,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = ObjectId::parse_str(&id).map_err(|_| ApiError::NotFound("invite"))?;
    if !invites::delete(&state.store.invites, id).await? {
        return Err(ApiError::NotFound("invite"));
    }
    record(
        &state,
        &admin,
        ip,
        "invite.revoke",
        id.to_hex(),
        String::new(),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsageQuery {
    /// First day (UTC), `YYYY-MM-DD`; default: 29 days before `to`.
    #[param(format = Date)]
    from: Option<String>,
    /// Last day (UTC), `YYYY-MM-DD`; default: today.
    #[param(format = Date)]
    to: Option<String>,
    /// `user`, `model` or `day` (default `day`).
    #[param(pattern = "^(user|model|day)$")]
    group_by: Option<String>,
}

fn parse_day(raw: &str, field: &str) -> ApiResult<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map_err(|_| ApiError::field(field, "must be a date as YYYY-MM-DD"))
}

/// Tokens used between two days (inclusive), grouped by user, model or day, aggregated in
/// MongoDB.
#[utoipa::path(get, path = "/api/admin/usage", tag = "admin", security(("bearer" = [])),
    params(UsageQuery),
    responses(
        (status = 200, body = UsageSummary),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn usage_summary(
    State(state): State<AppState>,
    _admin: Admin,
    Query(query): Query<UsageQuery>,
) -> ApiResult<Json<UsageSummary>> {
    let to = match query.to.as_deref() {
        Some(raw) => parse_day(raw, "to")?,
        None => chrono::Utc::now().date_naive(),
    };
    let from = match query.from.as_deref() {
        Some(raw) => parse_day(raw, "from")?,
        None => to - chrono::Days::new(29),
    };
    let (group_by, name) = match query.group_by.as_deref().unwrap_or("day") {
        "user" => (GroupBy::User, "user"),
        "model" => (GroupBy::Model, "model"),
        "day" => (GroupBy::Day, "day"),
        _ => return Err(ApiError::field("group_by", "must be user, model or day")),
    };
    let (from, to) = (
        from.format("%Y-%m-%d").to_string(),
        to.format("%Y-%m-%d").to_string(),
    );
    // A range that ends before it begins holds no day: no rows.
    let rows = if from <= to {
        usage::summary(&state.store.usage, &from, &to, group_by).await?
    } else {
        Vec::new()
    };
    let names = match group_by {
        GroupBy::User => {
            let ids: Vec<ObjectId> = rows
                .iter()
                .filter_map(|r| ObjectId::parse_str(&r.key).ok())
                .collect();
            users::names(&state.store.users, &ids).await?
        }
        _ => Default::default(),
    };
    Ok(Json(UsageSummary {
        group_by: name.to_owned(),
        from,
        to,
        rows: rows
            .into_iter()
            .map(|row| UsageRow {
                label: ObjectId::parse_str(&row.key)
                    .ok()
                    .and_then(|id| names.get(&id).cloned())
                    .unwrap_or_else(|| row.key.clone()),
                total_tokens: row.prompt_tokens + row.completion_tokens,
                key: row.key,
                prompt_tokens: row.prompt_tokens,
                completion_tokens: row.completion_tokens,
                answers: row.answers,
            })
            .collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// `next_cursor` of the previous page.
    #[param(pattern = "^[0-9a-f]{24}$")]
    cursor: Option<String>,
    /// Entries per page (1–200, default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

/// The audit log, newest first: admin actions and bursts of failed sign-ins (kept 90 days).
#[utoipa::path(get, path = "/api/admin/audit", tag = "admin", security(("bearer" = [])),
    params(AuditQuery),
    responses(
        (status = 200, body = AuditPage),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn audit_log(
    State(state): State<AppState>,
    _admin: Admin,
    Query(query): Query<AuditQuery>,
) -> ApiResult<Json<AuditPage>> {
    let (limit, before) = page_request(query.limit, query.cursor.as_deref())?;
    let found = audit::page(&state.store.audit, before, limit + 1).await?;
    let (page, next_cursor) = page_of(&found, limit, |e| e.id);
    Ok(Json(AuditPage {
        entries: page.iter().map(AuditEntry::from).collect(),
        next_cursor,
    }))
}
