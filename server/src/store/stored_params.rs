//! Sampling parameters as stored: as in the API, except that a JSON value (`response_format`,
//! whose schema has keys such as `$ref` and `$defs` that MongoDB reserves or restricts) is
//! stored as its JSON text. For the documents' `#[serde(with)]`.

use serde::{Deserialize, Deserializer, Serialize, Serializer, de, ser::SerializeMap};
use serde_json::Value;

use crate::domain::{ParamValue, SamplingParams};

/// Serialises as stored.
pub struct Stored<'a>(pub &'a SamplingParams);

impl Serialize for Stored<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (param, value) in self.0.iter() {
            match value {
                ParamValue::Json(json) => map.serialize_entry(param.name(), &json.to_string())?,
                other => map.serialize_entry(param.name(), other)?,
            }
        }
        map.end()
    }
}

pub fn serialize<S: Serializer>(params: &SamplingParams, serializer: S) -> Result<S::Ok, S::Error> {
    Stored(params).serialize(serializer)
}

pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<SamplingParams, D::Error> {
    let mut raw = serde_json::Map::<String, Value>::deserialize(deserializer)?;
    for value in raw.values_mut() {
        // Only a JSON value is stored as a string that holds an object.
        if let Value::String(text) = value
            && text.starts_with('{')
            && let Ok(json @ Value::Object(_)) = serde_json::from_str::<Value>(text)
        {
            *value = json;
        }
    }
    SamplingParams::from_json(Value::Object(raw)).map_err(de::Error::custom)
}

/// The same for an optional set of parameters.
pub mod option {
    use super::*;

    pub fn serialize<S: Serializer>(
        params: &Option<SamplingParams>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match params {
            Some(params) => serializer.serialize_some(&Stored(params)),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<SamplingParams>, D::Error> {
        #[derive(Deserialize)]
        struct Wrapped(#[serde(deserialize_with = "super::deserialize")] SamplingParams);
        Ok(Option::<Wrapped>::deserialize(deserializer)?.map(|Wrapped(params)| params))
    }
}

#[cfg(test)]
mod tests {
    use mongodb::bson::{self, Bson};
    use serde_json::json;

    use super::*;

    #[test]
    fn a_json_value_is_stored_as_text_and_read_back_as_it_was() {
        let params = SamplingParams::from_json(json!({
            "temperature": 0.5,
            "stop": ["END"],
            "system_prompt": "{not json, a prompt}",
            "response_format": { "type": "json_schema", "json_schema": {
                "name": "a", "schema": { "$defs": { "n": { "type": "integer" } }, "$ref": "#/$defs/n" }
            } },
        }))
        .expect("valid parameters");
        let stored = bson::to_document(&Stored(&params)).expect("bson");
        assert!(matches!(
            stored.get("response_format"),
            Some(Bson::String(_))
        ));
        assert!(
            !format!("{stored:?}").contains("\"$ref\":"),
            "no `$` key in the document"
        );
        #[derive(Deserialize)]
        struct Doc(#[serde(deserialize_with = "deserialize")] SamplingParams);
        let Doc(read) = bson::from_document(stored).expect("read back");
        assert_eq!(read, params);
    }
}
