//! Generations belong to the server, not to an HTTP connection: each runs in its own task,
//! saves its text as it grows, and can be watched by any number of SSE streams (and stopped).

pub mod direct;
pub mod fair_use;
pub mod known;
pub mod lease;
mod plan;
mod registry;
mod runner;
mod start;
pub mod tail;
mod title;

use std::sync::Mutex;

use mongodb::bson::oid::ObjectId;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

pub use fair_use::{OverLimit, Window};
pub use plan::{Plan, PlanError, Request, plan};
pub use registry::{FairUse, Generations};
pub use start::{StartError, Started, start};

use crate::store::MessageDoc;

/// One answer being generated.
#[derive(Debug)]
pub struct Generation {
    pub chat_id: ObjectId,
    pub user_id: ObjectId,
    /// The user message created with this generation (none for regenerate).
    pub user_message: Option<MessageDoc>,
    /// The answer as it was when generation started (empty, `streaming`; continued: its text
    /// so far, which the generation's text starts with).
    pub placeholder: MessageDoc,
    /// Continued: the answer as it was before (its stats stay; its usage adds up).
    pub continued: Option<Box<MessageDoc>>,
    /// When the request that started it arrived (for the time-to-first-token metrics).
    received: std::time::Instant,
    state: Mutex<State>,
    version: watch::Sender<u64>,
    cancel: CancellationToken,
    /// `Some(true)` once the answer's document exists, `Some(false)` if saving it failed.
    saved: watch::Sender<Option<bool>>,
    /// The update of the chat's branch on screen, awaited before the answer is reported done
    /// (so a next message sent at once continues this branch).
    chat_update: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

#[derive(Debug, Default)]
struct State {
    content: String,
    /// The model being loaded into its server's memory before the answer starts.
    loading: Option<String>,
    /// The final message once the generation has ended, whatever the outcome.
    finished: Option<MessageDoc>,
    /// The generation ended but its final state is not stored yet (MongoDB is unreachable; the
    /// runner keeps retrying).
    unsaved: bool,
}

/// How an answer ended, as its streams report it.
#[derive(Debug, Clone)]
pub struct Ending {
    pub message: MessageDoc,
    /// False while the final state could not be written to MongoDB.
    pub stored: bool,
}

impl Generation {
    fn new(placeholder: MessageDoc, user_message: Option<MessageDoc>) -> Self {
        let state = State {
            content: placeholder.content.clone(),
            ..State::default()
        };
        Self {
            chat_id: placeholder.chat_id,
            user_id: placeholder.user_id,
            user_message,
            placeholder,
            continued: None,
            received: std::time::Instant::now(),
            state: Mutex::new(state),
            version: watch::Sender::new(0),
            cancel: CancellationToken::new(),
            saved: watch::Sender::new(None),
            chat_update: Mutex::new(None),
        }
    }

    /// The same, continuing the answer that was `before`.
    fn continuing(mut self, before: Option<Box<MessageDoc>>) -> Self {
        self.continued = before;
        self
    }

    /// The same, with the time its request arrived.
    fn received_at(mut self, received: std::time::Instant) -> Self {
        self.received = received;
        self
    }

    pub fn message_id(&self) -> ObjectId {
        self.placeholder.id
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The text after byte `from`, and its new end.
    pub fn tail(&self, from: usize) -> (String, usize) {
        let state = self.lock();
        let from = from.min(state.content.len());
        (state.content[from..].to_owned(), state.content.len())
    }

    /// How the answer ended, once it has.
    pub fn ending(&self) -> Option<Ending> {
        let state = self.lock();
        state.finished.as_ref().map(|message| Ending {
            message: message.clone(),
            stored: !state.unsaved,
        })
    }

    /// A generation that ended (whether or not it is stored yet) no longer counts as running.
    pub fn is_running(&self) -> bool {
        self.lock().finished.is_none()
    }

    fn append(&self, delta: &str) {
        {
            let mut state = self.lock();
            state.content.push_str(delta);
            state.loading = None;
        }
        self.version.send_modify(|v| *v += 1);
    }

    /// Its model is being loaded first (told to its streams until text comes).
    fn set_loading(&self, model: &str) {
        self.lock().loading = Some(model.to_owned());
        self.version.send_modify(|v| *v += 1);
    }

    /// The model being loaded, while no text has come.
    pub fn loading(&self) -> Option<String> {
        self.lock().loading.clone()
    }

    fn content(&self) -> String {
        self.lock().content.clone()
    }

    /// The generation ended with `message`; `stored` says whether MongoDB has it.
    fn finish(&self, message: MessageDoc, stored: bool) {
        {
            let mut state = self.lock();
            state.finished = Some(message);
            state.unsaved = !stored;
        }
        self.version.send_modify(|v| *v += 1);
    }

    fn mark_saved(&self) {
        self.saved.send_replace(Some(true));
    }

    /// The messages could not be saved: the generation stops without writing anything.
    fn abandon(&self) {
        self.saved.send_replace(Some(false));
        self.cancel.cancel();
    }

    fn set_chat_update(&self, task: tokio::task::JoinHandle<()>) {
        *self
            .chat_update
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(task);
    }

    /// Waits for the chat's branch update (if any) to be written.
    async fn chat_updated(&self) {
        let task = self
            .chat_update
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }

    fn is_saved(&self) -> bool {
        *self.saved.borrow() == Some(true)
    }

    /// Waits until the answer's document exists; `false` if it never will.
    async fn wait_saved(&self) -> bool {
        let mut saved = self.saved.subscribe();
        match saved.wait_for(Option::is_some).await {
            Ok(value) => value.unwrap_or(false),
            Err(_) => false,
        }
    }

    /// Asks the generation to stop; it saves its partial text as `stopped`.
    pub fn stop(&self) {
        self.cancel.cancel();
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }
}
