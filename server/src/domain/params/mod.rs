//! Sampling parameters a user may set on a conversation or a single message: a set of values
//! keyed by the rows of [`TABLE`], checked, merged, serialised and described by iterating it.
//!
//! `check` holds the context-free rules (each row's range); what a given model accepts, and
//! its `max_tokens` limit, is decided by `llm::Catalog`.

pub mod response_format;
mod serde_impl;
mod table;

use std::collections::BTreeMap;

use serde_json::Value;

pub use table::{Dialect, Param, ParamSpec, Shape, TABLE};

use super::FieldErrors;

/// One parameter's value, of its row's shape.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    Float(f64),
    Integer(i64),
    Text(String),
    List(Vec<String>),
    /// A JSON object (`response_format`), as it was given once checked.
    Json(Value),
}

impl ParamValue {
    pub fn to_json(&self) -> Value {
        match self {
            ParamValue::Float(v) => Value::from(*v),
            ParamValue::Integer(v) => Value::from(*v),
            ParamValue::Text(v) => Value::from(v.as_str()),
            ParamValue::List(v) => Value::from(v.clone()),
            ParamValue::Json(v) => v.clone(),
        }
    }
}

/// Sampling parameters; every one optional: unset means "not sent upstream".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SamplingParams(BTreeMap<Param, ParamValue>);

impl SamplingParams {
    pub fn get(&self, param: Param) -> Option<&ParamValue> {
        self.0.get(&param)
    }

    /// Sets a value (of the row's shape: see [`SamplingParams::check`]).
    pub fn set(&mut self, param: Param, value: ParamValue) {
        self.0.insert(param, value);
    }

    pub fn remove(&mut self, param: Param) {
        self.0.remove(&param);
    }

    /// The set values, in table order.
    pub fn iter(&self) -> impl Iterator<Item = (Param, &ParamValue)> {
        self.0.iter().map(|(param, value)| (*param, value))
    }

    pub fn model(&self) -> Option<&str> {
        match self.get(Param::MODEL) {
            Some(ParamValue::Text(model)) => Some(model),
            _ => None,
        }
    }

    pub fn system_prompt(&self) -> Option<&str> {
        match self.get(Param::SYSTEM_PROMPT) {
            Some(ParamValue::Text(prompt)) => Some(prompt),
            _ => None,
        }
    }

    /// A number's value (a float, or a whole number as a float).
    pub fn number(&self, param: Param) -> Option<f64> {
        match self.get(param) {
            Some(ParamValue::Float(v)) => Some(*v),
            Some(ParamValue::Integer(v)) => Some(*v as f64),
            _ => None,
        }
    }

    /// The structured output asked for, if any.
    pub fn response_format(&self) -> Option<&Value> {
        match self.get(Param::RESPONSE_FORMAT) {
            Some(ParamValue::Json(value)) => Some(value),
            _ => None,
        }
    }

    pub fn integer(&self, param: Param) -> Option<i64> {
        match self.get(param) {
            Some(ParamValue::Integer(v)) => Some(*v),
            _ => None,
        }
    }

    /// The parameters from a JSON object (tests, and code that builds them from literals).
    pub fn from_json(value: Value) -> Result<SamplingParams, serde_json::Error> {
        serde_json::from_value(value)
    }

    /// Context-free range checks, one per row. Errors are keyed `"<prefix>.<name>"` (just the
    /// name when `prefix` is empty) → a human message. NaN and infinities are refused.
    pub fn check(&self, prefix: &str) -> Result<(), FieldErrors> {
        self.check_with(prefix, Param::shape)
    }

    /// The same checks against the shapes `shape_of` gives (an upstream's narrower ranges).
    pub fn check_with(
        &self,
        prefix: &str,
        shape_of: impl Fn(Param) -> Shape,
    ) -> Result<(), FieldErrors> {
        let errors: FieldErrors = self
            .iter()
            .filter_map(|(param, value)| {
                problem(shape_of(param), value).map(|p| (field_key(prefix, param.name()), p))
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Values set in `self` win over `base`.
    pub fn overlay(&self, base: &SamplingParams) -> SamplingParams {
        let mut merged = base.clone();
        merged.0.extend(self.0.iter().map(|(p, v)| (*p, v.clone())));
        merged
    }
}

/// `"<prefix>.<field>"`, or just `field` when the prefix is empty.
pub fn field_key(prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_owned()
    } else {
        format!("{prefix}.{field}")
    }
}

/// "2" rather than "2.0" in messages.
fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        v.to_string()
    }
}

/// What is wrong with `value` for a row of this shape, if anything.
fn problem(shape: Shape, value: &ParamValue) -> Option<String> {
    match (shape, value) {
        (
            Shape::Float {
                min,
                min_exclusive,
                max,
            },
            ParamValue::Float(v),
        ) => {
            let low_ok = if min_exclusive { *v > min } else { *v >= min };
            (!v.is_finite() || !low_ok || *v > max).then(|| {
                if min_exclusive {
                    format!(
                        "must be greater than {} and at most {}",
                        number(min),
                        number(max)
                    )
                } else {
                    format!("must be between {} and {}", number(min), number(max))
                }
            })
        }
        (Shape::Integer { min, max }, ParamValue::Integer(v)) => {
            if *v < min {
                Some(format!("must be at least {min}"))
            } else if *v > max {
                Some(format!("must be at most {max}"))
            } else {
                None
            }
        }
        (
            Shape::Text {
                max_chars,
                blank_ok,
            },
            ParamValue::Text(text),
        ) => {
            if !blank_ok && text.trim().is_empty() {
                Some("must not be empty".to_owned())
            } else if text.chars().count() > max_chars {
                Some(format!("must be at most {max_chars} characters long"))
            } else {
                None
            }
        }
        (
            Shape::List {
                max_items,
                max_chars,
            },
            ParamValue::List(items),
        ) => {
            if items.len() > max_items {
                Some(format!("must have at most {max_items} sequences"))
            } else if items.iter().any(String::is_empty) {
                Some("sequences must not be empty".to_owned())
            } else if items.iter().any(|s| s.chars().count() > max_chars) {
                Some(format!(
                    "sequences must be at most {max_chars} characters long"
                ))
            } else {
                None
            }
        }
        (Shape::ResponseFormat { .. }, ParamValue::Json(value)) => response_format::problem(value),
        _ => Some("has the wrong type".to_owned()),
    }
}

#[cfg(test)]
mod tests;
