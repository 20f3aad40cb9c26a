//! `GET /api/openapi.json`: the OpenAPI document, generated from the handlers' annotations.

use std::sync::Arc;

use axum::{Router, http::header, routing::get};
use utoipa::{
    Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};

use crate::{error::ErrorBody, state::AppState};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Confab API",
        description = "Self-hosted, multi-user chat for large language models. Every error \
                       response has the shape `{\"error\": {\"code\", \"message\", \"fields\"?}}`."
    ),
    components(schemas(ErrorBody)),
    modifiers(&BearerAuth),
    tags(
        (name = "health", description = "Liveness and readiness"),
        (name = "auth", description = "Accounts and sessions"),
        (name = "users", description = "User profiles"),
        (name = "models", description = "Upstream models and their parameters"),
        (name = "chats", description = "Chats"),
        (name = "live", description = "Live events over WebSocket"),
        (name = "messages", description = "Message trees and streamed answers"),
        (name = "votes", description = "Votes on answers"),
        (name = "feedback", description = "Export of voted answers"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

pub fn routes(doc: utoipa::openapi::OpenApi) -> Router<AppState> {
    let json: Arc<str> = doc
        .to_json()
        .unwrap_or_else(|err| format!(r#"{{"error":"could not render the document: {err}"}}"#))
        .into();
    Router::new().route(
        "/api/openapi.json",
        get(move || {
            let json = Arc::clone(&json);
            async move {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    json.to_string(),
                )
            }
        }),
    )
}
