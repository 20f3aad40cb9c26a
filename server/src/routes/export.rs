//! `GET /api/chats/{id}/export?format=json|markdown`: one chat, to keep or to move. JSON is
//! the whole tree — every version of every message with its parameters, stats, structured
//! verdict and the caller's vote — in a versioned format (`confab.chat`, version 1) that an
//! import reads back; Markdown is the branch on screen, as a document.

use axum::{
    Json,
    extract::State,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use mongodb::bson::oid::ObjectId;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{chats::owned_chat, fork::path_to};
use crate::{
    auth::CurrentUser,
    domain::Role,
    error::{ApiResult, ErrorBody},
    http::{Path, Query},
    state::AppState,
    store::{ChatDoc, MessageDoc, messages, votes, votes::Vote},
    views::{ChatView, MessageView},
};

/// The format's name and version, in every JSON export.
pub const FORMAT: &str = "confab.chat";
pub const VERSION: u32 = 1;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(export_chat))
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    #[default]
    Json,
    Markdown,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `json` (default): the whole tree; `markdown`: the branch on screen.
    format: Option<ExportFormat>,
}

/// A chat as exported (`format: "confab.chat"`, `version: 1`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ChatExport {
    pub format: &'static str,
    pub version: u32,
    pub exported_at: DateTime<Utc>,
    pub chat: ChatView,
    /// Every message, oldest first; `parent_id` makes the tree.
    pub messages: Vec<MessageView>,
}

impl ChatExport {
    /// The chat with its messages (oldest first) and the owner's votes on them.
    pub fn of<'a>(
        chat: &ChatDoc,
        messages: impl Iterator<Item = &'a MessageDoc>,
        votes: &HashMap<ObjectId, Vote>,
    ) -> Self {
        Self {
            format: FORMAT,
            version: VERSION,
            exported_at: Utc::now(),
            chat: ChatView::from(chat),
            messages: messages
                .map(|doc| {
                    let mut view = MessageView::from(doc);
                    view.vote = votes.get(&doc.id).map(|v| v.as_str().to_owned());
                    view
                })
                .collect(),
        }
    }
}

/// A file name for the chat: its title without what file systems refuse, or "chat".
fn file_name(title: Option<&str>, extension: &str) -> String {
    let cleaned: String = title
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || " -_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    let cleaned = cleaned.trim().trim_matches('.');
    let base = if cleaned.is_empty() { "chat" } else { cleaned };
    format!("{base}.{extension}")
}

fn attachment(mut response: Response, name: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// The branch on screen as Markdown: the title, then each message under its author.
fn markdown(title: Option<&str>, branch: &[&MessageDoc]) -> String {
    let mut text = format!("# {}\n", title.unwrap_or("Chat"));
    for message in branch.iter().filter(|m| !m.content.trim().is_empty()) {
        let who = match (message.role, message.model.as_deref()) {
            (Role::User, _) => "You".to_owned(),
            (Role::Assistant, Some(model)) => format!("Assistant ({model})"),
            (Role::Assistant, None) => "Assistant".to_owned(),
            (Role::System, _) => "System".to_owned(),
        };
        text.push_str(&format!("\n## {who}\n\n{}\n", message.content.trim_end()));
    }
    text
}

/// One chat as a file: JSON (the whole tree) or Markdown (the branch on screen).
#[utoipa::path(get, path = "/api/chats/{id}/export", tag = "chats", security(("bearer" = [])),
    params(("id" = String, Path), ExportQuery),
    responses(
        (status = 200, description = "The whole tree as JSON, or the branch on screen as Markdown (`format=markdown`)",
            content((ChatExport = "application/json"), (String = "text/markdown"))),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn export_chat(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Query(query): Query<ExportQuery>,
) -> ApiResult<Response> {
    let chat = owned_chat(&state, &user, &id).await?;
    let docs = messages::for_chat(&state.store.messages, chat.id).await?;
    if query.format.unwrap_or_default() == ExportFormat::Markdown {
        let branch = chat
            .current_message_id
            .and_then(|leaf| path_to(&docs, leaf))
            .unwrap_or_default();
        let response = (
            [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
            markdown(chat.title.as_deref(), &branch),
        )
            .into_response();
        return Ok(attachment(
            response,
            &file_name(chat.title.as_deref(), "md"),
        ));
    }
    let votes = votes::for_chat(&state.store.votes, user.user_id, chat.id).await?;
    let response = Json(ChatExport::of(&chat, docs.iter(), &votes)).into_response();
    Ok(attachment(
        response,
        &file_name(chat.title.as_deref(), "json"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_keep_what_file_systems_take() {
        assert_eq!(
            file_name(Some("Trip: Lisbon/Porto?"), "json"),
            "Trip_ Lisbon_Porto_.json"
        );
        assert_eq!(file_name(Some("..."), "md"), "chat.md");
        assert_eq!(file_name(None, "md"), "chat.md");
        assert_eq!(file_name(Some(&"x".repeat(200)), "md").len(), 83);
        assert_eq!(
            file_name(Some("日本語のチャット"), "json"),
            "日本語のチャット.json"
        );
    }
}

pub fn account_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(export_account))
}

/// Chats read (with their messages and votes) per round of the account export.
const CHATS_PER_ROUND: i64 = 20;

/// The manifest of an account export.
#[derive(Debug, Serialize)]
struct Manifest {
    format: &'static str,
    version: u32,
    exported_at: DateTime<Utc>,
    user: crate::views::UserView,
    /// Each chat's file (`chats/{id}.json`, in the `confab.chat` format).
    chats: Vec<String>,
}

/// Everything of mine as a zip, streamed as it is written (no `Content-Length`): one
/// `chats/{id}.json` per chat (`confab.chat` v1), `presets.json`, `folders.json`, `votes.json`,
/// and `manifest.json` last (it lists the chats). Chats are read 20 at a time, so memory stays
/// flat however many there are.
#[utoipa::path(get, path = "/api/users/me/export", tag = "users", security(("bearer" = [])),
    responses(
        (status = 200, description = "A zip archive", content_type = "application/zip"),
        (status = 401, body = ErrorBody),
    ))]
async fn export_account(State(state): State<AppState>, user: CurrentUser) -> ApiResult<Response> {
    let account = crate::store::users::find_by_id(&state.store.users, user.user_id)
        .await?
        .ok_or(crate::error::ApiError::NotFound("user"))?;
    let (writer, reader) = tokio::io::duplex(64 * 1024);
    let user_id = user.user_id;
    tokio::spawn(async move {
        if let Err(err) = write_account(&state, user_id, account, writer).await {
            // The reader sees a cut archive; nothing else can be said once the body started.
            tracing::warn!(%user_id, error = %err, "an account export stopped");
        }
    });
    let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(reader));
    let response = (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/zip"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"confab-export.zip\""),
            ),
        ],
        body,
    )
        .into_response();
    Ok(response)
}

