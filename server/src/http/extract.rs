//! `Path` and `Query` whose rejections are `ApiError`s, so a bad path or query string gets the
//! JSON error shape like every other refusal (axum's own answer with plain text).

use axum::extract::{
    FromRequestParts,
    rejection::{PathRejection, QueryRejection},
};

use crate::error::ApiError;

/// Path parameters; a segment that is not valid UTF-8 (`/api/chats/%FF`) is a 400.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

/// Query parameters; a malformed or repeated one is a 422 naming it.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        match rejection {
            PathRejection::FailedToDeserializePathParams(_) => {
                ApiError::BadRequest("a path segment is not valid")
            }
            other => ApiError::internal(anyhow::anyhow!("path extraction: {other}")),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        // "Failed to deserialize query string: duplicate field `ticket`" or "…: limit: invalid
        // digit found in string": name the field.
        let text = rejection.body_text();
        let detail = text
            .split_once(": ")
            .map_or(text.as_str(), |(_, detail)| detail);
        let (field, problem) = match detail.split('`').nth(1) {
            Some(quoted) => (quoted, detail),
            None => detail
                .split_once(": ")
                .filter(|(name, _)| name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(("query", detail)),
        };
        ApiError::field(field, problem.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use axum::{Router, body::Body, http::Request, routing::get};
    use serde::Deserialize;
    use tower::ServiceExt as _;

    use super::*;

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Ticket {
        ticket: Option<String>,
    }

    async fn answer(uri: &str) -> (u16, serde_json::Value) {
        let router: Router = Router::new()
            .route(
                "/chats/{id}",
                get(|Path(id): Path<String>| async move { id }),
            )
            .route("/ws", get(|Query(_): Query<Ticket>| async { "ok" }));
        let response = router
            .oneshot(
                Request::builder()
                    .uri(uri)
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
            .expect("infallible");
        let status = response.status().as_u16();
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .expect("body");
        (status, serde_json::from_slice(&body).unwrap_or_default())
    }

    #[tokio::test]
    async fn bad_paths_and_queries_answer_in_the_json_error_shape() {
        let (status, body) = answer("/chats/%FF").await;
        assert_eq!(status, 400);
        assert_eq!(body["error"]["code"], "bad_request");
        let (status, body) = answer("/ws?ticket=a&ticket=b").await;
        assert_eq!(status, 422);
        assert_eq!(body["error"]["code"], "validation_failed");
        assert!(body["error"]["fields"]["ticket"].is_string(), "{body}");
    }
}

/// When the request arrived (noted by the outermost metrics layer; now, if it is missing): the
/// start of the time to first token.
#[derive(Debug, Clone, Copy)]
pub struct Received(pub std::time::Instant);

impl<S: Send + Sync> FromRequestParts<S> for Received {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Received>()
            .copied()
            .unwrap_or_else(|| Received(std::time::Instant::now())))
    }
}
