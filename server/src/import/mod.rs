//! Importing conversations from other systems and from Confab's own exports.
//!
//! - [`file`] reads an upload: JSON or zip, detected from its content, bounded in size
//!   (`MAX_IMPORT_BYTES`, both the upload and what it expands to) and in nesting, and tells
//!   which format it holds. Anything wrong is refused before a job starts, saying where.
//! - [`chatgpt`] turns one conversation of ChatGPT's data export (`conversations.json`) into a
//!   chat: every branch of its `mapping` tree, `current_node` as the branch on screen.
//! - [`confab`] reads Confab's `confab.chat` format back: the same tree, parameters, stats,
//!   structured verdicts and votes.
//! - [`job`] runs an import in the background: each conversation whole or not at all (one
//!   transaction), a conversation imported before skipped (its source id, under a unique
//!   index), progress in the `imports` collection and on the owner's sockets.
//!
//! Nothing here knows HTTP: the route hands over the bytes and answers with the job.

pub mod chatgpt;
pub mod confab;
pub mod file;
pub mod job;
mod tree;

use mongodb::bson::{DateTime, oid::ObjectId};

use crate::store::{ChatDoc, MessageDoc, VoteDoc};

/// The most messages one conversation may have.
pub const MAX_MESSAGES: usize = 10_000;
/// The longest text one message may have, in bytes.
pub const MAX_TEXT_BYTES: usize = 1_000_000;
/// Titles are cut to this many characters, as the chat routes allow.
pub const MAX_TITLE_CHARS: usize = 200;

/// One conversation, ready to store.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub chat: ChatDoc,
    /// Parents before children.
    pub messages: Vec<MessageDoc>,
    pub votes: Vec<VoteDoc>,
    /// Messages left out (tool calls and results, content types Confab does not show).
    pub skipped_messages: u64,
    /// Non-text parts left out of messages that were kept.
    pub skipped_parts: u64,
    /// The source's folder id (Confab exports), resolved by the job.
    pub folder: Option<String>,
}

/// Why a conversation cannot be imported: where in it, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Relative to the conversation (`mapping.abc.parent`); empty for the whole of it.
    pub path: String,
    pub message: String,
}

impl Problem {
    pub fn at(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// A title as the chat routes keep it: trimmed, at most [`MAX_TITLE_CHARS`], none if blank.
pub fn clean_title(title: Option<&str>) -> Option<String> {
    let title = title?.trim();
    (!title.is_empty()).then(|| title.chars().take(MAX_TITLE_CHARS).collect())
}

/// Seconds since the epoch (ChatGPT's times), if they make a date.
pub fn from_seconds(seconds: f64) -> Option<DateTime> {
    let millis = (seconds * 1000.0).round();
    (millis.is_finite() && (0.0..253_402_300_799_999.0).contains(&millis))
        .then(|| DateTime::from_millis(millis as i64))
}

/// A new message of `chat` with the defaults of an imported one (complete, no stats).
pub fn message(
    chat: &ChatDoc,
    parent_id: Option<ObjectId>,
    role: crate::domain::Role,
    content: String,
    at: DateTime,
) -> MessageDoc {
    let mut message = MessageDoc::user(chat.id, chat.user_id, parent_id, content, None);
    message.role = role;
    message.created_at = at;
    message.updated_at = at;
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_and_times_are_kept_within_bounds() {
        assert_eq!(clean_title(Some("  Trip  ")), Some("Trip".to_owned()));
        assert_eq!(clean_title(Some("   ")), None);
        assert_eq!(clean_title(None), None);
        assert_eq!(
            clean_title(Some(&"é".repeat(300))).map(|t| t.chars().count()),
            Some(200)
        );
        assert_eq!(
            from_seconds(1_700_000_000.25).map(|d| d.timestamp_millis()),
            Some(1_700_000_000_250)
        );
        assert_eq!(from_seconds(f64::NAN), None);
        assert_eq!(from_seconds(-5.0), None);
        assert_eq!(from_seconds(1e300), None);
    }
}
