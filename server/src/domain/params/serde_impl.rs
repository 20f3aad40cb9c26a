//! `SamplingParams` as JSON/BSON (an object of the set values, in table order) and as an
//! OpenAPI schema, both from the table. Only an object is parameters (never an array), unknown
//! names are refused, `null` means unset, and a whole number written as a float (`40.0`) is an
//! integer, as JSON Schema counts it.

use std::{borrow::Cow, fmt};

use serde::{
    Deserialize, Deserializer, Serialize, Serializer,
    de::{self, DeserializeSeed, MapAccess, SeqAccess, Unexpected, Visitor},
    ser::SerializeMap,
};
use utoipa::openapi::{
    RefOr, Schema,
    schema::{
        AdditionalProperties, ArrayBuilder, KnownFormat, ObjectBuilder, SchemaFormat, SchemaType,
        Type,
    },
};

use super::{Param, ParamValue, SamplingParams, Shape, TABLE};

impl Serialize for ParamValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ParamValue::Float(v) => serializer.serialize_f64(*v),
            ParamValue::Integer(v) => serializer.serialize_i64(*v),
            ParamValue::Text(v) => serializer.serialize_str(v),
            ParamValue::List(v) => v.serialize(serializer),
            ParamValue::Json(v) => v.serialize(serializer),
        }
    }
}

impl Serialize for SamplingParams {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (param, value) in self.iter() {
            map.serialize_entry(param.name(), value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for SamplingParams {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ObjectOnly)
    }
}

struct ObjectOnly;

impl<'de> Visitor<'de> for ObjectOnly {
    type Value = SamplingParams;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of sampling parameters")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SamplingParams, A::Error> {
        let mut params = SamplingParams::default();
        let mut seen = Vec::new();
        while let Some(name) = map.next_key::<Cow<'de, str>>()? {
            // Errors are raised while reading the value, so that their path names the key.
            let Some(param) = Param::from_name(&name) else {
                return map.next_value_seed(Unknown(&name));
            };
            if seen.contains(&param) {
                return Err(de::Error::custom(format!("duplicate field `{name}`")));
            }
            seen.push(param);
            if let Some(value) = map.next_value_seed(Value(param.shape()))? {
                params.set(param, value);
            }
        }
        Ok(params)
    }
}

/// Refuses the value of an unknown key (serde's own message, which callers recognise).
struct Unknown<'a>(&'a str);

impl<'de> DeserializeSeed<'de> for Unknown<'_> {
    type Value = SamplingParams;
    fn deserialize<D: Deserializer<'de>>(self, _: D) -> Result<SamplingParams, D::Error> {
        const NAMES: &[&str] = &{
            let mut names = [""; TABLE.len()];
            let mut i = 0;
            while i < TABLE.len() {
                names[i] = TABLE[i].name;
                i += 1;
            }
            names
        };
        Err(de::Error::unknown_field(self.0, NAMES))
    }
}

/// One value of a row's shape; `None` for `null`.
struct Value(Shape);

