//! What clients see: every response body and event payload, built field by field from the
//! stored documents and the catalog (a stored document is never serialised to a client, so a
//! password hash or an idempotency key cannot leak by accident). Routes, generations and live
//! events all speak these types; nothing here knows HTTP.

pub mod account;
mod api_key;
mod chat;
mod feedback;
mod folder;
mod import;
mod message;
mod models;
mod preset;
mod share;
mod stream;
mod user;
mod vote;

pub use api_key::{ApiKeyView, CreatedApiKey};
pub use chat::ChatView;
pub use feedback::FeedbackRecord;
pub use folder::FolderView;
pub use import::ImportView;
pub use message::MessageView;
pub use models::{
    AdminModelView, LimitsView, ModelSource, ModelView, ModelsView, ParamType, ParamView,
    ParametersView,
};
pub use preset::PresetView;
pub use share::{ShareView, SharedChatView, SharedMessageView};
pub use stream::{LoadingModel, StreamError, StreamEvent, TextDelta};
pub use user::UserView;
pub use vote::VoteView;
