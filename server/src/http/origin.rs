//! Which origins may make browser requests that act on the caller's cookies or open sockets.

use axum::http::{HeaderMap, header};

use crate::config::Settings;

/// The origin (`scheme://host[:port]`) of a URL.
fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    url[after_scheme..]
        .find('/')
        .map_or(url, |end| &url[..after_scheme + end])
}

/// Whether a browser request's `Origin` is Confab's own (`PUBLIC_URL`, or the host it was
/// addressed to) or one of `CORS_ALLOWED_ORIGINS`. No `Origin` (not a browser page) passes.
pub fn origin_allowed(settings: &Settings, headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        // Not a browser page (browsers send Origin on WebSocket requests and on POSTs).
        return true;
    };
    let own = origin_of(&settings.public_url);
    let host_origin = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(|host| (format!("http://{host}"), format!("https://{host}")));
    origin.eq_ignore_ascii_case(own)
        || host_origin.is_some_and(|(http, https)| origin == http || origin == https)
        || settings
            .http
            .cors_allowed_origins
            .iter()
            .any(|allowed| allowed.eq_ignore_ascii_case(origin))
}

#[cfg(test)]
mod tests {
    use super::origin_of;

    #[test]
    fn origins_are_scheme_host_and_port() {
        assert_eq!(origin_of("http://localhost:8080"), "http://localhost:8080");
        assert_eq!(
            origin_of("https://chat.example.org/app/"),
            "https://chat.example.org"
        );
    }
}
