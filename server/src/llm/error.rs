//! What can go wrong talking to an upstream, with a stable code for each kind of failure.

use std::time::Duration;

use async_openai::error::OpenAIError;

use super::retry::UpstreamRefusal;

#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// 429 after any retries, or with a `Retry-After` longer than Confab waits.
    #[error("the model's server is rate limiting requests; {}", wait_hint(*retry_after))]
    RateLimited { retry_after: Option<Duration> },
    /// Any other non-success status.
    #[error("the model's server answered {status}: {message}")]
    Status { status: u16, message: String },
    #[error("could not reach the model's server: {0}")]
    Connect(String),
    #[error("the model did not start answering in time")]
    FirstTokenTimeout,
    #[error("the model stopped sending its answer")]
    IdleTimeout,
    #[error("the answer took longer than the time allowed")]
    TotalTimeout,
    /// The stream broke off before a finish reason.
    #[error("the model's answer was interrupted: {0}")]
    Interrupted(String),
    /// The upstream sent something that is not a chat-completion stream.
    #[error("the model's server sent an unexpected response: {0}")]
    Protocol(String),
}

/// "try again in 30 s" when the upstream said how long, else "try again later".
fn wait_hint(retry_after: Option<Duration>) -> String {
    match retry_after {
        Some(wait) if wait.as_secs() >= 90 => {
            format!("try again in {} min", wait.as_secs().div_ceil(60))
        }
        Some(wait) => format!("try again in {} s", wait.as_secs().max(1)),
        None => "try again later".to_owned(),
    }
}

impl UpstreamError {
    /// Stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::RateLimited { .. } => "upstream_rate_limited",
            Self::Status { .. } => "upstream_error",
            Self::Connect(_) => "upstream_unreachable",
            Self::FirstTokenTimeout | Self::IdleTimeout | Self::TotalTimeout => "upstream_timeout",
            Self::Interrupted(_) => "upstream_interrupted",
            Self::Protocol(_) => "upstream_protocol",
        }
    }

    /// What users are shown and what is saved on the answer: what happened, in words, without
    /// the upstream's address, OS errors or the upstream's own error text (those reach the
    /// log only, through `Display`).
    pub fn user_message(&self) -> String {
        match self {
            Self::RateLimited { .. }
            | Self::FirstTokenTimeout
            | Self::IdleTimeout
            | Self::TotalTimeout => self.to_string(),
            Self::Status { status, .. } if *status >= 500 => {
                format!("the model's server failed to answer (HTTP {status})")
            }
            Self::Status { status, .. } => {
                format!("the model's server refused the request (HTTP {status})")
            }
            Self::Connect(_) => "could not reach the model's server".to_owned(),
            Self::Interrupted(_) => "the model's answer was interrupted".to_owned(),
            Self::Protocol(_) => "the model's server sent a response Confab cannot read".to_owned(),
        }
    }

    /// An error returned while opening the stream (before any event).
    pub(crate) fn from_request(error: OpenAIError) -> Self {
        match error {
            OpenAIError::Boxed(boxed) => match boxed.downcast::<UpstreamRefusal>() {
                Ok(refusal) => Self::from(*refusal),
                Err(other) => Self::Connect(chain(other.as_ref())),
            },
            OpenAIError::ApiError(api) if api.status_code.as_u16() == 429 => {
                Self::RateLimited { retry_after: None }
            }
            OpenAIError::ApiError(api) => Self::Status {
                status: api.status_code.as_u16(),
                message: api.api_error.message,
            },
            OpenAIError::Reqwest(error) => Self::Connect(chain(&error)),
            other => Self::from_stream(other),
        }
    }

    /// An error met while reading the stream.
    pub(crate) fn from_stream(error: OpenAIError) -> Self {
        match error {
            OpenAIError::JSONDeserialize(error, content) => {
                let content: String = content.chars().take(200).collect();
                Self::Protocol(format!("{error} in `{content}`"))
            }
            OpenAIError::StreamError(error) => Self::Interrupted(error.to_string()),
            OpenAIError::Reqwest(error) => Self::Interrupted(chain(&error)),
            other => Self::Protocol(other.to_string()),
        }
    }
}

