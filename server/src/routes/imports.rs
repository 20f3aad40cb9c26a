//! `/api/imports`: bring conversations in from ChatGPT's data export or a Confab export.
//! `POST` takes the file (the raw body, or the multipart field `file`), checks it at once (a
//! file that is not JSON or zip, or of no known format, is a 422 saying where; over
//! `MAX_IMPORT_BYTES`, uploaded or expanded, a 413) and answers 202 with the job, which then
//! runs in the background (`import::job`). `GET /api/imports/{id}` follows it; another user's
//! job is 404.

use axum::{
    Json,
    body::Body,
    extract::State,
    http::{HeaderMap, StatusCode, header},
};
use bytes::{Bytes, BytesMut};
use futures::TryStreamExt as _;
use mongodb::bson::oid::ObjectId;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    auth::CurrentUser,
    error::{ApiError, ApiResult, ErrorBody},
    http::Path,
    import::{
        self,
        file::{FileError, Upload},
    },
    state::AppState,
    store::{
        self,
        imports::{self as jobs, ImportDoc},
    },
    views::ImportView,
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_import, list_imports))
        .routes(routes!(get_import))
}

/// The most recent jobs `GET /api/imports` lists.
const LISTED: i64 = 20;

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportList {
    /// Newest first, at most 20.
    imports: Vec<ImportView>,
}

/// The body, up to `limit` bytes (413 past it).
async fn read_limited(body: Body, limit: usize) -> ApiResult<Bytes> {
    let mut stream = body.into_data_stream();
    let mut out = BytesMut::new();
    while let Some(chunk) = stream
        .try_next()
        .await
        .map_err(|_| ApiError::BadRequest("the upload was cut off"))?
    {
        if out.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out.freeze())
}

/// The multipart field `file`: its name and bytes.
async fn read_multipart(
    body: Body,
    boundary: String,
    limit: usize,
) -> ApiResult<(Option<String>, Bytes)> {
    let constraints = multer::Constraints::new().size_limit(
        multer::SizeLimit::new()
            .whole_stream(limit as u64 + 64 * 1024)
            .per_field(limit as u64),
    );
    let mut form =
        multer::Multipart::with_constraints(body.into_data_stream(), boundary, constraints);
    let too_large = |err: &multer::Error| {
        matches!(
            err,
            multer::Error::StreamSizeExceeded { .. } | multer::Error::FieldSizeExceeded { .. }
        )
    };
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => {
                return Err(ApiError::field(
                    "file",
                    "missing: send the file in the field \"file\"",
                ));
            }
            Err(err) if too_large(&err) => return Err(ApiError::PayloadTooLarge { limit }),
            Err(_) => return Err(ApiError::BadRequest("the multipart form cannot be read")),
        };
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().map(str::to_owned);
        return match field.bytes().await {
            Ok(bytes) => Ok((name, bytes)),
            Err(err) if too_large(&err) => Err(ApiError::PayloadTooLarge { limit }),
            Err(_) => Err(ApiError::BadRequest("the multipart form cannot be read")),
        };
    }
}

/// A file name to show: its last path segment, printable, at most 200 characters.
fn clean_name(name: &str) -> Option<String> {
    let name = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let name: String = name.chars().filter(|c| !c.is_control()).take(200).collect();
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_owned())
}

/// Starts an import (202): the file as the raw body (`application/json`, `application/zip`;
/// the name may come in `X-File-Name`) or as the multipart field `file`. Its format is told
/// from its content: ChatGPT's `conversations.json` (alone or in its zip) or a Confab export
/// (one chat, or the account zip). 409 `import_running` while another import of the account
/// is queued or running.
#[utoipa::path(post, path = "/api/imports", tag = "imports", security(("bearer" = [])),
    request_body(description = "The file: JSON or zip, raw or as the multipart field `file`",
        content(("application/json"), ("application/zip"), ("multipart/form-data"))),
    responses(
        (status = 202, body = ImportView),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 422, body = ErrorBody),
        (status = 503, body = ErrorBody),
    ))]
async fn create_import(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<ImportView>)> {
    if state.draining.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(ApiError::Draining);
    }
    let limit = state.settings.http.max_import_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64 + 64 * 1024) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let (name, bytes) = match multer::parse_boundary(content_type) {
        Ok(boundary) => read_multipart(body, boundary, limit).await?,
        Err(_) => {
            let name = headers
                .get("x-file-name")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            (name, read_limited(body, limit).await?)
        }
    };
    let name = name.as_deref().and_then(clean_name);
    if bytes.is_empty() {
        return Err(ApiError::InvalidFile("the file is empty".to_owned()));
    }
    let shown = name.clone().unwrap_or_else(|| "the file".to_owned());
    let upload: Upload =
        tokio::task::spawn_blocking(move || import::file::read(&shown, bytes, limit))
            .await
            .map_err(ApiError::internal)?
            .map_err(|err| match err {
                FileError::Invalid(message) => ApiError::InvalidFile(message),
                FileError::TooLarge(message) => ApiError::ContentTooLarge(message),
            })?;
    let job = ImportDoc::new(
        user.user_id,
        upload.format,
        name,
        state.settings.instance.clone(),
    );
    if let Err(err) = jobs::insert(&state.store.imports, &job).await {
        if store::duplicate_key_index(&err).is_some_and(|index| index.contains(jobs::ACTIVE_INDEX))
        {
            return Err(ApiError::ConflictCode {
                code: "import_running",
                message: "an import of this account is already under way; wait for it to end",
            });
        }
        return Err(err.into());
    }
    let view = ImportView::from(&job);
    tokio::spawn(import::job::run(state.clone(), job, upload));
    Ok((StatusCode::ACCEPTED, Json(view)))
}

/// The caller's latest imports, newest first.
#[utoipa::path(get, path = "/api/imports", tag = "imports", security(("bearer" = [])),
    responses((status = 200, body = ImportList), (status = 401, body = ErrorBody)))]
async fn list_imports(
    State(state): State<AppState>,
    user: CurrentUser,
) -> ApiResult<Json<ImportList>> {
    let found = jobs::of_user(&state.store.imports, user.user_id, LISTED).await?;
    Ok(Json(ImportList {
        imports: found.iter().map(ImportView::from).collect(),
    }))
}

/// One import: its status and counts, and what could not be imported.
#[utoipa::path(get, path = "/api/imports/{id}", tag = "imports", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = ImportView),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn get_import(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Json<ImportView>> {
    let id = ObjectId::parse_str(&id).map_err(|_| ApiError::NotFound("import"))?;
    let job = jobs::find_owned(&state.store.imports, user.user_id, id)
        .await?
        .ok_or(ApiError::NotFound("import"))?;
    Ok(Json(ImportView::from(&job)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_shown_without_paths_or_controls() {
        assert_eq!(
            clean_name("C:\\Users\\me\\export.zip").as_deref(),
            Some("export.zip")
        );
        assert_eq!(clean_name("../../etc/passwd").as_deref(), Some("passwd"));
        assert_eq!(clean_name("a\u{0}b\nc.json").as_deref(), Some("abc.json"));
        assert_eq!(clean_name("  "), None);
    }
}
