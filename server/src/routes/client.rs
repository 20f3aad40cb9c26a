//! The web client: files from the client folder (`CLIENT_DIR`, else the client that `cargo build`
//! built, see `Settings`) when it has been built, with `index.html` for every other path (deep
//! links such as `/c/{id}`); otherwise a placeholder page.

use std::path::Path;

use axum::{Router, response::Html, routing::get};
use tower_http::services::{ServeDir, ServeFile};

use crate::state::AppState;

const PLACEHOLDER: &str = include_str!("placeholder.html");

pub fn routes(client_dir: &Path) -> Router<AppState> {
    let index = client_dir.join("index.html");
    if index.is_file() {
        tracing::info!(dir = %client_dir.display(), "serving the web client");
        Router::new().fallback_service(
            ServeDir::new(client_dir)
                .append_index_html_on_directories(true)
                .fallback(ServeFile::new(index)),
        )
    } else {
        tracing::info!(
            dir = %client_dir.display(),
            "no built web client found; serving a placeholder page"
        );
        Router::new()
            .route("/", get(placeholder))
            .fallback(placeholder)
    }
}

/// `GET /api/docs`: the interactive API reference over `/api/openapi.json` (the client build's
/// `docs.html`, Swagger UI bundled from npm); 404 when no client was built.
pub async fn api_reference(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> Result<Html<String>, crate::error::ApiError> {
    let page = state.settings.http.client_dir.join("docs.html");
    tokio::fs::read_to_string(page)
        .await
        .map(Html)
        .map_err(|_| crate::error::ApiError::NotFound("API reference"))
}

async fn placeholder() -> Html<&'static str> {
    Html(PLACEHOLDER)
}
