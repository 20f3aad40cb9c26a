//! `ValidatedJson<T>`: serde + `validator` in one extractor, so handlers only see valid input.
//!
//! - not JSON (Content-Type)          → 415
//! - body over the limit              → 413
//! - malformed JSON                   → 400
//! - wrong types, unknown or missing fields (operator injection such as `{"$ne": null}`
//!   in place of a string included) → 422 naming the field
//! - failed validation rules          → 422 naming every failing field

use axum::{
    body::Bytes,
    extract::{FromRequest, Request, rejection::BytesRejection},
    http::header,
};
use serde::de::DeserializeOwned;
use serde_json::error::Category;
use validator::Validate;

use crate::{error::ApiError, state::AppState};

#[derive(Debug, Clone, Copy, Default)]
pub struct ValidatedJson<T>(pub T);

fn is_json(request: &Request) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
        .unwrap_or(false)
}

impl<T> FromRequest<AppState> for ValidatedJson<T>
where
    T: DeserializeOwned + Validate,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        if !is_json(&request) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let limit = state.settings.http.max_body_bytes;
        let bytes =
            Bytes::from_request(request, state)
                .await
                .map_err(|rejection| match rejection {
                    BytesRejection::FailedToBufferBody(_)
                        if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE =>
                    {
                        ApiError::PayloadTooLarge { limit }
                    }
                    other => ApiError::MalformedJson(format!("could not read the body: {other}")),
                })?;
        let value = parse::<T>(&bytes)?;
        value.validate()?;
        Ok(Self(value))
    }
}

/// Parses JSON into `T`: any syntax error is a 400; a well-formed body of the wrong shape is a
/// 422 naming the offending field.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|err| {
        ApiError::MalformedJson(format!("the request body is not valid JSON: {err}"))
    })?;
    if !value.is_object() {
        return Err(ApiError::field("body", "must be a JSON object"));
    }
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        match inner.classify() {
            Category::Data => data_error(&path, &inner),
            Category::Syntax | Category::Eof | Category::Io => {
                ApiError::MalformedJson(format!("the request body is not valid JSON: {inner}"))
            }
        }
    })
}

fn data_error(path: &str, err: &serde_json::Error) -> ApiError {
    let full = err.to_string();
    // serde_json appends " at line L column C"; the field name says more.
    let message = full
        .rsplit_once(" at line ")
        .map_or(full.as_str(), |(head, _)| head);
    let quoted = message.split('`').nth(1).unwrap_or_default();
    let parent = if path == "." {
        String::new()
    } else {
        format!("{path}.")
    };
    if message.starts_with("unknown field") {
        // serde_path_to_error already ends the path with the unknown key.
        let field = if path == "." { quoted } else { path };
        ApiError::field(field, "is not a known field")
    } else if message.starts_with("missing field") {
        ApiError::field(format!("{parent}{quoted}"), "is required")
    } else {
        let field = if path == "." { "body" } else { path };
        ApiError::field(field, message.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Login {
        email: String,
        password: String,
    }

    fn fields(err: ApiError) -> Vec<(String, String)> {
        match err {
            ApiError::Validation(fields) => fields.into_iter().collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn operator_injection_is_a_type_error_on_that_field() {
        let err =
            parse::<Login>(br#"{"email": {"$ne": null}, "password": "x"}"#).expect_err("rejected");
        let fields = fields(err);
        assert_eq!(fields[0].0, "email");
        assert!(fields[0].1.contains("expected a string"), "{fields:?}");
    }

    #[test]
    fn unknown_and_missing_fields_are_named() {
        let err = parse::<Login>(br#"{"email": "a@b.c", "password": "x", "admin": true}"#)
            .expect_err("rejected");
        assert_eq!(
            fields(err),
            vec![("admin".into(), "is not a known field".into())]
        );
        let err = parse::<Login>(br#"{"email": "a@b.c"}"#).expect_err("rejected");
        assert_eq!(fields(err), vec![("password".into(), "is required".into())]);
    }

    #[test]
    fn syntax_errors_and_trailing_garbage_are_malformed() {
        for body in [
            &b"{\"email\": "[..],
            b"not json",
            br#"{"email": "a@b.c", "password": "x"} {}"#,
            b"",
        ] {
            let err = parse::<Login>(body).expect_err("rejected");
            assert!(matches!(err, ApiError::MalformedJson(_)), "{err:?}");
        }
    }
}
