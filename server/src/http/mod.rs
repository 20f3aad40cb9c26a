//! HTTP plumbing shared by every route: extractors and middleware.

mod client_ip;
pub mod layers;
pub mod serve;
mod validated_json;

pub use client_ip::ClientIp;
pub use validated_json::ValidatedJson;