async fn write_account(
    state: &AppState,
    user_id: mongodb::bson::oid::ObjectId,
    account: crate::store::UserDoc,
    writer: tokio::io::DuplexStream,
) -> anyhow::Result<()> {
    use async_zip::{Compression, ZipEntryBuilder, tokio::write::ZipFileWriter};
    use futures::TryStreamExt as _;
    use mongodb::bson::doc;

    let mut zip = ZipFileWriter::with_tokio(writer);
    let entry = |name: &str| ZipEntryBuilder::new(name.to_owned().into(), Compression::Deflate);
    let mut files = Vec::new();
    let mut after: Option<mongodb::bson::oid::ObjectId> = None;
    loop {
        let mut filter = doc! { "user_id": user_id };
        if let Some(last) = after {
            filter.insert("_id", doc! { "$gt": last });
        }
        let round: Vec<ChatDoc> = state
            .store
            .chats
            .find(filter)
            .sort(doc! { "_id": 1 })
            .limit(CHATS_PER_ROUND)
            .await?
            .try_collect()
            .await?;
        let Some(last) = round.last() else { break };
        after = Some(last.id);
        let ids: Vec<_> = round.iter().map(|c| c.id).collect();
        let (all, votes) = tokio::try_join!(
            messages::for_chats_of(&state.store.messages, &ids, user_id),
            votes::for_chats(&state.store.votes, user_id, &ids),
        )?;
        for chat in &round {
            let mut docs: Vec<&MessageDoc> = all.iter().filter(|m| m.chat_id == chat.id).collect();
            docs.sort_by_key(|m| (m.created_at, m.id));
            let export = ChatExport::of(chat, docs.into_iter(), &votes);
            let name = format!("chats/{}.json", chat.id.to_hex());
            zip.write_entry_whole(entry(&name), &serde_json::to_vec_pretty(&export)?)
                .await?;
            files.push(name);
        }
    }
    let presets = crate::store::presets::list_visible(&state.store.presets, user_id)
        .await?
        .into_iter()
        .filter(|p| p.user_id == Some(user_id))
        .map(|p| crate::views::PresetView::of(&p, true))
        .collect::<Vec<_>>();
    zip.write_entry_whole(entry("presets.json"), &serde_json::to_vec_pretty(&presets)?)
        .await?;
    let folders: Vec<crate::views::FolderView> =
        crate::store::folders::of_user(&state.store.folders, user_id)
            .await?
            .iter()
            .map(crate::views::FolderView::from)
            .collect();
    zip.write_entry_whole(entry("folders.json"), &serde_json::to_vec_pretty(&folders)?)
        .await?;
    let all_votes: Vec<serde_json::Value> = votes::for_user(&state.store.votes, user_id)
        .await?
        .iter()
        .map(|v| {
            serde_json::json!({
                "chat_id": v.chat_id.to_hex(),
                "message_id": v.message_id.to_hex(),
                "vote": v.vote.as_str(),
                "reason": v.reason,
                "updated_at": v.updated_at.to_chrono(),
            })
        })
        .collect();
    zip.write_entry_whole(entry("votes.json"), &serde_json::to_vec_pretty(&all_votes)?)
        .await?;
    let manifest = Manifest {
        format: "confab.account",
        version: VERSION,
        exported_at: Utc::now(),
        user: crate::views::UserView::from(&account),
        chats: files,
    };
    zip.write_entry_whole(
        entry("manifest.json"),
        &serde_json::to_vec_pretty(&manifest)?,
    )
    .await?;
    zip.close().await?;
    Ok(())
}
