//! Authentication: password hashing, access tokens (JWT), refresh tokens (opaque, rotated),
//! the `CurrentUser` extractor and the login throttle.

pub mod api_key;
pub mod cookie;
mod current_user;
pub mod jwt;
pub mod password;
pub mod refresh_token;
pub mod session_cache;
mod settings;
pub mod standing_cache;
pub mod throttle;

pub use current_user::{Admin, CurrentUser, bearer_token};
pub use settings::{AuthSettings, Registration};
