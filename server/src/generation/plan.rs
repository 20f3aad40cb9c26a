//! Planning a generation, without a database: where the new messages go in the tree, the
//! parameters it runs with (resolved once, by the catalog), the prompt the model is sent, and
//! how the chat changes. Everything a request says is checked here.

use std::collections::HashMap;

use mongodb::bson::oid::ObjectId;

use super::title;
use crate::{
    domain::{FieldErrors, Role, SamplingParams, Turn, prompt::prompt},
    llm::{Catalog, Resolved},
    store::{
        ChatDoc, MessageDoc,
        chats::ChatUpdate,
        messages::{self, branch_to},
    },
};

/// What the client asked for.
#[derive(Debug, Clone)]
pub enum Request {
    /// A new user message (under `parent_id`, or at the end of the branch on screen) and its answer.
    New {
        content: String,
        parent_id: Option<ObjectId>,
        parameters: Option<SamplingParams>,
        client_request_id: Option<String>,
    },
    /// A sibling of a user message with new text, and its answer.
    Edit {
        message_id: ObjectId,
        content: String,
        parameters: Option<SamplingParams>,
    },
    /// Another answer: a sibling of an answer, or a new answer to a user message.
    Regenerate {
        message_id: ObjectId,
        parameters: Option<SamplingParams>,
    },
    /// More of an answer that ended early (stopped, cut at `max_tokens`, interrupted), in the
    /// same message: its parameters, with these overrides.
    Continue {
        message_id: ObjectId,
        parameters: Option<SamplingParams>,
    },
}

impl Request {
    fn parameters(&self) -> Option<&SamplingParams> {
        match self {
            Request::New { parameters, .. }
            | Request::Edit { parameters, .. }
            | Request::Regenerate { parameters, .. }
            | Request::Continue { parameters, .. } => parameters.as_ref(),
        }
    }

    fn content(&self) -> Option<&str> {
        match self {
            Request::New { content, .. } | Request::Edit { content, .. } => Some(content),
            Request::Regenerate { .. } | Request::Continue { .. } => None,
        }
    }
}

/// A generation ready to launch.
#[derive(Debug)]
pub struct Plan {
    /// The user message it creates (none for regenerate).
    pub user_message: Option<MessageDoc>,
    /// The answer, empty and `streaming`, with the parameters it runs with (continued: the
    /// answer as it is, `streaming` again, with its own parameters).
    pub answer: MessageDoc,
    /// Continued: the answer as it was (what a continuation that does not start puts back).
    pub continued: Option<Box<MessageDoc>>,
    pub resolved: Resolved,
    /// What the model is sent.
    pub prompt: Vec<Turn>,
    /// The idempotency key of a new message.
    pub request_id: Option<String>,
    /// The branch on screen moves to the answer; an untitled chat takes its question's start.
    pub chat_update: ChatUpdate,
}

#[derive(Debug, PartialEq)]
pub enum PlanError {
    /// No model is configured on this server.
    NoUpstream,
    /// The message named in the path is not in the chat.
    MessageNotFound,
    /// Fields that break a rule, each with what is wrong.
    Invalid(FieldErrors),
    /// The answer is not one that may be continued (it did not end early, or is running).
    NotContinuable,
}

fn invalid(field: &str, problem: impl Into<String>) -> PlanError {
    PlanError::Invalid(FieldErrors::from([(field.to_owned(), problem.into())]))
}

/// Plans `request` in `chat`, whose messages are `messages`.
pub fn plan(
    catalog: &Catalog,
    chat: &ChatDoc,
    messages: &[MessageDoc],
    request: Request,
) -> Result<Plan, PlanError> {
    if catalog.is_empty() {
        return Err(PlanError::NoUpstream);
    }
    if let Some(content) = request.content() {
        check_content(catalog, content)?;
    }
    if let Request::Continue {
        message_id,
        parameters,
    } = request
    {
        return plan_continuation(catalog, messages, message_id, parameters);
    }
    let overrides = request.parameters().cloned().unwrap_or_default();
    let resolved = catalog
        .resolve(&overrides.overlay(&chat.parameters), "parameters")
        .map_err(PlanError::Invalid)?;
    let by_id: HashMap<ObjectId, &MessageDoc> = messages.iter().map(|m| (m.id, m)).collect();
    let (user_message, answer_parent, request_id) = place(chat, &by_id, request)?;

    let mut branch: Vec<(Role, &str)> = branch_to(
        &by_id,
        user_message
            .as_ref()
            .map_or(Some(answer_parent), |u| u.parent_id),
    )
    .into_iter()
    .map(|m| (m.role, m.content.as_str()))
    .collect();
    if let Some(user) = &user_message {
        branch.push((Role::User, &user.content));
    }
    let prompt = prompt(
        resolved.params.system_prompt(),
        branch,
        Some(catalog.max_history()),
    );

    let mut answer = MessageDoc::placeholder(
        chat.id,
        chat.user_id,
        answer_parent,
        resolved.model.id.clone(),
        resolved.params.clone(),
    );
    // From a preset only if nothing overrode the chat's copy of it.
    answer.preset_id = chat.preset_id.filter(|_| overrides.iter().next().is_none());
    let title = chat
        .title
        .as_deref()
        .is_none_or(str::is_empty)
        .then(|| {
            user_message
                .as_ref()
                .map(|u| title::from_message(&u.content))
        })
        .flatten();
    let chat_update = ChatUpdate {
        title: title.map(Some),
        current_message_id: Some(answer.id),
        ..ChatUpdate::default()
    };
    Ok(Plan {
        user_message,
        answer,
        continued: None,
        resolved,
        prompt,
        request_id,
        chat_update,
    })
}

