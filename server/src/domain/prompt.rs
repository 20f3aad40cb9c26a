//! The conversation a model is sent, built one way wherever it is needed (a new answer, the
//! feedback export, the chat log): the system prompt first when it is not blank, then the
//! branch from the root, blank messages left out.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Who says a message. Stored messages are `user` or `assistant`; `system` is the system
/// prompt, which is a parameter, not a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

/// One message of the conversation a model is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Turn {
    pub role: Role,
    pub content: String,
}

impl Turn {
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
        }
    }
}

/// The prompt: `system` (unless blank), then the last `max_history` non-blank messages of
/// `branch` (all of them when `None`), oldest first.
pub fn prompt<'a>(
    system: Option<&str>,
    branch: impl IntoIterator<Item = (Role, &'a str)>,
    max_history: Option<usize>,
) -> Vec<Turn> {
    let mut history: Vec<Turn> = branch
        .into_iter()
        .filter(|(_, content)| !content.trim().is_empty())
        .map(|(role, content)| Turn::new(role, content))
        .collect();
    if let Some(max) = max_history.map(|m| m.max(1))
        && history.len() > max
    {
        history.drain(..history.len() - max);
    }
    let system = system
        .filter(|prompt| !prompt.trim().is_empty())
        .map(|prompt| Turn::new(Role::System, prompt));
    system.into_iter().chain(history).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_prompt_comes_first_and_blank_messages_are_left_out() {
        let branch = [
            (Role::User, "hi"),
            (Role::Assistant, "  "),
            (Role::User, "again"),
        ];
        assert_eq!(
            prompt(Some("Be brief."), branch, None),
            vec![
                Turn::new(Role::System, "Be brief."),
                Turn::new(Role::User, "hi"),
                Turn::new(Role::User, "again"),
            ]
        );
        assert_eq!(prompt(Some(" "), branch, None)[0].role, Role::User);
    }

    #[test]
    fn only_the_latest_history_is_kept_and_the_system_prompt_is_extra() {
        let branch = [(Role::User, "1"), (Role::Assistant, "2"), (Role::User, "3")];
        let kept = prompt(Some("sys"), branch, Some(2));
        let contents: Vec<&str> = kept.iter().map(|t| t.content.as_str()).collect();
        assert_eq!(contents, ["sys", "2", "3"]);
    }
}
