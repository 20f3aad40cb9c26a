//! Chats as this process wrote them (a new chat, until it changes), so that the upstream
//! request of its first answer can start before the chat is read again. Never trusted: the answer starts from what is known
//! while the chat is read afresh alongside (`start.rs`), and nothing is shown unless the fresh
//! read says the same. A stale entry costs a cancelled upstream request and a withdrawn insert,
//! never a wrong answer; losing an entry costs nothing but the head start.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use mongodb::bson::{self, oid::ObjectId};

use crate::store::batched::Loaded;

/// Chats kept; past it, all are forgotten (they are read again on their next answer).
const MAX_CHATS: usize = 5_000;
/// A chat with more messages, or more text, is not kept (its copy would cost more than the
/// read it saves).
const MAX_MESSAGES: usize = 200;
const MAX_TEXT_BYTES: usize = 256 << 10;

#[derive(Debug, Default)]
pub struct KnownChats {
    chats: Mutex<HashMap<ObjectId, Arc<Loaded>>>,
}

impl KnownChats {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ObjectId, Arc<Loaded>>> {
        self.chats
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The chat `chat_id` of `user_id` as last known here.
    pub fn get(&self, user_id: ObjectId, chat_id: ObjectId) -> Option<Arc<Loaded>> {
        self.lock()
            .get(&chat_id)
            .filter(|known| known.0.user_id == user_id)
            .cloned()
    }

    /// Remembers a chat as just written (unless it is too big to be worth it).
    pub fn remember(&self, loaded: Arc<Loaded>) {
        let text: usize = loaded.1.iter().map(|m| m.content.len()).sum();
        if loaded.1.len() > MAX_MESSAGES || text > MAX_TEXT_BYTES {
            self.forget(loaded.0.id);
            return;
        }
        let mut chats = self.lock();
        if chats.len() >= MAX_CHATS {
            chats.clear();
        }
        chats.insert(loaded.0.id, loaded);
    }

    /// The chat is changing here: what is known of it is about to be out of date.
    pub fn forget(&self, chat_id: ObjectId) {
        self.lock().remove(&chat_id);
    }
}

/// Whether `fresh` found the chat and the messages `known` holds, leaving out the messages
/// `ours` (written since by the caller); compared as stored.
pub fn same_but(fresh: &Loaded, known: &Loaded, ours: &[ObjectId]) -> bool {
    fn stored<T: serde::Serialize>(value: &T) -> Option<Vec<u8>> {
        bson::to_vec(value).ok()
    }
    let same_chat = matches!((stored(&fresh.0), stored(&known.0)), (Some(x), Some(y)) if x == y);
    let mut theirs = fresh.1.iter().filter(|m| !ours.contains(&m.id));
    same_chat
        && known.1.iter().all(|k| {
            theirs.next().is_some_and(|f| {
                f.id == k.id && matches!((stored(f), stored(k)), (Some(x), Some(y)) if x == y)
            })
        })
        && theirs.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        domain::SamplingParams,
        store::{ChatDoc, MessageDoc},
    };

    fn chat() -> Loaded {
        (
            ChatDoc::new(ObjectId::new(), Some("t".into()), SamplingParams::default()),
            Vec::new(),
        )
    }

    #[test]
    fn a_chat_is_known_only_to_its_owner_and_until_forgotten() {
        let known = KnownChats::default();
        let loaded = Arc::new(chat());
        let (owner, id) = (loaded.0.user_id, loaded.0.id);
        known.remember(Arc::clone(&loaded));
        assert!(known.get(owner, id).is_some());
        assert!(known.get(ObjectId::new(), id).is_none(), "another user");
        known.forget(id);
        assert!(known.get(owner, id).is_none());
    }

    fn message(chat: &ChatDoc, content: &str) -> MessageDoc {
        MessageDoc::user(chat.id, chat.user_id, None, content.into(), None)
    }

    #[test]
    fn reads_are_the_same_only_when_every_stored_field_is() {
        let a = chat();
        let mut b = a.clone();
        assert!(same_but(&a, &b, &[]));
        b.0.title = Some("renamed".into());
        assert!(!same_but(&a, &b, &[]), "a field of the chat");
        let mut c = a.clone();
        c.0.current_message_id = Some(ObjectId::new());
        assert!(!same_but(&a, &c, &[]), "the branch on screen");
    }

    #[test]
    fn the_callers_own_messages_are_left_out_and_any_other_is_a_change() {
        let known = chat();
        let ours = message(&known.0, "mine");
        let mut fresh = known.clone();
        fresh.1.push(ours.clone());
        assert!(same_but(&fresh, &known, &[ours.id]), "only ours is new");
        assert!(
            !same_but(&fresh, &known, &[]),
            "a message nobody accounts for"
        );
        let mut theirs = fresh.clone();
        theirs.1.push(message(&known.0, "from another tab"));
        assert!(
            !same_but(&theirs, &known, &[ours.id]),
            "another new message"
        );
        let mut edited = known.clone();
        edited.1.push(message(&known.0, "before"));
        let mut now = edited.clone();
        now.1[0].content = "after".into();
        assert!(!same_but(&now, &edited, &[]), "a message's text");
        assert!(!same_but(&known, &edited, &[]), "a message gone");
    }
}
