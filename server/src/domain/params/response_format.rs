//! `response_format`, structured output: what a request may ask for (a JSON object, or JSON
//! that follows a JSON Schema of draft 2020-12), checked here once, and what an answer's text
//! is measured against when it ends.
//!
//! The schema is compiled with the `jsonschema` crate, which checks it against the draft's
//! meta-schema and resolves its `$ref`s; it is built without fetching, so a remote `$ref` is
//! refused rather than resolved.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The largest schema accepted, serialised.
pub const MAX_SCHEMA_BYTES: usize = 16 * 1024;
/// The most errors an answer records (`error_count` says how many there were).
pub const MAX_ERRORS: usize = 20;
/// The longest schema name (OpenAI's own limit).
const MAX_NAME_CHARS: usize = 64;
/// The longest description.
const MAX_DESCRIPTION_CHARS: usize = 1_000;

/// A `response_format` that passed [`problem`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Format<'a> {
    /// Any JSON object.
    JsonObject,
    /// JSON valid under `schema`.
    JsonSchema { schema: &'a Value },
}

/// What is wrong with a `response_format` value, if anything: the message names the field
/// inside it (`json_schema.schema`, …).
pub fn problem(value: &Value) -> Option<String> {
    read(value).err()
}

/// The format a valid value asks for.
pub fn format(value: &Value) -> Option<Format<'_>> {
    read(value).ok()
}

fn read(value: &Value) -> Result<Format<'_>, String> {
    const SHAPE: &str = r#"must be {"type": "json_object"} or {"type": "json_schema", "json_schema": {"name", "schema", "strict"?}}"#;
    let Some(object) = value.as_object() else {
        return Err(SHAPE.to_owned());
    };
    let unknown = |allowed: &[&str], within: &serde_json::Map<String, Value>, at: &str| {
        within
            .keys()
            .find(|key| !allowed.contains(&key.as_str()))
            .map(|key| format!("{at}`{key}` is not a field of it"))
    };
    match object.get("type").and_then(Value::as_str) {
        Some("json_object") => match unknown(&["type"], object, "") {
            Some(problem) => Err(problem),
            None => Ok(Format::JsonObject),
        },
        Some("json_schema") => {
            if let Some(problem) = unknown(&["type", "json_schema"], object, "") {
                return Err(problem);
            }
            let Some(spec) = object.get("json_schema").and_then(Value::as_object) else {
                return Err("json_schema: must be an object with `name` and `schema`".to_owned());
            };
            let allowed = ["name", "schema", "strict", "description"];
            if let Some(problem) = unknown(&allowed, spec, "json_schema: ") {
                return Err(problem);
            }
            check_name(spec.get("name"))?;
            match spec.get("strict") {
                None | Some(Value::Bool(_)) => {}
                Some(_) => return Err("json_schema.strict: must be true or false".to_owned()),
            }
            match spec.get("description") {
                None => {}
                Some(Value::String(text)) if text.chars().count() <= MAX_DESCRIPTION_CHARS => {}
                Some(_) => {
                    return Err(format!(
                        "json_schema.description: must be a string of at most {MAX_DESCRIPTION_CHARS} characters"
                    ));
                }
            }
            let schema = spec
                .get("schema")
                .ok_or_else(|| "json_schema.schema: is required".to_owned())?;
            check_schema(schema)?;
            Ok(Format::JsonSchema { schema })
        }
        _ => Err(SHAPE.to_owned()),
    }
}

fn check_name(name: Option<&Value>) -> Result<(), String> {
    let ok = name.and_then(Value::as_str).is_some_and(|name| {
        (1..=MAX_NAME_CHARS).contains(&name.chars().count())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "json_schema.name: must be 1 to {MAX_NAME_CHARS} letters, digits, `_` or `-`"
        ))
    }
}

fn check_schema(schema: &Value) -> Result<(), String> {
    if !schema.is_object() {
        return Err("json_schema.schema: must be a JSON Schema object".to_owned());
    }
    let size = serde_json::to_vec(schema).map_or(usize::MAX, |bytes| bytes.len());
    if size > MAX_SCHEMA_BYTES {
        return Err(format!(
            "json_schema.schema: is {size} bytes; at most {MAX_SCHEMA_BYTES} are accepted"
        ));
    }
    jsonschema::draft202012::new(schema)
        .map(drop)
        .map_err(|err| {
            let at = err.instance_path().to_string();
            let at = if at.is_empty() {
                String::new()
            } else {
                format!(" at {at}")
            };
            format!("json_schema.schema: not a valid JSON Schema (draft 2020-12){at}: {err}")
        })
}