/// A continuation of the answer `message_id`: its own parameters with `overrides`, and the
/// prompt that ends with its text so far (which the upstream continues).
fn plan_continuation(
    catalog: &Catalog,
    messages: &[MessageDoc],
    message_id: ObjectId,
    overrides: Option<SamplingParams>,
) -> Result<Plan, PlanError> {
    let by_id: HashMap<ObjectId, &MessageDoc> = messages.iter().map(|m| (m.id, m)).collect();
    let before = *by_id.get(&message_id).ok_or(PlanError::MessageNotFound)?;
    if before.role != Role::Assistant {
        return Err(invalid("message_id", "only answers can be continued"));
    }
    if !messages::is_continuable(before) {
        return Err(PlanError::NotContinuable);
    }
    let own = before.parameters.clone().unwrap_or_default();
    let mut resolved = catalog
        .resolve(&overrides.unwrap_or_default().overlay(&own), "parameters")
        .map_err(PlanError::Invalid)?;
    if let Err(reason) = resolved.model.kind.continues() {
        return Err(invalid("parameters.model", reason));
    }
    resolved.prefill = true;
    let branch: Vec<(Role, &str)> = branch_to(&by_id, before.parent_id)
        .into_iter()
        .map(|m| (m.role, m.content.as_str()))
        .collect();
    let mut prompt = prompt(
        resolved.params.system_prompt(),
        branch,
        Some(catalog.max_history()),
    );
    if !before.content.trim().is_empty() {
        prompt.push(Turn::new(Role::Assistant, before.content.as_str()));
    } else {
        // Nothing to continue from: a plain answer to the same question.
        resolved.prefill = false;
    }
    // Running again: how it ended before no longer holds.
    let mut answer = before.clone();
    answer.status = messages::Status::Streaming;
    answer.finish_reason = None;
    answer.error = None;
    answer.structured = None;
    Ok(Plan {
        user_message: None,
        answer,
        continued: Some(Box::new(before.clone())),
        resolved,
        prompt,
        request_id: None,
        // The branch on screen stays as it is (the answer may have messages after it).
        chat_update: ChatUpdate::default(),
    })
}

fn check_content(catalog: &Catalog, content: &str) -> Result<(), PlanError> {
    if content.trim().is_empty() {
        return Err(invalid("content", "must not be empty"));
    }
    let max = catalog.max_message_length();
    if content.chars().count() > max {
        return Err(invalid(
            "content",
            format!("must be at most {max} characters long"),
        ));
    }
    Ok(())
}

/// Where the new messages go: (new user message, parent of the answer, idempotency key).
fn place(
    chat: &ChatDoc,
    by_id: &HashMap<ObjectId, &MessageDoc>,
    request: Request,
) -> Result<(Option<MessageDoc>, ObjectId, Option<String>), PlanError> {
    match request {
        Request::New {
            content,
            parent_id,
            client_request_id,
            ..
        } => {
            let parent = match parent_id {
                Some(id) if by_id.contains_key(&id) => Some(id),
                Some(_) => return Err(invalid("parent_id", "is not a message of this chat")),
                None => chat.current_message_id.filter(|id| by_id.contains_key(id)),
            };
            let mut user = MessageDoc::user(
                chat.id,
                chat.user_id,
                parent,
                content,
                client_request_id.clone(),
            );
            user.request_key = client_request_id
                .as_ref()
                .map(|key| messages::request_key(chat.id, key));
            let answer_parent = user.id;
            Ok((Some(user), answer_parent, client_request_id))
        }
        Request::Edit {
            message_id,
            content,
            ..
        } => {
            let target = by_id.get(&message_id).ok_or(PlanError::MessageNotFound)?;
            if target.role != Role::User {
                return Err(invalid("message_id", "only user messages can be edited"));
            }
            let user = MessageDoc::user(chat.id, chat.user_id, target.parent_id, content, None);
            let answer_parent = user.id;
            Ok((Some(user), answer_parent, None))
        }
        Request::Continue { .. } => Err(PlanError::NotContinuable),
        Request::Regenerate { message_id, .. } => {
            let target = by_id.get(&message_id).ok_or(PlanError::MessageNotFound)?;
            let parent = match target.role {
                Role::Assistant => target
                    .parent_id
                    .ok_or_else(|| invalid("message_id", "this answer has no question"))?,
                Role::User | Role::System => target.id,
            };
            Ok((None, parent, None))
        }
    }
}

#[cfg(test)]
mod tests;
