//! `GET /api/openapi.json`: the OpenAPI document, generated from the handlers' annotations,
//! then completed where annotations cannot say it all:
//! - the error answers every operation can give, from the extractors it uses (a bearer token:
//!   401; a JSON body: 400/413/415/422; a path id: 400/404; MongoDB: 503), and those of every
//!   operation that streams an answer (fair use: 429; no model configured: 503);
//! - each server-sent event of the answer streams, with the JSON inside its `data`;
//! - this server's models (an `enum`), its `max_tokens` limit and its longest message.
//!
//! The document is checked by schemathesis in `./scripts/test` (no 5xx, no undocumented
//! status, no response outside its schema).

use std::sync::Arc;

use axum::{Router, http::header, routing::get};
use serde_json::{Map, Value, json};
use utoipa::{
    Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};

use crate::{
    error::ErrorBody,
    events::LiveEvent,
    llm::Catalog,
    state::AppState,
    views::{LoadingModel, StreamError, TextDelta},
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Confab API",
        description = "Self-hosted, multi-user chat for large language models.\n\n\
            **Errors.** Every error response has the shape \
            `{\"error\": {\"code\", \"message\", \"fields\"?}}`.\n\n\
            **Answer streams.** Sending, editing, regenerating and continuing answer with \
            `text/event-stream`: the events and the JSON in their `data` are the `StreamEvent` \
            schema (`user_message`, `assistant_message`, `loading`, `delta`, `done`, `error`); \
            each text-bearing event's `id` is the answer's length so far, to resume from with \
            `Last-Event-ID` on `GET …/messages/{message_id}/stream`.\n\n\
            **Live events.** `GET /api/ws` (with a ticket from `POST /api/ws/ticket`) sends \
            every change to the user's data, on every device: the `LiveEvent` schema.\n\n\
            **OpenAI-compatible API.** `GET /v1/models` and `POST /v1/chat/completions` take \
            a personal API key (`Authorization: Bearer cfk_…`, made with \
            `POST /api/users/me/api-keys`) and speak OpenAI's request, response and error \
            shapes; `\"confab\": {\"save\": true}` (or `X-Confab-Save: true`) keeps the \
            exchange as a chat."
    ),
    components(schemas(ErrorBody, TextDelta, LoadingModel, StreamError, LiveEvent)),
    modifiers(&BearerAuth),
    tags(
        (name = "health", description = "Liveness and readiness"),
        (name = "auth", description = "Accounts and sessions"),
        (name = "users", description = "User profiles"),
        (name = "api-keys", description = "Personal API keys for the OpenAI-compatible /v1 routes"),
        (name = "models", description = "Upstream models and their parameters"),
        (name = "chats", description = "Chats"),
        (name = "presets", description = "Named parameter sets, private and shared"),
        (name = "folders", description = "Folders of chats"),
        (name = "shares", description = "Read-only share links of a chat's branch"),
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

pub fn routes(doc: utoipa::openapi::OpenApi, catalog: &Catalog) -> Router<AppState> {
    let json: Arc<str> = document(&doc, catalog)
        .map(|doc| doc.to_string())
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

/// The served document: the generated one, completed (see the module's comment).
pub fn document(doc: &utoipa::openapi::OpenApi, catalog: &Catalog) -> serde_json::Result<Value> {
    let mut doc = serde_json::to_value(doc)?;
    add_error_answers(&mut doc);
    describe_streams(&mut doc);
    describe_catalog(&mut doc, catalog);
    Ok(doc)
}

fn error_answer(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": {
            "schema": { "$ref": "#/components/schemas/ErrorBody" }
        } }
    })
}

/// Adds the statuses an operation's extractors can answer with, unless documented already.
fn add_error_answers(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for operation in item.values_mut().filter_map(Value::as_object_mut) {
            let mut add: Vec<(&str, &str)> = Vec::new();
            let bearer = operation
                .get("security")
                .is_some_and(|s| s.to_string().contains("\"bearer\""));
            if bearer {
                add.push(("401", "Missing, invalid or expired access token"));
            }
            if operation.contains_key("requestBody") {
                add.extend([
                    ("400", "The body is not valid JSON"),
                    ("413", "The body is larger than MAX_BODY_BYTES"),
                    ("415", "The body is not application/json"),
                    ("422", "Invalid fields, each named in `fields`"),
                ]);
            }
            if path.contains('{') {
                add.extend([
                    ("400", "A path segment is not valid"),
                    ("404", "Not found, or not the caller's"),
                ]);
            }
            let has_query = operation
                .get("parameters")
                .and_then(Value::as_array)
                .is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"));
            if has_query {
                add.push((
                    "422",
                    "An invalid or repeated query parameter, named in `fields`",
                ));
            }
            let streams_an_answer = operation
                .get("responses")
                .and_then(|r| r.pointer("/200/content/text~1event-stream"))
                .is_some();
            if streams_an_answer {
                add.extend([
                    (
                        "429",
                        "Fair use: too many answers at once (`too_many_generations`) or per \
                         minute (`rate_limited`); see Retry-After",
                    ),
                    (
                        "503",
                        "No model is configured (`no_upstream`), or MongoDB is unreachable",
                    ),
                ]);
            }
            if path != "/api/health" {
                add.push(("503", "MongoDB is unreachable; see Retry-After"));
            }
            let responses = operation
                .entry("responses")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Some(responses) = responses.as_object_mut() {
                for (status, description) in add {
                    responses
                        .entry(status)
                        .or_insert_with(|| error_answer(description));
                }
            }
        }
    }
}

