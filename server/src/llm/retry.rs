//! A tower layer that retries a request refused with 429/5xx or unable to connect, with
//! exponential backoff that honours `Retry-After` up to a bound.
//!
//! It only ever sees the request and the response *head*: once a successful response is
//! returned the stream belongs to the caller, so nothing is retried after it started. A final
//! refusal becomes an [`UpstreamRefusal`] (boxed into `OpenAIError::Boxed`) that keeps the
//! status, the `Retry-After` and the upstream's message.

use std::{
    task::{Context, Poll},
    time::Duration,
};

use async_openai::{error::OpenAIError, middleware::HttpRequestFactory};
use futures::future::BoxFuture;
use reqwest13::{Response, StatusCode, header::RETRY_AFTER};
use serde_json::Value;
use tower::{Layer, Service, ServiceExt};

/// The first backoff delay; it doubles on each retry (capped by the maximum wait).
const BASE_DELAY: Duration = Duration::from_millis(250);
/// How much of an error body is read and kept as its message.
const MAX_MESSAGE_CHARS: usize = 500;

/// The upstream answered with a non-success status (after any retries).
#[derive(Debug, thiserror::Error)]
#[error("the upstream answered {status}: {message}")]
pub(crate) struct UpstreamRefusal {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub message: String,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct BoundedRetryLayer {
    max_retries: u32,
    max_wait: Duration,
    /// The first-token deadline: a wait that would end past it is not started, so the request
    /// fails with what the upstream said (a rate limit and its wait) instead of a timeout.
    budget: Duration,
    /// The endpoint has other replicas: a refused connection or a 5xx moves the request to the
    /// next one at once instead of being retried here (only 429s are).
    failover: bool,
}

impl BoundedRetryLayer {
    pub(crate) fn new(max_retries: u32, max_wait: Duration, budget: Duration) -> Self {
        Self {
            max_retries,
            max_wait,
            budget,
            failover: false,
        }
    }

    pub(crate) fn failing_over(mut self, failover: bool) -> Self {
        self.failover = failover;
        self
    }

    /// How long to wait before retry number `retries + 1`, or `None` to give up. `elapsed`
    /// is the time since the request was first sent.
    fn delay(&self, attempt: &Attempt, retries: u32, elapsed: Duration) -> Option<Duration> {
        let wait = self.wait(attempt, retries)?;
        (elapsed.saturating_add(wait) < self.budget).then_some(wait)
    }

