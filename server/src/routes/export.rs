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
use chrono::{DateTime, Utc};
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
    store::{messages, votes},
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
fn markdown(title: Option<&str>, branch: &[&crate::store::MessageDoc]) -> String {
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
    let view = ChatView::from(&chat);
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
    let messages = docs
        .iter()
        .map(|doc| {
            let mut view = MessageView::from(doc);
            view.vote = votes.get(&doc.id).map(|v| v.as_str().to_owned());
            view
        })
        .collect();
    let export = ChatExport {
        format: FORMAT,
        version: VERSION,
        exported_at: Utc::now(),
        chat: view,
        messages,
    };
    let response = Json(export).into_response();
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
