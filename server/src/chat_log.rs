//! `CHAT_LOG`: one JSON line per finished answer (timestamp, user, chat, model, parameters,
//! the messages sent, the response), for research use. Written by a background task so a slow
//! disk never delays a generation.

use std::path::PathBuf;

use serde_json::json;
use tokio::{io::AsyncWriteExt as _, sync::mpsc};

use mongodb::bson::oid::ObjectId;

use crate::{
    domain::{SamplingParams, Turn},
    store::MessageDoc,
};

/// Lines waiting for the writer; beyond this, lines are dropped (and counted in the log).
const QUEUE: usize = 10_000;

#[derive(Debug, Clone, Default)]
pub struct ChatLog {
    tx: Option<mpsc::Sender<String>>,
}

impl ChatLog {
    /// A log appending to `path`, or a no-op without one.
    pub fn open(path: Option<PathBuf>) -> Self {
        let Some(path) = path else {
            return Self::default();
        };
        let (tx, mut rx) = mpsc::channel::<String>(QUEUE);
        tokio::spawn(async move {
            let file = tokio::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .await;
            let mut file = match file {
                Ok(file) => file,
                Err(err) => {
                    tracing::error!(path = %path.display(), error = %err, "cannot open CHAT_LOG");
                    return;
                }
            };
            while let Some(line) = rx.recv().await {
                if let Err(err) = file.write_all(line.as_bytes()).await {
                    tracing::error!(error = %err, "writing CHAT_LOG failed");
                }
                if rx.is_empty() {
                    let _ = file.flush().await;
                }
            }
        });
        Self { tx: Some(tx) }
    }

    pub fn record(&self, answer: &MessageDoc, sent: &[Turn]) {
        if self.tx.is_none() {
            return;
        }
        self.send(&json!({
            "timestamp": chrono::Utc::now().to_rfc3339(),
            "user_id": answer.user_id.to_hex(),
            "chat_id": answer.chat_id.to_hex(),
            "message_id": answer.id.to_hex(),
            "model": answer.model,
            "parameters": answer.parameters,
            "messages": sent.iter().map(|t| json!({ "role": t.role, "content": t.content })).collect::<Vec<_>>(),
            "response": answer.content,
            "status": answer.status,
            "finish_reason": answer.finish_reason,
            "usage": answer.usage,
        }));
    }

    /// A `/v1` call that is not saved as a chat (`source: "api"`; no chat or message id).
    pub fn record_call(&self, call: &Call<'_>) {
        if self.tx.is_none() {
            return;
        }
        self.send(&json!({
            "timestamp": chrono::Utc::now().to_rfc3339(),
            "source": "api",
            "user_id": call.user_id.to_hex(),
            "call_id": call.call_id.map(|id| id.to_hex()),
            "model": call.model,
            "parameters": call.parameters,
            "messages": call.sent.iter().map(|t| json!({ "role": t.role, "content": t.content })).collect::<Vec<_>>(),
            "response": call.response,
            "status": call.status,
            "finish_reason": call.finish_reason,
            "usage": call.usage.map(|(prompt, completion)| json!({
                "prompt_tokens": prompt, "completion_tokens": completion,
            })),
            "duration_ms": u64::try_from(call.duration.as_millis()).unwrap_or(u64::MAX),
        }));
    }

    fn send(&self, line: &serde_json::Value) {
        let Some(tx) = &self.tx else { return };
        if tx.try_send(format!("{line}\n")).is_err() {
            tracing::warn!("CHAT_LOG queue full; a line was dropped");
        }
    }
}

/// What `CHAT_LOG` keeps of a `/v1` call that is not saved.
pub struct Call<'a> {
    pub user_id: ObjectId,
    pub call_id: Option<ObjectId>,
    pub model: &'a str,
    pub parameters: &'a SamplingParams,
    pub sent: &'a [Turn],
    pub response: &'a str,
    /// `complete`, `stopped` (the caller went away) or `error`.
    pub status: &'a str,
    pub finish_reason: Option<&'a str>,
    /// (prompt, completion) tokens, estimated when the upstream did not say.
    pub usage: Option<(u64, u64)>,
    pub duration: std::time::Duration,
}