/// The events of the answer streams, each with the schema of the JSON in its `data`.
fn describe_streams(doc: &mut Value) {
    let branch = |event: &str, data: &str| {
        json!({
            "type": "object",
            "required": ["event", "data"],
            "properties": {
                "event": { "const": event },
                "data": {
                    "type": "string",
                    "contentMediaType": "application/json",
                    "contentSchema": { "$ref": format!("#/components/schemas/{data}") }
                },
                "id": { "type": "string" },
                "retry": { "type": "integer" }
            }
        })
    };
    let event = json!({
        "description": "One server-sent event of an answer stream: `user_message` (not for \
            regenerate), `assistant_message` (the answer, `streaming`), `loading` (only when \
            the model must first be loaded into its server's memory), `delta`s, then `done` \
            (the saved answer) or `error`.",
        "oneOf": [
            branch("user_message", "MessageView"),
            branch("assistant_message", "MessageView"),
            branch("loading", "LoadingModel"),
            branch("delta", "TextDelta"),
            branch("done", "MessageView"),
            branch("error", "StreamError"),
        ]
    });
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        schemas.insert("StreamEvent".to_owned(), event);
    }
}

/// Only this server's models are valid (when it discovers none), up to its `max_tokens` limit and longest message.
fn describe_catalog(doc: &mut Value, catalog: &Catalog) {
    if catalog.is_empty() {
        return;
    }
    let models: Vec<Value> = catalog
        .models()
        .iter()
        .map(|m| Value::from(m.id.as_str()))
        .chain([Value::Null])
        .collect();
    // With several models the smallest limit keeps every documented value valid for all.
    let max_tokens = catalog.models().iter().map(|m| m.max_tokens).min();
    if let Some(model) = doc.pointer_mut("/components/schemas/SamplingParams/properties/model") {
        // Discovered models come and go: the document, written once, names none then.
        if !catalog.discovers() {
            model["enum"] = Value::Array(models);
        }
        if let Some(default) = catalog.default_model() {
            model["example"] = Value::from(default);
        }
    }
    if let (Some(limit), Some(field)) = (
        max_tokens,
        doc.pointer_mut("/components/schemas/SamplingParams/properties/max_tokens"),
    ) {
        field["maximum"] = Value::from(limit);
    }
    for body in ["SendMessage", "EditMessage"] {
        if let Some(content) =
            doc.pointer_mut(&format!("/components/schemas/{body}/properties/content"))
        {
            content["maxLength"] = Value::from(catalog.max_message_length());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{config::Settings, routes};

    fn served(vars: &[(&str, &str)]) -> Value {
        let settings = Settings::from_lookup(|k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        })
        .expect("settings");
        let catalog = Catalog::from_settings(&settings.llm).expect("catalog");
        document(&routes::api_doc(), &catalog).expect("renders")
    }

    #[test]
    fn every_operation_documents_the_errors_its_extractors_give() {
        let doc = served(&[]);
        let send = &doc["paths"]["/api/chats/{id}/messages"]["post"]["responses"];
        for status in ["400", "401", "404", "413", "415", "422", "429", "503"] {
            assert!(send[status].is_object(), "send lacks {status}");
        }
        let health = &doc["paths"]["/api/health"]["get"]["responses"];
        assert!(health["503"].is_null() && health["401"].is_null());
        let list = &doc["paths"]["/api/chats"]["get"];
        assert!(list["responses"]["422"].is_object());
        let places: Vec<&Value> = list["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .map(|p| &p["in"])
            .collect();
        assert!(places.iter().all(|p| *p == "query"), "{places:?}");
    }

    #[test]
    fn message_status_and_health_status_are_different_schemas() {
        let doc = served(&[]);
        let schemas = &doc["components"]["schemas"];
        let status = &schemas["MessageStatus"];
        assert!(status.to_string().contains("complete"), "{status}");
        assert!(schemas["HealthStatus"]["properties"]["status"].is_object());
        assert!(schemas.get("Status").is_none());
    }

    #[test]
    fn streams_document_each_event_and_the_catalog_bounds_the_parameters() {
        let doc = served(&[
            ("OPENAI_API_BASE_URL", "http://127.0.0.1:9/v1"),
            ("AVAILABLE_MODELS", "small,large"),
            ("MODEL_MAX_TOKENS", "2048"),
            ("MAX_MESSAGE_LENGTH", "1000"),
        ]);
        let stream = &doc["paths"]["/api/chats/{id}/messages"]["post"]["responses"]["200"]["content"]
            ["text/event-stream"]["schema"];
        assert_eq!(stream["$ref"], "#/components/schemas/StreamEvent");
        let events = doc["components"]["schemas"]["StreamEvent"]["oneOf"]
            .as_array()
            .expect("branches");
        let names: Vec<&Value> = events
            .iter()
            .map(|e| &e["properties"]["event"]["const"])
            .collect();
        assert_eq!(
            names,
            [
                "user_message",
                "assistant_message",
                "loading",
                "delta",
                "done",
                "error"
            ]
        );
        assert_eq!(
            events[2]["properties"]["data"]["contentSchema"]["$ref"],
            "#/components/schemas/LoadingModel"
        );
        assert!(doc["components"]["schemas"]["LoadingModel"].is_object());
        // The main request bodies carry examples.
        for body in [
            "SendMessage",
            "CreateChat",
            "RegisterRequest",
            "CreatePreset",
            "CreateApiKey",
        ] {
            assert!(
                doc["components"]["schemas"][body]["example"].is_object(),
                "{body} has an example"
            );
        }
        let params = &doc["components"]["schemas"]["SamplingParams"]["properties"];
        assert_eq!(params["model"]["enum"], json!(["small", "large", null]));
        assert_eq!(params["model"]["example"], "small");
        assert_eq!(params["max_tokens"]["maximum"], 2048);
        assert_eq!(
            doc["components"]["schemas"]["SendMessage"]["properties"]["content"]["maxLength"],
            1000
        );
    }
}
