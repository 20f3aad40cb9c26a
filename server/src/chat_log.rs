//! `CHAT_LOG`: one JSON line per finished answer (timestamp, user, chat, model, parameters,
//! the messages sent, the response), for research use. Written by a background task so a slow
//! disk never delays a generation.

use std::path::PathBuf;

use serde_json::json;
use tokio::{io::AsyncWriteExt as _, sync::mpsc};

use crate::{domain::Turn, store::MessageDoc};

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
        let Some(tx) = &self.tx else { return };
        let line = json!({
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
        });
        if tx.try_send(format!("{line}\n")).is_err() {
            tracing::warn!("CHAT_LOG queue full; a line was dropped");
        }
    }
}
