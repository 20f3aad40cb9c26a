//! HTTP routes, one module per resource. Handlers only translate HTTP to domain calls.

mod admin;
mod admin_models;
mod api_keys;
mod auth;
mod chats;
mod client;
mod export;
mod feedback;
mod folders;
mod fork;
mod health;
mod imports;
mod live;
mod messages;
mod models;
mod openapi;
mod presets;
mod shares;
mod stream;
mod users;
mod v1;
mod votes;

use axum::{Router, response::IntoResponse};
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;

use crate::{error::ApiError, state::AppState};

/// Every API route with its documentation.
fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(health::routes())
        .merge(auth::routes())
        .merge(users::routes())
        .merge(api_keys::routes())
        .merge(admin::routes())
        .merge(admin_models::routes())
        .merge(models::routes())
        .merge(live::routes())
        .merge(chats::routes())
        .merge(presets::routes())
        .merge(folders::routes())
        .merge(fork::routes())
        .merge(export::routes())
        .merge(export::account_routes())
        .merge(shares::routes())
        .merge(imports::routes())
        .merge(messages::routes())
        .merge(votes::routes())
        .merge(feedback::routes())
}

/// The generated OpenAPI document (before `openapi::document` completes it).
pub fn api_doc() -> utoipa::openapi::OpenApi {
    api_routes().split_for_parts().1
}

/// The whole application router: the API (with its OpenAPI document) and the web client.
pub fn router(state: AppState) -> Router {
    let (api, doc) = api_routes().split_for_parts();
    let api = api
        .merge(openapi::routes(doc, &state.catalog))
        .route("/api/docs", axum::routing::get(client::api_reference))
        .route("/api", axum::routing::any(api_not_found))
        .route("/api/{*rest}", axum::routing::any(api_not_found))
        // Metrics are served on METRICS_ADDR only; the public port (and the client's
        // fallback) never answers them.
        .route("/metrics", axum::routing::any(api_not_found))
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::map_response(
            crate::http::layers::json_errors,
        ));
    api.merge(v1::routes())
        .merge(client::routes(&state.settings.http.client_dir))
        .with_state(state)
}

async fn api_not_found() -> ApiError {
    ApiError::NotFound("route")
}

async fn method_not_allowed() -> impl IntoResponse {
    (
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        axum::Json(serde_json::json!({
            "error": { "code": "method_not_allowed", "message": "this method is not allowed on this route" }
        })),
    )
}
