//! Confab server: an axum API over MongoDB that also serves the web client.
//!
//! Layout mirrors the architecture: `routes` (HTTP only) → `domain` (types that parse) →
//! `store` (MongoDB documents, indexes, queries), plus `auth`, `http` (extractors and
//! middleware), `config`, `error`, `telemetry` and `startup`.

pub mod auth;
pub mod chat_log;
pub mod cli;
pub mod config;
pub mod domain;
pub mod env;
pub mod error;
pub mod events;
pub mod follow;
pub mod generation;
pub mod http;
pub mod import;
pub mod live;
pub mod llm;
pub mod metrics;
pub mod routes;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod views;

pub use config::Settings;
pub use startup::Application;