/// How an answer measured up to the format it was asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Structured {
    /// The answer is JSON and follows the format.
    pub valid: bool,
    /// What is wrong, at most [`MAX_ERRORS`] of it.
    pub errors: Vec<StructuredError>,
    /// How many errors there were in all.
    pub error_count: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StructuredError {
    /// Where in the answer, as a JSON Pointer (`""`: the whole answer).
    pub path: String,
    pub message: String,
}

impl Structured {
    fn invalid(errors: Vec<StructuredError>, error_count: usize) -> Self {
        Self {
            valid: false,
            errors,
            error_count,
        }
    }

    fn one(message: String) -> Self {
        Self::invalid(
            vec![StructuredError {
                path: String::new(),
                message,
            }],
            1,
        )
    }
}

/// The JSON an answer's text holds: the whole text, or the inside of one fenced code block
/// (` ```json … ``` `) that is all of it, as models sometimes wrap their JSON.
pub fn json_text(text: &str) -> &str {
    let text = text.trim();
    let Some(rest) = text.strip_prefix("```") else {
        return text;
    };
    let Some(inner) = rest.strip_suffix("```") else {
        return text;
    };
    // The info string (`json`) ends at the first line break.
    match inner.split_once('\n') {
        Some((info, body)) if !info.contains('`') => body.trim(),
        _ => text,
    }
}

