//! The generations in progress, by answer id and by idempotency key.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use mongodb::bson::oid::ObjectId;

use super::Generation;

#[derive(Debug, Default)]
pub struct Generations {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    by_message: HashMap<ObjectId, Arc<Generation>>,
    by_request: HashMap<(ObjectId, String), ObjectId>,
}

impl Generations {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers a generation; `Err(existing)` if one with the same idempotency key runs already
    /// (the check and the insert are one step, so two identical submissions start one).
    pub(super) fn insert(
        &self,
        generation: Arc<Generation>,
        request_id: Option<String>,
    ) -> Result<(), Arc<Generation>> {
        let mut inner = self.lock();
        if let Some(request_id) = request_id {
            let key = (generation.chat_id, request_id);
            if let Some(existing) = inner
                .by_request
                .get(&key)
                .and_then(|id| inner.by_message.get(id))
            {
                return Err(Arc::clone(existing));
            }
            inner.by_request.insert(key, generation.message_id());
        }
        inner.by_message.insert(generation.message_id(), generation);
        Ok(())
    }

    pub(super) fn remove(&self, message_id: ObjectId) {
        let mut inner = self.lock();
        inner.by_message.remove(&message_id);
        inner.by_request.retain(|_, id| *id != message_id);
    }

    pub fn get(&self, message_id: ObjectId) -> Option<Arc<Generation>> {
        self.lock().by_message.get(&message_id).cloned()
    }

    pub fn by_request(&self, chat_id: ObjectId, request_id: &str) -> Option<Arc<Generation>> {
        let inner = self.lock();
        let id = inner.by_request.get(&(chat_id, request_id.to_owned()))?;
        inner.by_message.get(id).cloned()
    }

    /// Stops every generation of a chat (it is being deleted).
    pub fn stop_chat(&self, chat_id: ObjectId) -> usize {
        let inner = self.lock();
        let mut stopped = 0;
        for generation in inner.by_message.values().filter(|g| g.chat_id == chat_id) {
            generation.stop();
            stopped += 1;
        }
        stopped
    }

    /// Stops every generation (the server is shutting down); each saves its text as `stopped`.
    pub fn stop_all(&self) -> usize {
        let inner = self.lock();
        inner.by_message.values().for_each(|g| g.stop());
        inner.by_message.len()
    }

    pub fn len(&self) -> usize {
        self.lock().by_message.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
