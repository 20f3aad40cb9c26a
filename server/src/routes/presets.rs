//! `/api/presets`: named parameter sets. A user's own are private to them (another user's is
//! 404); shared ones are made by admins and every user sees them, read-only (403) but for
//! admins. A chat takes a preset's parameters as a copy (`preset_id` on `POST /api/chats` and
//! `PATCH /api/chats/{id}`).

use axum::{Json, extract::State, http::StatusCode, response::IntoResponse};
use mongodb::bson::oid::ObjectId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use validator::Validate;

use super::chats::check_parameters;
use crate::{
    auth::CurrentUser,
    domain::{AccountRole, SamplingParams},
    error::{ApiError, ApiResult, ErrorBody},
    http::{Path, ValidatedJson},
    state::AppState,
    store::{
        self,
        presets::{self, PresetDoc, PresetUpdate},
    },
    views::PresetView,
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_presets, create_preset))
        .routes(routes!(update_preset, delete_preset))
}

const MAX_NAME: u64 = 100;

fn is_admin(user: &CurrentUser) -> bool {
    user.role == AccountRole::Admin
}

fn editable(user: &CurrentUser, preset: &PresetDoc) -> bool {
    match preset.user_id {
        Some(owner) => owner == user.user_id,
        None => is_admin(user),
    }
}

/// A preset the caller sees, by the id in the path (404 otherwise).
pub async fn visible_preset(
    state: &AppState,
    user: &CurrentUser,
    raw_id: &str,
) -> ApiResult<Option<PresetDoc>> {
    let Ok(id) = ObjectId::parse_str(raw_id) else {
        return Ok(None);
    };
    Ok(presets::find_visible(&state.store.presets, user.user_id, id).await?)
}

/// A preset the caller may change: 404 if they do not see it, 403 if it is shared and they
/// are not an admin.
async fn editable_preset(
    state: &AppState,
    user: &CurrentUser,
    raw_id: &str,
) -> ApiResult<PresetDoc> {
    let preset = visible_preset(state, user, raw_id)
        .await?
        .ok_or(ApiError::NotFound("preset"))?;
    if !editable(user, &preset) {
        return Err(ApiError::Forbidden(
            "shared presets are read-only; only admins change them",
        ));
    }
    Ok(preset)
}

/// A trimmed, non-empty name.
fn clean_name(name: &str) -> ApiResult<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ApiError::field("name", "must not be empty"));
    }
    Ok(name.to_owned())
}

/// A duplicate name among the owner's presets is a 409 naming the field.
fn name_taken(err: mongodb::error::Error) -> ApiError {
    if store::duplicate_key_index(&err).is_some_and(|index| index.contains(presets::NAME_INDEX)) {
        ApiError::Conflict {
            field: "name",
            message: "a preset of this name already exists".to_owned(),
        }
    } else {
        err.into()
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PresetList {
    /// The shared presets first, then the caller's own; each by name.
    presets: Vec<PresetView>,
}

/// The presets the caller sees: the shared ones and their own.
#[utoipa::path(get, path = "/api/presets", tag = "presets", security(("bearer" = [])),
    responses((status = 200, body = PresetList), (status = 401, body = ErrorBody)))]
async fn list_presets(
    State(state): State<AppState>,
    user: CurrentUser,
) -> ApiResult<Json<PresetList>> {
    let found = presets::list_visible(&state.store.presets, user.user_id).await?;
    Ok(Json(PresetList {
        presets: found
            .iter()
            .map(|preset| PresetView::of(preset, editable(&user, preset)))
            .collect(),
    }))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Precise", "parameters": {"temperature": 0.1, "top_p": 0.9, "seed": 7}}))]
pub struct CreatePreset {
    #[validate(length(min = 1, max = MAX_NAME, message = "must be 1 to 100 characters long"))]
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    name: String,
    parameters: SamplingParams,
    /// Shared with every user (admins only).
    #[serde(default)]
    shared: bool,
}

/// Saves a preset (shared: admins only, else 403).
#[utoipa::path(post, path = "/api/presets", tag = "presets", security(("bearer" = [])),
    request_body = CreatePreset,
    responses(
        (status = 201, body = PresetView),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn create_preset(
    State(state): State<AppState>,
    user: CurrentUser,
    ValidatedJson(body): ValidatedJson<CreatePreset>,
) -> ApiResult<impl IntoResponse> {
    if body.shared && !is_admin(&user) {
        return Err(ApiError::Forbidden("only admins share presets"));
    }
    let name = clean_name(&body.name)?;
    check_parameters(&state, &body.parameters)?;
    let preset = PresetDoc::new(user.user_id, body.shared, name, body.parameters);
    if presets::count_of(&state.store.presets, preset.user_id).await? >= presets::MAX_PER_OWNER {
        return Err(ApiError::Conflict {
            field: "name",
            message: format!(
                "at most {} presets are kept; delete one first",
                presets::MAX_PER_OWNER
            ),
        });
    }
    presets::insert(&state.store.presets, &preset)
        .await
        .map_err(name_taken)?;
    Ok((StatusCode::CREATED, Json(PresetView::of(&preset, true))))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Precise (seeded)"}))]
pub struct UpdatePreset {
    #[validate(length(min = 1, max = MAX_NAME, message = "must be 1 to 100 characters long"))]
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    name: Option<String>,
    /// Replaces its parameters as a whole (chats made from it keep theirs).
    parameters: Option<SamplingParams>,
    /// Share it, or make it the caller's own again (admins only).
    shared: Option<bool>,
}

/// Renames a preset, replaces its parameters, or (admins) shares or unshares it.
#[utoipa::path(patch, path = "/api/presets/{id}", tag = "presets", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = UpdatePreset,
    responses(
        (status = 200, body = PresetView),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn update_preset(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    ValidatedJson(body): ValidatedJson<UpdatePreset>,
) -> ApiResult<Json<PresetView>> {
    let preset = editable_preset(&state, &user, &id).await?;
    let mut change = PresetUpdate::default();
    if let Some(name) = &body.name {
        change.name = Some(clean_name(name)?);
    }
    if let Some(parameters) = body.parameters {
        check_parameters(&state, &parameters)?;
        change.parameters = Some(parameters);
    }
    if let Some(shared) = body.shared.filter(|shared| *shared != preset.is_shared()) {
        if !is_admin(&user) {
            return Err(ApiError::Forbidden("only admins share presets"));
        }
        change.owner = Some((!shared).then_some(user.user_id));
    }
    let updated = presets::update(&state.store.presets, preset.id, preset.user_id, &change)
        .await
        .map_err(name_taken)?
        .ok_or(ApiError::NotFound("preset"))?;
    Ok(Json(PresetView::of(&updated, editable(&user, &updated))))
}

/// Deletes a preset (chats made from it keep their parameters).
#[utoipa::path(delete, path = "/api/presets/{id}", tag = "presets", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_preset(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let preset = editable_preset(&state, &user, &id).await?;
    if !presets::delete(&state.store.presets, preset.id, preset.user_id).await? {
        return Err(ApiError::NotFound("preset"));
    }
    Ok(StatusCode::NO_CONTENT)
}
