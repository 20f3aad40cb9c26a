//! The one table of sampling parameters: each row says what a parameter's value is, its range,
//! and the name each kind of upstream reads it under. Validation, merging, the `/api/models`
//! description, the OpenAPI schema and the upstream request body all iterate it; adding a
//! parameter is adding a row.

/// What a value is, and its bounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    /// A number; `min` itself is refused when `min_exclusive`.
    Float {
        min: f64,
        min_exclusive: bool,
        max: f64,
    },
    /// A whole number in `min..=max`.
    Integer { min: i64, max: i64 },
    /// A string of at most `max_chars` characters (blank only if `blank_ok`).
    Text { max_chars: usize, blank_ok: bool },
    /// At most `max_items` non-empty strings of at most `max_chars` characters each.
    List { max_items: usize, max_chars: usize },
    /// Structured output: `{"type": "json_object"}` or `{"type": "json_schema", …}` with a
    /// JSON Schema of at most `max_schema_bytes` (see `response_format`).
    ResponseFormat { max_schema_bytes: usize },
}

/// The dialects of the OpenAI chat-completions API that Confab speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    OpenAi,
    Vllm,
    LlamaCpp,
    Ollama,
    Tgi,
}

/// Where a parameter goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// Confab itself uses it (the model; the system prompt, sent as the first message).
    Confab,
    /// Sent in the request body under this name per dialect; `None`: that dialect does not
    /// accept it, so it is never sent there. Order: OpenAI, vLLM, llama.cpp, Ollama, TGI.
    Body([Option<&'static str>; 5]),
}

impl Wire {
    /// The same name for every dialect.
    const fn everywhere(name: &'static str) -> Wire {
        Wire::Body([Some(name); 5])
    }
}

#[derive(Debug)]
pub struct ParamSpec {
    pub name: &'static str,
    pub shape: Shape,
    pub wire: Wire,
    /// A narrower shape for the dialects whose servers read less than `shape` allows (what
    /// they really accept, so a value they would misread is refused instead).
    pub narrower: &'static [(Dialect, Shape)],
}

const PENALTY: Shape = Shape::Float {
    min: -2.0,
    min_exclusive: false,
    max: 2.0,
};

/// Every parameter, in the order clients show them.
pub const TABLE: [ParamSpec; 13] = [
    ParamSpec {
        name: "model",
        shape: Shape::Text {
            max_chars: 200,
            blank_ok: false,
        },
        wire: Wire::Confab,
        narrower: &[],
    },
    ParamSpec {
        name: "temperature",
        shape: Shape::Float {
            min: 0.0,
            min_exclusive: false,
            max: 2.0,
        },
        wire: Wire::everywhere("temperature"),
        narrower: &[],
    },
    ParamSpec {
        name: "top_p",
        shape: Shape::Float {
            min: 0.0,
            min_exclusive: true,
            max: 1.0,
        },
        wire: Wire::everywhere("top_p"),
        narrower: &[],
    },
    ParamSpec {
        name: "top_k",
        shape: Shape::Integer {
            min: 1,
            max: u32::MAX as i64,
        },
        // OpenAI refuses it; Ollama's OpenAI-compatible endpoint ignores it.
        wire: Wire::Body([None, Some("top_k"), Some("top_k"), None, Some("top_k")]),
        narrower: &[],
    },
    ParamSpec {
        name: "min_p",
        shape: Shape::Float {
            min: 0.0,
            min_exclusive: false,
            max: 1.0,
        },
        // llama.cpp and vLLM read it; OpenAI refuses it, Ollama's OpenAI-compatible endpoint
        // and TGI ignore it.
        wire: Wire::Body([None, Some("min_p"), Some("min_p"), None, None]),
        narrower: &[],
    },
    ParamSpec {
        name: "max_tokens",
        // The model's own limit is checked by the catalog.
        shape: Shape::Integer {
            min: 1,
            max: u32::MAX as i64,
        },
        wire: Wire::Body([
            Some("max_completion_tokens"),
            Some("max_tokens"),
            Some("max_tokens"),
            Some("max_tokens"),
            Some("max_tokens"),
        ]),
        narrower: &[],
    },
    ParamSpec {
        name: "repetition_penalty",
        shape: Shape::Float {
            min: 0.0,
            min_exclusive: true,
            max: 2.0,
        },
        // llama.cpp silently ignores `repetition_penalty`: it reads `repeat_penalty`.
        wire: Wire::Body([
            None,
            Some("repetition_penalty"),
            Some("repeat_penalty"),
            None,
            Some("repetition_penalty"),
        ]),
        narrower: &[],
    },
    ParamSpec {
        name: "frequency_penalty",
        shape: PENALTY,
        wire: Wire::everywhere("frequency_penalty"),
        narrower: &[],
    },
    ParamSpec {
        name: "presence_penalty",
        shape: PENALTY,
        wire: Wire::everywhere("presence_penalty"),
        narrower: &[],
    },
    ParamSpec {
        name: "seed",
        shape: Shape::Integer {
            min: i64::MIN,
            max: i64::MAX,
        },
        wire: Wire::everywhere("seed"),
        // llama-server reads a uint32: -1 and 4294967295 mean "a random seed" and anything
        // else wraps modulo 2^32 (7 and 2^32 + 7 give the same answer). TGI reads a u64.
        narrower: &[
            (
                Dialect::LlamaCpp,
                Shape::Integer {
                    min: 0,
                    max: u32::MAX as i64 - 1,
                },
            ),
            (
                Dialect::Tgi,
                Shape::Integer {
                    min: 0,
                    max: i64::MAX,
                },
            ),
        ],
    },
    ParamSpec {
        name: "stop",
        shape: Shape::List {
            max_items: 4,
            max_chars: 256,
        },
        wire: Wire::everywhere("stop"),
        narrower: &[],
    },
    ParamSpec {
        name: "response_format",
        shape: Shape::ResponseFormat {
            max_schema_bytes: super::response_format::MAX_SCHEMA_BYTES,
        },
        // Every kind reads OpenAI's shape (llama.cpp the nested one too: the flat
        // `{"type": "json_schema", "schema": …}` of its README is silently ignored), but TGI,
        // whose shape `llm::request` writes.
        wire: Wire::everywhere("response_format"),
        narrower: &[],
    },
    ParamSpec {
        name: "system_prompt",
        // Empty: no system prompt.
        shape: Shape::Text {
            max_chars: 16_000,
            blank_ok: true,
        },
        wire: Wire::Confab,
        narrower: &[],
    },
];

/// A row of [`TABLE`] (ordered as the table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Param(u8);

impl Param {
    pub const MODEL: Param = Param(0);
    pub const TEMPERATURE: Param = Param(1);
    pub const MAX_TOKENS: Param = Param(5);
    pub const SEED: Param = Param(9);
    pub const RESPONSE_FORMAT: Param = Param(11);
    pub const SYSTEM_PROMPT: Param = Param(12);

    /// Every parameter, in table order.
    pub fn all() -> impl Iterator<Item = Param> {
        (0..TABLE.len()).filter_map(|i| u8::try_from(i).ok().map(Param))
    }

    pub fn from_name(name: &str) -> Option<Param> {
        Param::all().find(|p| p.name() == name)
    }

    pub fn spec(self) -> &'static ParamSpec {
        &TABLE[usize::from(self.0)]
    }

    pub fn name(self) -> &'static str {
        self.spec().name
    }

    pub fn shape(self) -> Shape {
        self.spec().shape
    }

    /// What `dialect` accepts: the row's shape, or the narrower one that dialect reads.
    pub fn shape_for(self, dialect: Dialect) -> Shape {
        self.spec()
            .narrower
            .iter()
            .find(|(d, _)| *d == dialect)
            .map_or(self.shape(), |(_, shape)| *shape)
    }

    /// The request field of `dialect` carrying it; `None`: never sent there (not accepted, or
    /// used by Confab itself).
    pub fn wire_name(self, dialect: Dialect) -> Option<&'static str> {
        match self.spec().wire {
            Wire::Confab => None,
            Wire::Body(names) => names[dialect as usize],
        }
    }

    /// Sent in the request body (by some dialect), as opposed to used by Confab itself.
    pub fn goes_upstream(self) -> bool {
        matches!(self.spec().wire, Wire::Body(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_named_rows_are_the_ones_their_constants_say() {
        assert_eq!(Param::MODEL.name(), "model");
        assert_eq!(Param::TEMPERATURE.name(), "temperature");
        assert_eq!(Param::MAX_TOKENS.name(), "max_tokens");
        assert_eq!(Param::SEED.name(), "seed");
        assert_eq!(Param::RESPONSE_FORMAT.name(), "response_format");
        assert_eq!(Param::SYSTEM_PROMPT.name(), "system_prompt");
        let names: Vec<&str> = Param::all().map(Param::name).collect();
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(names.len(), TABLE.len());
        assert_eq!(unique.len(), names.len(), "names are unique");
        assert_eq!(Param::from_name("top_k").map(Param::name), Some("top_k"));
        assert_eq!(Param::from_name("nope"), None);
    }

    #[test]
    fn each_dialect_reads_its_own_names() {
        let sent =
            |dialect| -> Vec<&str> { Param::all().filter_map(|p| p.wire_name(dialect)).collect() };
        assert!(sent(Dialect::OpenAi).contains(&"max_completion_tokens"));
        assert!(!sent(Dialect::OpenAi).contains(&"top_k"));
        assert!(sent(Dialect::LlamaCpp).contains(&"repeat_penalty"));
        assert!(!sent(Dialect::LlamaCpp).contains(&"repetition_penalty"));
        assert!(!sent(Dialect::Ollama).contains(&"repetition_penalty"));
        for (dialect, reads_min_p) in [
            (Dialect::OpenAi, false),
            (Dialect::Vllm, true),
            (Dialect::LlamaCpp, true),
            (Dialect::Ollama, false),
            (Dialect::Tgi, false),
        ] {
            assert_eq!(sent(dialect).contains(&"min_p"), reads_min_p, "{dialect:?}");
        }
        for dialect in [
            Dialect::OpenAi,
            Dialect::Vllm,
            Dialect::LlamaCpp,
            Dialect::Ollama,
            Dialect::Tgi,
        ] {
            assert!(!sent(dialect).contains(&"model") && !sent(dialect).contains(&"system_prompt"));
        }
    }

    #[test]
    fn a_dialect_may_read_a_narrower_range() {
        let seed = |dialect| Param::SEED.shape_for(dialect);
        assert_eq!(seed(Dialect::OpenAi), Param::SEED.shape());
        assert_eq!(seed(Dialect::Vllm), Param::SEED.shape());
        assert_eq!(
            seed(Dialect::LlamaCpp),
            Shape::Integer {
                min: 0,
                max: 4_294_967_294
            }
        );
        assert_eq!(
            seed(Dialect::Tgi),
            Shape::Integer {
                min: 0,
                max: i64::MAX
            }
        );
        let min_p = Param::from_name("min_p").expect("a row");
        assert_eq!(min_p.shape_for(Dialect::LlamaCpp), min_p.shape());
    }
}