    fn wait(&self, attempt: &Attempt, retries: u32) -> Option<Duration> {
        let retryable = match attempt {
            Attempt::Refused(refusal) => {
                (refusal.status == 429 && !refusal.message.contains("insufficient_quota"))
                    || (refusal.status >= 500 && !self.failover)
            }
            Attempt::Failed(OpenAIError::Reqwest(error)) => error.is_connect() && !self.failover,
            Attempt::Failed(_) => false,
        };
        if !retryable || retries >= self.max_retries {
            return None;
        }
        match attempt {
            Attempt::Refused(UpstreamRefusal {
                retry_after: Some(wait),
                ..
            }) => (*wait <= self.max_wait).then_some(*wait),
            _ => Some(
                BASE_DELAY
                    .saturating_mul(2_u32.saturating_pow(retries))
                    .min(self.max_wait),
            ),
        }
    }
}

impl<S> Layer<S> for BoundedRetryLayer {
    type Service = BoundedRetry<S>;
    fn layer(&self, inner: S) -> BoundedRetry<S> {
        BoundedRetry {
            inner,
            policy: *self,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct BoundedRetry<S> {
    inner: S,
    policy: BoundedRetryLayer,
}

enum Attempt {
    Refused(UpstreamRefusal),
    Failed(OpenAIError),
}

impl<S> Service<HttpRequestFactory> for BoundedRetry<S>
where
    S: Service<HttpRequestFactory, Response = Response, Error = OpenAIError>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = OpenAIError;
    type Future = BoxFuture<'static, Result<Response, OpenAIError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), OpenAIError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: HttpRequestFactory) -> Self::Future {
        // The ready service answers the first call; a fresh clone takes its place.
        let ready = self.inner.clone();
        let mut service = std::mem::replace(&mut self.inner, ready);
        let first = service.call(request.clone());
        let policy = self.policy;
        let started = std::time::Instant::now();
        Box::pin(async move {
            let mut outcome = first.await;
            let mut retries = 0;
            loop {
                let attempt = match outcome {
                    Ok(response) if response.status().is_success() => return Ok(response),
                    Ok(response) => Attempt::Refused(refusal(response).await),
                    Err(error) => Attempt::Failed(error),
                };
                let Some(delay) = policy.delay(&attempt, retries, started.elapsed()) else {
                    return Err(match attempt {
                        Attempt::Refused(refusal) => OpenAIError::Boxed(Box::new(refusal)),
                        Attempt::Failed(error) => error,
                    });
                };
                retries += 1;
                match &attempt {
                    Attempt::Refused(r) => tracing::warn!(
                        status = r.status,
                        retry = retries,
                        delay_ms = delay.as_millis(),
                        "upstream refused the request; retrying"
                    ),
                    Attempt::Failed(e) => tracing::warn!(
                        error = %e, retry = retries, delay_ms = delay.as_millis(),
                        "could not reach the upstream; retrying"
                    ),
                }
                tokio::time::sleep(delay).await;
                outcome = match service.ready().await {
                    Ok(ready) => ready.call(request.clone()).await,
                    Err(error) => Err(error),
                };
            }
        })
    }
}

/// Reads what a non-success response says; the body is consumed (the connection reused).
async fn refusal(response: Response) -> UpstreamRefusal {
    let status = response.status();
    let retry_after = retry_after(response.headers());
    let body = response.text().await.unwrap_or_default();
    UpstreamRefusal {
        status: status.as_u16(),
        retry_after,
        message: message(status, &body),
    }
}

/// `retry-after-ms` (OpenAI), else `Retry-After` in (possibly fractional) seconds. An HTTP
/// date is not understood and counts as absent.
pub(crate) fn retry_after(headers: &reqwest13::header::HeaderMap) -> Option<Duration> {
    let number = |name: &str| -> Option<f64> {
        let value: f64 = headers.get(name)?.to_str().ok()?.trim().parse().ok()?;
        (value.is_finite() && value >= 0.0).then_some(value)
    };
    number("retry-after-ms")
        .map(|ms| Duration::from_secs_f64(ms / 1000.0))
        .or_else(|| number(RETRY_AFTER.as_str()).map(Duration::from_secs_f64))
}

/// The upstream's explanation: `error.message`, `error` (a string, as TGI), `message` or
/// `detail`, else the raw body; shortened, and the status' reason when there is nothing.
fn message(status: StatusCode, body: &str) -> String {
    let json: Option<Value> = serde_json::from_str(body).ok();
    let from_json = json.as_ref().and_then(|json| {
        [
            json.pointer("/error/message"),
            json.get("error"),
            json.get("message"),
            json.get("detail"),
        ]
        .into_iter()
        .flatten()
        .find_map(Value::as_str)
        .map(str::to_owned)
    });
    let text = from_json.unwrap_or_else(|| body.trim().to_owned());
    let code = json
        .as_ref()
        .and_then(|json| json.pointer("/error/code").or(json.pointer("/error/type")))
        .and_then(Value::as_str)
        .filter(|code| *code == "insufficient_quota");
    let text = match code {
        Some(code) => format!("{text} ({code})"),
        None => text,
    };
    if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("no reason given")
            .to_owned()
    } else if text.chars().count() > MAX_MESSAGE_CHARS {
        let short: String = text.chars().take(MAX_MESSAGE_CHARS).collect();
        format!("{short}…")
    } else {
        text
    }
}