impl From<UpstreamRefusal> for UpstreamError {
    fn from(refusal: UpstreamRefusal) -> Self {
        if refusal.status == 429 {
            Self::RateLimited {
                retry_after: refusal.retry_after,
            }
        } else {
            Self::Status {
                status: refusal.status,
                message: refusal.message,
            }
        }
    }
}

/// An error and its sources, `: `-separated (reqwest hides the cause in the source chain).
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text = format!("{text}: {cause_text}");
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable() {
        let cases = [
            (
                UpstreamError::RateLimited { retry_after: None },
                "upstream_rate_limited",
            ),
            (
                UpstreamError::Status {
                    status: 500,
                    message: "x".into(),
                },
                "upstream_error",
            ),
            (
                UpstreamError::Connect("refused".into()),
                "upstream_unreachable",
            ),
            (UpstreamError::FirstTokenTimeout, "upstream_timeout"),
            (UpstreamError::IdleTimeout, "upstream_timeout"),
            (UpstreamError::TotalTimeout, "upstream_timeout"),
            (
                UpstreamError::Interrupted("eof".into()),
                "upstream_interrupted",
            ),
            (UpstreamError::Protocol("junk".into()), "upstream_protocol"),
        ];
        for (error, code) in cases {
            assert_eq!(error.code(), code, "{error}");
        }
    }

    #[test]
    fn users_are_told_what_happened_without_addresses_or_os_errors() {
        let detail = "error sending request for url (http://10.0.0.7:8000/v1/chat/completions): \
            client error (Connect): tcp connect error: Connection refused (os error 111)";
        let cases = [
            UpstreamError::Connect(detail.into()),
            UpstreamError::Interrupted(detail.into()),
            UpstreamError::Protocol(detail.into()),
            UpstreamError::Status {
                status: 502,
                message: detail.into(),
            },
            UpstreamError::Status {
                status: 400,
                message: detail.into(),
            },
        ];
        for error in cases {
            let shown = error.user_message();
            assert!(
                error.to_string().contains("10.0.0.7"),
                "the log keeps the detail"
            );
            for secret in ["10.0.0.7", "os error", "http://", "Connection refused"] {
                assert!(!shown.contains(secret), "{shown}");
            }
            assert!(
                shown.starts_with("the model") || shown.starts_with("could not"),
                "{shown}"
            );
        }
        let limited = UpstreamError::RateLimited {
            retry_after: Some(Duration::from_secs(30)),
        };
        assert!(limited.user_message().ends_with("try again in 30 s"));
    }

    #[test]
    fn refusals_keep_status_retry_after_and_message() {
        let limited = UpstreamError::from_request(OpenAIError::Boxed(Box::new(UpstreamRefusal {
            status: 429,
            retry_after: Some(Duration::from_secs(30)),
            message: "slow down".into(),
        })));
        assert!(matches!(
            limited,
            UpstreamError::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(30)
        ));
        assert_eq!(
            limited.to_string(),
            "the model's server is rate limiting requests; try again in 30 s"
        );
        let later = UpstreamError::RateLimited { retry_after: None };
        assert!(later.to_string().ends_with("try again later"), "{later}");
        let long = UpstreamError::RateLimited {
            retry_after: Some(Duration::from_secs(600)),
        };
        assert!(long.to_string().ends_with("try again in 10 min"), "{long}");
        let failed = UpstreamError::from(UpstreamRefusal {
            status: 503,
            retry_after: None,
            message: "overloaded".into(),
        });
        assert_eq!(
            failed.to_string(),
            "the model's server answered 503: overloaded"
        );
    }
}