impl<'de> DeserializeSeed<'de> for Value {
    type Value = Option<ParamValue>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<ParamValue>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Value {
    type Value = Option<ParamValue>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            Shape::Float { .. } => "a number",
            Shape::Integer { .. } => "a whole number",
            Shape::Text { .. } => "a string",
            Shape::List { .. } => "a list of strings",
            Shape::ResponseFormat { .. } => "an object",
        })
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        match self.0 {
            Shape::Float { .. } => Ok(Some(ParamValue::Float(v as f64))),
            Shape::Integer { .. } => Ok(Some(ParamValue::Integer(v))),
            _ => Err(E::invalid_type(Unexpected::Signed(v), &self)),
        }
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        match (self.0, i64::try_from(v)) {
            (Shape::Float { .. }, _) => Ok(Some(ParamValue::Float(v as f64))),
            (Shape::Integer { .. }, Ok(v)) => Ok(Some(ParamValue::Integer(v))),
            (Shape::Integer { .. }, Err(_)) => Err(E::custom(format!("{v} is out of range"))),
            _ => Err(E::invalid_type(Unexpected::Unsigned(v), &self)),
        }
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        match self.0 {
            Shape::Float { .. } => Ok(Some(ParamValue::Float(v))),
            // Beyond 2^63 a float has no fraction to speak of.
            Shape::Integer { .. } if v.is_finite() && v.fract() == 0.0 && v.abs() < 9.2e18 => {
                Ok(Some(ParamValue::Integer(v as i64)))
            }
            Shape::Integer { .. } => Err(E::custom(format!("{v} is not a whole number"))),
            _ => Err(E::invalid_type(Unexpected::Float(v), &self)),
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        match self.0 {
            Shape::Text { .. } => Ok(Some(ParamValue::Text(v.to_owned()))),
            _ => Err(E::invalid_type(Unexpected::Str(v), &self)),
        }
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Err(E::invalid_type(Unexpected::Bool(v), &self))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        if !matches!(self.0, Shape::List { .. }) {
            return Err(de::Error::invalid_type(Unexpected::Seq, &self));
        }
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<String>()? {
            items.push(item);
        }
        Ok(Some(ParamValue::List(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        if !matches!(self.0, Shape::ResponseFormat { .. }) {
            return Err(de::Error::invalid_type(Unexpected::Map, &self));
        }
        // Read whole; what it must hold is checked with the other rules (`check`).
        let value = serde_json::Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(Some(ParamValue::Json(value)))
    }
}

impl utoipa::PartialSchema for SamplingParams {
    fn schema() -> RefOr<Schema> {
        let mut object = ObjectBuilder::new()
            .description(Some(
                "Sampling parameters; every one optional (unset or `null`: not sent upstream). \
                 `GET /api/models` says which each model accepts.",
            ))
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        for param in Param::all() {
            object = object.property(param.name(), property(param.shape()));
        }
        object.into()
    }
}

impl utoipa::ToSchema for SamplingParams {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("SamplingParams")
    }
}

fn nullable(kind: Type) -> SchemaType {
    SchemaType::from_iter([kind, Type::Null])
}

fn property(shape: Shape) -> RefOr<Schema> {
    match shape {
        Shape::Float {
            min,
            min_exclusive,
            max,
        } => {
            let base = ObjectBuilder::new()
                .schema_type(nullable(Type::Number))
                .maximum(Some(max));
            if min_exclusive {
                base.exclusive_minimum(Some(min))
            } else {
                base.minimum(Some(min))
            }
            .into()
        }
        // Bounds of ±2^63 do not survive a float: the whole range is `int64` instead.
        Shape::Integer { min, max } if (min, max) == (i64::MIN, i64::MAX) => ObjectBuilder::new()
            .schema_type(nullable(Type::Integer))
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .into(),
        Shape::Integer { min, max } => ObjectBuilder::new()
            .schema_type(nullable(Type::Integer))
            .minimum(Some(min as f64))
            .maximum(Some(max as f64))
            .into(),
        Shape::Text {
            max_chars,
            blank_ok,
        } => ObjectBuilder::new()
            .schema_type(nullable(Type::String))
            .max_length(Some(max_chars))
            .min_length((!blank_ok).then_some(1))
            .pattern((!blank_ok).then_some(r"\S"))
            .into(),
        Shape::List {
            max_items,
            max_chars,
        } => ArrayBuilder::new()
            .schema_type(nullable(Type::Array))
            .items(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .min_length(Some(1))
                    .max_length(Some(max_chars)),
            )
            .max_items(Some(max_items))
            .into(),
        Shape::ResponseFormat { max_schema_bytes } => response_format_schema(max_schema_bytes),
    }
}

/// `{"type": "json_object"}` or `{"type": "json_schema", "json_schema": {name, schema, …}}`.
fn response_format_schema(max_schema_bytes: usize) -> RefOr<Schema> {
    use utoipa::openapi::schema::{OneOfBuilder, Type as T};
    let closed = || AdditionalProperties::FreeForm(false);
    let json_object = ObjectBuilder::new()
        .schema_type(T::Object)
        .property(
            "type",
            ObjectBuilder::new()
                .schema_type(T::String)
                .enum_values(Some(["json_object"])),
        )
        .required("type")
        .additional_properties(Some(closed()));
    let spec = ObjectBuilder::new()
        .schema_type(T::Object)
        .property(
            "name",
            ObjectBuilder::new()
                .schema_type(T::String)
                .pattern(Some("^[A-Za-z0-9_-]{1,64}$")),
        )
        .property(
            "schema",
            ObjectBuilder::new()
                .schema_type(T::Object)
                .description(Some(format!(
                    "A JSON Schema (draft 2020-12) of at most {max_schema_bytes} bytes; a remote \
                 `$ref` is refused."
                ))),
        )
        .property("strict", ObjectBuilder::new().schema_type(T::Boolean))
        .property(
            "description",
            ObjectBuilder::new()
                .schema_type(T::String)
                .max_length(Some(1_000)),
        )
        .required("name")
        .required("schema")
        .additional_properties(Some(closed()));
    let json_schema = ObjectBuilder::new()
        .schema_type(T::Object)
        .property(
            "type",
            ObjectBuilder::new()
                .schema_type(T::String)
                .enum_values(Some(["json_schema"])),
        )
        .property("json_schema", spec)
        .required("type")
        .required("json_schema")
        .additional_properties(Some(closed()));
    OneOfBuilder::new()
        .item(json_object)
        .item(json_schema)
        .item(ObjectBuilder::new().schema_type(T::Null))
        .description(Some(
            "Structured output: the answer is JSON (an object, or one that follows the schema); \
             it is checked when it ends (`structured` on the answer).",
        ))
        .into()
}
