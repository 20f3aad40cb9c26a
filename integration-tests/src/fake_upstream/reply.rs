//! What the fake model "says": a deterministic reply for a request, cut into tokens, capped by
//! `max_tokens` and stop sequences exactly as an OpenAI-compatible server would.

use serde_json::Value;

use super::{
    Behaviour,
    request::{last_user_text, max_tokens, prompt_tokens, seed, stop_sequences},
};

/// Length of the generated reply, in tokens, when neither the behaviour nor `max_tokens` says.
pub const DEFAULT_REPLY_TOKENS: usize = 24;

/// Filler vocabulary, with a few Markdown bits so renderers get something to chew on.
#[rustfmt::skip]
const FILLER: &[&str] = &[
    "the", "model", "streams", "**bold**", "`code`", "tokens", "quickly", "and", "calmly",
    "while", "tests", "observe", "every", "_small_", "chunk", "of", "text", "from", "a", "tiny",
    "demo", "server", "with", "no", "weights,", "so", "replies", "stay", "cheap", "yet",
    "plausible", "enough", "for", "benchmarks", "`cargo`", "**markdown**", "lists", "tables",
    "links", "headings", "quotes", "emoji", "context", "window", "prompt", "answer", "here",
    "there",
];

/// The reply to one request: the tokens to emit, in order, and why generation ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    pub tokens: Vec<String>,
    pub finish_reason: &'static str,
    pub prompt_tokens: usize,
}

impl Completion {
    pub fn text(&self) -> String {
        self.tokens.concat()
    }

    pub fn completion_tokens(&self) -> usize {
        self.tokens.len()
    }
}

/// The completion for a validated request body (an object with a non-empty `messages`).
pub fn complete(body: &Value, behaviour: &Behaviour) -> Completion {
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut tokens = match &behaviour.reply {
        Some(text) => tokenize(text),
        None => generated(
            messages,
            seed(body),
            behaviour.reply_tokens.unwrap_or(DEFAULT_REPLY_TOKENS),
        ),
    };
    let mut finish_reason = "stop";
    if let Some(max) = max_tokens(body)
        && tokens.len() > max
    {
        tokens.truncate(max);
        finish_reason = "length";
    }
    let stops = stop_sequences(body);
    let mut text = String::new();
    for (index, token) in tokens.iter().enumerate() {
        text.push_str(token);
        if let Some(cut) = stops
            .iter()
            .filter_map(|stop| text.find(stop.as_str()))
            .min()
        {
            let emitted = text.len() - token.len();
            tokens.truncate(index);
            if cut > emitted {
                tokens.push(text[emitted..cut].to_owned());
            } else {
                // The stop string began in tokens already assembled: take them back too.
                cut_tokens(&mut tokens, cut);
            }
            finish_reason = "stop";
            break;
        }
    }
    Completion {
        tokens,
        finish_reason,
        prompt_tokens: prompt_tokens(messages),
    }
}

/// Keeps only the first `len` bytes of the concatenated tokens (a char boundary).
fn cut_tokens(tokens: &mut Vec<String>, len: usize) {
    let mut start = 0;
    let mut kept = Vec::new();
    for token in tokens.drain(..) {
        if start >= len {
            break;
        }
        let end = start + token.len();
        kept.push(if end <= len {
            token
        } else {
            token[..len - start].to_owned()
        });
        start = end;
    }
    *tokens = kept;
}

/// Splits text into tokens: each is a word with the whitespace before it, so they concatenate
/// back to the exact text ("Hello big world" → "Hello", " big", " world").
pub fn tokenize(text: &str) -> Vec<String> {
    let mut tokens: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut has_word = false;
    for ch in text.chars() {
        if ch.is_whitespace() && has_word {
            // Whitespace after a word opens the next token.
            tokens.push(std::mem::take(&mut current));
            has_word = false;
        }
        has_word |= !ch.is_whitespace();
        current.push(ch);
    }
    match tokens.last_mut() {
        // Trailing whitespace stays with the last word.
        Some(last) if !has_word => last.push_str(&current),
        _ if !current.is_empty() => tokens.push(current),
        _ => {}
    }
    tokens
}

/// "Demo reply to: <last user message, first 8 words>." then seeded filler, `count` tokens.
fn generated(messages: &[Value], seed: u64, count: usize) -> Vec<String> {
    let quoted = last_user_text(messages);
    let mut words = Vec::from(["Demo", "reply", "to:"].map(str::to_owned));
    let first: Vec<&str> = quoted.split_whitespace().take(8).collect();
    match first.split_last() {
        Some((last, rest)) => {
            words.extend(rest.iter().map(|w| (*w).to_owned()));
            words.push(format!("{last}."));
        }
        None => words.push("(nothing).".to_owned()),
    }
    let prefix = words.len();
    let mut rng = SplitMix64(seed);
    while words.len() < count {
        let index = (rng.next() % FILLER.len() as u64) as usize;
        words.push(FILLER[index].to_owned());
    }
    words.truncate(count);
    if words.len() > prefix
        && let Some(last) = words.last_mut()
    {
        last.push('.');
    }
    words
        .into_iter()
        .enumerate()
        .map(|(i, w)| if i == 0 { w } else { format!(" {w}") })
        .collect()
}

/// A tiny, version-independent PRNG so replies never change with a dependency bump.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}
