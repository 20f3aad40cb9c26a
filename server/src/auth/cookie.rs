//! The refresh-token cookie: `HttpOnly; SameSite=Strict; Path=/api/auth` (`Secure` behind HTTPS).

use std::time::Duration;

use axum_extra::extract::cookie::{Cookie, SameSite};

pub const NAME: &str = "confab_refresh";
pub const PATH: &str = "/api/auth";

pub fn issue(value: String, ttl: Duration, secure: bool) -> Cookie<'static> {
    let max_age = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
    Cookie::build((NAME, value))
        .http_only(true)
        .same_site(SameSite::Strict)
        .path(PATH)
        .secure(secure)
        .max_age(time::Duration::seconds(max_age))
        .build()
}

pub fn removal(secure: bool) -> Cookie<'static> {
    Cookie::build((NAME, ""))
        .http_only(true)
        .same_site(SameSite::Strict)
        .path(PATH)
        .secure(secure)
        .max_age(time::Duration::ZERO)
        .build()
}
