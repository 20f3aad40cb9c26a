//! Typed ids, so a test passes a chat where a chat is meant and never picks `["id"]` by hand.
//! They compare with JSON values (`assert_eq!(event["message_id"], answer.id)`) and build
//! from any text, for tests that try ids that are not ids.

use std::fmt;

use mongodb::bson::oid::ObjectId;
use serde::{Deserialize, Serialize};
use serde_json::Value;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The id in a JSON field (panics if it is not a string).
            pub fn of(value: &Value) -> Self {
                Self(
                    value
                        .as_str()
                        .unwrap_or_else(|| panic!("{}: not an id: {value}", stringify!($name)))
                        .to_owned(),
                )
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// As stored in MongoDB (panics if it is not an ObjectId).
            pub fn object_id(&self) -> ObjectId {
                ObjectId::parse_str(&self.0).expect("an ObjectId")
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(raw: &str) -> Self {
                Self(raw.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(raw: String) -> Self {
                Self(raw)
            }
        }

        impl AsRef<$name> for $name {
            fn as_ref(&self) -> &$name {
                self
            }
        }

        impl PartialEq<$name> for Value {
            fn eq(&self, id: &$name) -> bool {
                self.as_str() == Some(id.as_str())
            }
        }

        impl PartialEq<Value> for $name {
            fn eq(&self, value: &Value) -> bool {
                value == self
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, id: &$name) -> bool {
                *self == id.0
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, raw: &&str) -> bool {
                self.0 == *raw
            }
        }
    };
}

id_type!(
    /// A chat's id.
    ChatId
);
id_type!(
    /// A message's id (a question or an answer).
    MessageId
);
