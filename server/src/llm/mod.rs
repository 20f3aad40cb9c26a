//! The upstream LLM servers: which models exist, how to talk to each, and streaming answers.
//!
//! Every upstream speaks the OpenAI chat-completions protocol (OpenAI itself, vLLM,
//! llama.cpp, Ollama, TGI, or anything with an explicit parameter name map):
//!
//! - [`LlmSettings`] reads the environment (`OPENAI_API_BASE_URL`, `MODELS_FILE`, timeouts…);
//! - [`Catalog`] holds the models, the defaults and the limits, and validates and resolves a
//!   request's [`SamplingParams`](crate::domain::SamplingParams) (the one entry point);
//! - [`UpstreamKind`] decides which parameters are sent, and under which names;
//! - [`stream_chat`] sends a request (retried while no answer has started) and yields
//!   [`UpstreamEvent`]s under the first-token, idle and total timeouts.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use confab::{domain::{Role, SamplingParams, Turn}, llm::*};
//! use futures::StreamExt;
//!
//! let settings = LlmSettings::from_lookup(&|name| std::env::var(name).ok())?;
//! let catalog = Catalog::from_settings(&settings)?;
//! let requested = SamplingParams::from_json(serde_json::json!({ "temperature": 0.2 }))?;
//! let resolved = catalog.resolve(&requested, "parameters").map_err(|e| anyhow::anyhow!("{e:?}"))?;
//! let turns = vec![Turn::new(Role::User, "Hello!")];
//! let mut events = stream_chat(&catalog, &resolved, turns).await?;
//! while let Some(event) = events.next().await {
//!     match event? {
//!         UpstreamEvent::Delta(text) => print!("{text}"),
//!         UpstreamEvent::Usage { .. } => {}
//!         UpstreamEvent::Finish(reason) => println!(" [{reason}]"),
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! API keys live in `SecretString`s and in request headers marked sensitive; no type here
//! prints them in `Debug`.

mod catalog;
mod discovery;
mod endpoint;
mod error;
mod kind;
mod models_file;
mod request;
mod residency;
mod resolve;
mod retry;
mod settings;
mod stream;

#[cfg(test)]
mod retry_tests;
#[cfg(test)]
mod stream_tests;
#[cfg(test)]
mod test_upstream;

pub use catalog::{Catalog, ModelInfo, Source, StreamTimeouts};
pub use discovery::Patterns;
pub use error::UpstreamError;
pub use kind::{NameMap, UpstreamKind};
pub use request::build_body;
pub use residency::{ModelResidency, ModelState, Prepared, Residency, ResidencyError};
pub use resolve::Resolved;
pub use settings::LlmSettings;
pub use stream::{UpstreamEvent, UpstreamStream, stream_chat, stream_chat_within};
