//! A real SSE client for the streaming routes: reads `event:`/`data:` frames off the wire.

use futures::StreamExt as _;
use serde_json::Value;

/// One server-sent event: its name and JSON data.
#[derive(Debug, Clone)]
pub struct SseEvent {
    pub event: String,
    pub data: Value,
    /// The SSE `id:` (text-bearing events: the answer's length so far, in UTF-16 units).
    pub id: Option<String>,
}

/// Reads events incrementally from a streaming response.
pub struct SseReader {
    body: futures::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buffer: String,
}

impl SseReader {
    pub fn new(response: reqwest::Response) -> Self {
        Self {
            body: response.bytes_stream().boxed(),
            buffer: String::new(),
        }
    }

    /// The next event (keep-alive comments skipped), or `None` when the stream ends.
    pub async fn next(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let frame: String = self.buffer.drain(..end + 2).collect();
                if let Some(event) = parse_frame(&frame) {
                    return Some(event);
                }
                continue;
            }
            match self.body.next().await {
                Some(Ok(bytes)) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// Reads until the answer has shown at least `words` words (0: until its placeholder);
    /// returns the answer's id and the text shown so far.
    pub async fn read_answer_until(&mut self, words: usize) -> (String, String) {
        let mut answer_id = String::new();
        let mut shown = String::new();
        while let Some(event) = self.next().await {
            match event.event.as_str() {
                "assistant_message" => {
                    answer_id = event.data["id"].as_str().unwrap_or_default().to_owned();
                    if words == 0 {
                        break;
                    }
                }
                "delta" => {
                    shown.push_str(event.data["content"].as_str().unwrap_or_default());
                    if shown.split_whitespace().count() >= words {
                        break;
                    }
                }
                _ => {}
            }
        }
        (answer_id, shown)
    }

    /// Every remaining event.
    pub async fn collect(mut self) -> Vec<SseEvent> {
        let mut events = Vec::new();
        while let Some(event) = self.next().await {
            events.push(event);
        }
        events
    }
}

fn parse_frame(frame: &str) -> Option<SseEvent> {
    let mut event = String::from("message");
    let mut data = String::new();
    let mut id = None;
    for line in frame.lines() {
        if let Some(name) = line.strip_prefix("event:") {
            event = name.trim().to_owned();
        } else if let Some(value) = line.strip_prefix("id:") {
            id = Some(value.trim().to_owned());
        } else if let Some(chunk) = line.strip_prefix("data:") {
            if !data.is_empty() {
                data.push('\n');
            }
            data.push_str(chunk.strip_prefix(' ').unwrap_or(chunk));
        }
    }
    if data.is_empty() {
        return None;
    }
    Some(SseEvent {
        event,
        data: serde_json::from_str(&data).unwrap_or(Value::String(data)),
        id,
    })
}

/// The text of all `delta` events.
pub fn deltas(events: &[SseEvent]) -> String {
    events
        .iter()
        .filter(|e| e.event == "delta")
        .filter_map(|e| e.data["content"].as_str())
        .collect()
}

/// The data of the first event with this name.
pub fn find<'a>(events: &'a [SseEvent], name: &str) -> Option<&'a Value> {
    events.iter().find(|e| e.event == name).map(|e| &e.data)
}