/// Parses the answer and checks it against the format `value` asks for (a valid
/// `response_format`; `None` if it is not one).
pub fn check_answer(value: &Value, text: &str) -> Option<Structured> {
    let format = format(value)?;
    let parsed: Value = match serde_json::from_str(json_text(text)) {
        Ok(parsed) => parsed,
        Err(err) => return Some(Structured::one(format!("not valid JSON: {err}"))),
    };
    Some(match format {
        Format::JsonObject if parsed.is_object() => Structured {
            valid: true,
            errors: Vec::new(),
            error_count: 0,
        },
        Format::JsonObject => Structured::one("not a JSON object".to_owned()),
        Format::JsonSchema { schema } => match jsonschema::draft202012::new(schema) {
            Ok(validator) => {
                let mut errors = Vec::new();
                let mut count = 0;
                for err in validator.iter_errors(&parsed) {
                    count += 1;
                    if errors.len() < MAX_ERRORS {
                        errors.push(StructuredError {
                            path: err.instance_path().to_string(),
                            message: err.to_string(),
                        });
                    }
                }
                if count == 0 {
                    Structured {
                        valid: true,
                        errors,
                        error_count: 0,
                    }
                } else {
                    Structured::invalid(errors, count)
                }
            }
            Err(err) => Structured::one(format!("the schema cannot be used: {err}")),
        },
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn person() -> Value {
        json!({
            "type": "json_schema",
            "json_schema": {
                "name": "person",
                "strict": true,
                "schema": {
                    "type": "object",
                    "properties": { "name": { "type": "string" }, "age": { "type": "integer", "minimum": 0 } },
                    "required": ["name", "age"],
                    "additionalProperties": false
                }
            }
        })
    }

    #[test]
    fn the_two_formats_are_accepted() {
        assert_eq!(problem(&json!({ "type": "json_object" })), None);
        assert_eq!(problem(&person()), None);
        let schema = &person()["json_schema"]["schema"];
        assert_eq!(format(&person()), Some(Format::JsonSchema { schema }));
    }

    #[test]
    fn malformed_formats_name_what_is_wrong() {
        let cases = [
            (json!("json_object"), "must be"),
            (json!({ "type": "text" }), "must be"),
            (
                json!({ "type": "json_object", "schema": {} }),
                "`schema` is not a field",
            ),
            (
                json!({ "type": "json_schema" }),
                "json_schema: must be an object",
            ),
            (
                json!({ "type": "json_schema", "json_schema": { "schema": {} } }),
                "json_schema.name",
            ),
            (
                json!({ "type": "json_schema", "json_schema": { "name": "a b", "schema": {} } }),
                "json_schema.name",
            ),
            (
                json!({ "type": "json_schema", "json_schema": { "name": "a" } }),
                "json_schema.schema: is required",
            ),
            (
                json!({ "type": "json_schema", "json_schema": { "name": "a", "schema": [] } }),
                "json_schema.schema: must be a JSON Schema object",
            ),
            (
                json!({ "type": "json_schema", "json_schema": { "name": "a", "schema": {}, "strict": "yes" } }),
                "json_schema.strict",
            ),
            (
                json!({ "type": "json_schema", "json_schema": { "name": "a", "schema": {}, "extra": 1 } }),
                "`extra` is not a field",
            ),
            (
                json!({ "type": "json_schema", "json_schema": { "name": "a", "schema": { "type": 12 } } }),
                "not a valid JSON Schema (draft 2020-12) at /type",
            ),
            (
                json!({ "type": "json_schema", "json_schema": { "name": "a", "schema": { "$ref": "#/$defs/missing" } } }),
                "not a valid JSON Schema",
            ),
        ];
        for (value, expected) in cases {
            let problem = problem(&value).unwrap_or_else(|| panic!("{value} was accepted"));
            assert!(problem.contains(expected), "{value}: {problem}");
        }
    }

    #[test]
    fn a_remote_ref_is_refused_not_fetched() {
        let value = json!({ "type": "json_schema", "json_schema": {
            "name": "a", "schema": { "$ref": "http://127.0.0.1:9/schema.json" }
        } });
        let problem = problem(&value).expect("refused");
        assert!(problem.contains("json_schema.schema"), "{problem}");
    }

    #[test]
    fn a_schema_over_16_kib_is_refused() {
        let properties: serde_json::Map<String, Value> = (0..800)
            .map(|i| (format!("field_{i:04}"), json!({ "type": "string" })))
            .collect();
        let value = json!({ "type": "json_schema", "json_schema": {
            "name": "big", "schema": { "type": "object", "properties": properties }
        } });
        let problem = problem(&value).expect("too big");
        assert!(problem.contains("at most 16384"), "{problem}");
    }

    #[test]
    fn an_answer_is_parsed_and_checked_against_the_schema() {
        let valid = check_answer(&person(), r#"{"name": "Ada", "age": 36}"#).expect("checked");
        assert_eq!((valid.valid, valid.error_count), (true, 0));
        let fenced = "```json\n{\"name\": \"Ada\", \"age\": 36}\n```";
        assert!(check_answer(&person(), fenced).expect("checked").valid);

        let invalid =
            check_answer(&person(), r#"{"name": 3, "age": -1, "x": 1}"#).expect("checked");
        assert!(!invalid.valid);
        assert_eq!(invalid.error_count, 3);
        let mut paths: Vec<&str> = invalid.errors.iter().map(|e| e.path.as_str()).collect();
        paths.sort_unstable();
        assert_eq!(paths, ["", "/age", "/name"]);

        let broken = check_answer(&person(), r#"{"name": "Ada", "#).expect("checked");
        assert!(!broken.valid && broken.errors[0].message.starts_with("not valid JSON"));
        assert_eq!(broken.errors[0].path, "");
    }

    #[test]
    fn at_most_twenty_errors_are_kept_and_all_counted() {
        let value = json!({ "type": "json_schema", "json_schema": {
            "name": "numbers", "schema": { "type": "array", "items": { "type": "integer" } }
        } });
        let answer = serde_json::to_string(&vec!["x"; 30]).expect("json");
        let checked = check_answer(&value, &answer).expect("checked");
        assert_eq!(
            (checked.errors.len(), checked.error_count),
            (MAX_ERRORS, 30)
        );
    }

    #[test]
    fn json_object_wants_an_object() {
        let object = json!({ "type": "json_object" });
        assert!(check_answer(&object, r#"{"a": 1}"#).expect("checked").valid);
        let array = check_answer(&object, "[1]").expect("checked");
        assert_eq!(array.errors[0].message, "not a JSON object");
        assert_eq!(check_answer(&json!({ "type": "text" }), "{}"), None);
    }

    #[test]
    fn fences_are_stripped_only_when_they_wrap_everything() {
        assert_eq!(json_text("  {\"a\":1} "), "{\"a\":1}");
        assert_eq!(json_text("```json\n{\"a\":1}\n```"), "{\"a\":1}");
        assert_eq!(json_text("```\n[1]\n```"), "[1]");
        assert_eq!(json_text("text ```json\n{}\n```"), "text ```json\n{}\n```");
    }
}
