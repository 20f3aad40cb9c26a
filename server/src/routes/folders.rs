//! `/api/folders`: the caller's folders of chats. A chat is in at most one folder
//! (`PATCH /api/chats/{id} {folder_id}`); deleting a folder takes its chats out of it, never
//! deletes them. Another user's folder is 404.

use axum::{Json, extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use validator::Validate;

use super::chats::owned_folder;
use crate::{
    auth::CurrentUser,
    error::{ApiError, ApiResult, ErrorBody},
    events::LiveEvent,
    http::{Path, ValidatedJson},
    state::AppState,
    store::{
        self, chats,
        folders::{self, FolderDoc, FolderUpdate},
    },
    views::{ChatView, FolderView},
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_folders, create_folder))
        .routes(routes!(update_folder, delete_folder))
}

/// A trimmed, non-empty name.
fn clean_name(name: &str) -> ApiResult<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ApiError::field("name", "must not be empty"));
    }
    Ok(name.to_owned())
}

/// A duplicate name among the caller's folders is a 409 naming the field.
fn name_taken(err: mongodb::error::Error) -> ApiError {
    if store::duplicate_key_index(&err).is_some_and(|index| index.contains(folders::NAME_INDEX)) {
        ApiError::Conflict {
            field: "name",
            message: "a folder of this name already exists".to_owned(),
        }
    } else {
        err.into()
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FolderList {
    /// In their order.
    folders: Vec<FolderView>,
}

/// The caller's folders, in their order.
#[utoipa::path(get, path = "/api/folders", tag = "folders", security(("bearer" = [])),
    responses((status = 200, body = FolderList), (status = 401, body = ErrorBody)))]
async fn list_folders(
    State(state): State<AppState>,
    user: CurrentUser,
) -> ApiResult<Json<FolderList>> {
    let found = folders::of_user(&state.store.folders, user.user_id).await?;
    Ok(Json(FolderList {
        folders: found.iter().map(FolderView::from).collect(),
    }))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Work", "order": 1}))]
pub struct CreateFolder {
    #[validate(length(min = 1, max = 100, message = "must be 1 to 100 characters long"))]
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    name: String,
    /// Where it is shown (default: after the others).
    #[validate(range(min = -1_000_000, max = 1_000_000, message = "must be between -1000000 and 1000000"))]
    order: Option<i64>,
}

/// Makes a folder (names are unique per user, ignoring case: 409; at most 200: 409).
#[utoipa::path(post, path = "/api/folders", tag = "folders", security(("bearer" = [])),
    request_body = CreateFolder,
    responses(
        (status = 201, body = FolderView),
        (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn create_folder(
    State(state): State<AppState>,
    user: CurrentUser,
    ValidatedJson(body): ValidatedJson<CreateFolder>,
) -> ApiResult<(StatusCode, Json<FolderView>)> {
    let name = clean_name(&body.name)?;
    let count = folders::count_of(&state.store.folders, user.user_id).await?;
    if count >= folders::MAX_PER_USER {
        return Err(ApiError::Conflict {
            field: "name",
            message: format!(
                "at most {} folders are kept; delete one first",
                folders::MAX_PER_USER
            ),
        });
    }
    let order = body.order.unwrap_or(i64::try_from(count).unwrap_or(0));
    let folder = FolderDoc::new(user.user_id, name, order);
    folders::insert(&state.store.folders, &folder)
        .await
        .map_err(name_taken)?;
    let view = FolderView::from(&folder);
    state
        .events
        .publish(user.user_id, LiveEvent::folder(view.clone(), true));
    Ok((StatusCode::CREATED, Json(view)))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Work (2026)"}))]
pub struct UpdateFolder {
    #[validate(length(min = 1, max = 100, message = "must be 1 to 100 characters long"))]
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    name: Option<String>,
    #[validate(range(min = -1_000_000, max = 1_000_000, message = "must be between -1000000 and 1000000"))]
    order: Option<i64>,
}

/// Renames or reorders a folder.
#[utoipa::path(patch, path = "/api/folders/{id}", tag = "folders", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = UpdateFolder,
    responses(
        (status = 200, body = FolderView),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn update_folder(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    ValidatedJson(body): ValidatedJson<UpdateFolder>,
) -> ApiResult<Json<FolderView>> {
    let folder = owned_folder(&state, user.user_id, &id).await?;
    let change = FolderUpdate {
        name: body.name.as_deref().map(clean_name).transpose()?,
        order: body.order,
    };
    let updated = folders::update(&state.store.folders, user.user_id, folder.id, &change)
        .await
        .map_err(name_taken)?
        .ok_or(ApiError::NotFound("folder"))?;
    let view = FolderView::from(&updated);
    state
        .events
        .publish(user.user_id, LiveEvent::folder(view.clone(), false));
    Ok(Json(view))
}

/// Deletes a folder; its chats stay, out of any folder.
#[utoipa::path(delete, path = "/api/folders/{id}", tag = "folders", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_folder(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let folder = owned_folder(&state, user.user_id, &id).await?;
    // The folder first: a chat filed into it meanwhile is then taken out too.
    if !folders::delete(&state.store.folders, user.user_id, folder.id).await? {
        return Err(ApiError::NotFound("folder"));
    }
    state
        .events
        .publish(user.user_id, LiveEvent::folder_deleted(folder.id));
    let moved = chats::leave_folder(&state.store.chats, user.user_id, folder.id).await?;
    // Every open client of the user sees those chats out of the folder.
    for chat in &moved {
        state
            .events
            .publish(user.user_id, LiveEvent::chat_updated(ChatView::from(chat)));
    }
    Ok(StatusCode::NO_CONTENT)
}
