//! HTTP plumbing shared by every route: extractors and middleware.

mod client_ip;
mod extract;
pub mod layers;
mod origin;
pub mod serve;
mod settings;
mod validated_json;

pub use client_ip::ClientIp;
pub use extract::{Path, Query, Received};
pub use origin::origin_allowed;
pub use settings::{BUILT_CLIENT_DIR, HttpSettings};
pub use validated_json::ValidatedJson;
