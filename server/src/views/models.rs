//! `GET /api/models`: what clients may choose, each parameter's range (from the parameter
//! table) and whether the model's upstream accepts it.

use serde::{Serialize, Serializer, ser::SerializeMap};
use utoipa::ToSchema;

use crate::{
    domain::{Param, params::Shape},
    llm::{Catalog, ModelInfo, ModelResidency, Source},
};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ModelsView {
    /// The models are the built-in demo, not a real LLM.
    pub demo: bool,
    /// Used when a request names no model; absent when there are no models.
    pub default_model: Option<String>,
    pub models: Vec<ModelView>,
    pub limits: LimitsView,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ModelView {
    pub id: String,
    pub label: String,
    /// `openai`, `vllm`, `llamacpp`, `ollama`, `tgi` or `custom`.
    pub kind: String,
    /// The largest `max_tokens` a request may ask for.
    pub max_tokens: u32,
    /// One entry per sampling parameter (every one but `model`), keyed by its name, in the
    /// order clients show them.
    #[schema(value_type = std::collections::BTreeMap<String, ParamView>)]
    pub parameters: ParametersView,
    /// Whether an answer of this model can be continued (`POST …/continue`).
    #[serde(rename = "continue")]
    pub continues: ContinueView,
    /// Listed in the settings, or by its server (`discover`).
    pub source: ModelSource,
    /// Whether its server answered when last asked (every `DISCOVER_INTERVAL_SECS`, and on
    /// each answer's request).
    pub reachable: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ModelSource {
    Configured,
    Discovered,
}

impl From<Source> for ModelSource {
    fn from(source: Source) -> Self {
        match source {
            Source::Configured => Self::Configured,
            Source::Discovered => Self::Discovered,
        }
    }
}

/// A model as an admin sees it: where it is served and whether it is in memory.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"id": "llama-3-8b", "label": "Llama 3 8B", "endpoint": "local",
    "kind": "ollama", "source": "configured", "reachable": true, "manageable": true,
    "state": "loaded", "memory_bytes": 5_137_025_024_u64, "vram_bytes": 4_294_967_296_u64, "error": null}))]
pub struct AdminModelView {
    pub id: String,
    pub label: String,
    /// The endpoint's name (`env` for the one set by environment variables).
    pub endpoint: String,
    pub kind: String,
    pub source: ModelSource,
    pub reachable: bool,
    /// Its server can load and unload it (llama-server in router mode, Ollama).
    pub manageable: bool,
    /// `loaded`, `loading`, `unloaded`, `failed` or `unknown`.
    pub state: String,
    /// Memory the loaded model takes, in bytes, where its server says (Ollama).
    pub memory_bytes: Option<u64>,
    /// Of which in GPU memory, in bytes.
    pub vram_bytes: Option<u64>,
    /// Why the state is `failed` or `unknown`.
    pub error: Option<String>,
}

impl From<&ModelResidency> for AdminModelView {
    fn from(found: &ModelResidency) -> Self {
        let (model, residency) = (&found.model, &found.residency);
        Self {
            id: model.id.clone(),
            label: model.label.clone(),
            endpoint: model.endpoint_name().to_owned(),
            kind: model.kind.name().to_owned(),
            source: model.source.into(),
            reachable: model.reachable(),
            manageable: found.manageable,
            state: residency.state.name().to_owned(),
            memory_bytes: residency.memory_bytes,
            vram_bytes: residency.vram_bytes,
            error: residency.error.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ContinueView {
    pub supported: bool,
    /// Why not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The parameters of a model, in table order.
#[derive(Debug, Clone)]
pub struct ParametersView(pub Vec<(&'static str, ParamView)>);

impl Serialize for ParametersView {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, view) in &self.0 {
            map.serialize_entry(name, view)?;
        }
        map.end()
    }
}

/// What a parameter's value is: a client builds its field from this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ParamType {
    /// A number with a fraction (a slider between `min` and `max`).
    Float,
    /// A whole number.
    Integer,
    /// A string of at most `max_length` characters.
    Text,
    /// Up to `max_items` strings of at most `max_length` characters each.
    List,
    /// Structured output: `{"type": "json_object"}` or `{"type": "json_schema", "json_schema":
    /// {name, schema, strict?}}`; `max_length` is the most bytes of the schema.
    #[serde(rename = "response_format")]
    ResponseFormat,
}

/// Whether a parameter is accepted and, if so, its bounds (absent: none).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ParamView {
    #[serde(rename = "type")]
    pub kind: ParamType,
    pub accepted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// `min` itself is not allowed (the value must be greater).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub min_exclusive: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// The value used when the request sets none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<f64>,
    /// For lists: the most items.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_items: Option<usize>,
    /// For text (or each item of a list): the most characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_length: Option<usize>,
    /// Why it is not accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LimitsView {
    /// The longest user message, in characters.
    pub max_message_length: usize,
    /// How many earlier messages are sent with a new one.
    pub max_conversation_history: usize,
}

impl ModelsView {
    pub fn of(catalog: &Catalog) -> Self {
        ModelsView {
            demo: catalog.is_demo(),
            default_model: catalog.default_model(),
            models: catalog
                .models()
                .iter()
                .map(|m| describe_model(m, catalog.default_temperature()))
                .collect(),
            limits: LimitsView {
                max_message_length: catalog.max_message_length(),
                max_conversation_history: catalog.max_history(),
            },
        }
    }
}

fn describe_model(model: &ModelInfo, default_temperature: Option<f64>) -> ModelView {
    let parameters = Param::all()
        .filter(|p| *p != Param::MODEL)
        .map(|param| {
            (
                param.name(),
                describe_param(model, param, default_temperature),
            )
        })
        .collect();
    let continues = model.kind.continues();
    ModelView {
        id: model.id.clone(),
        label: model.label.clone(),
        kind: model.kind.name().to_owned(),
        max_tokens: model.max_tokens,
        parameters: ParametersView(parameters),
        continues: ContinueView {
            supported: continues.is_ok(),
            reason: continues.err().map(str::to_owned),
        },
        source: model.source.into(),
        reachable: model.reachable(),
    }
}

/// A whole-number bound as clients see it (none for the whole 64-bit range).
fn bound(value: i64) -> Option<f64> {
    (value != i64::MIN && value != i64::MAX).then_some(value as f64)
}

fn describe_param(model: &ModelInfo, param: Param, default_temperature: Option<f64>) -> ParamView {
    let mut view = match model.kind.shape(param) {
        Shape::Float {
            min,
            min_exclusive,
            max,
        } => ParamView {
            min: Some(min),
            min_exclusive,
            max: Some(max),
            ..ParamView::new(ParamType::Float)
        },
        Shape::Integer { min, max } => ParamView {
            min: bound(min),
            max: bound(max),
            ..ParamView::new(ParamType::Integer)
        },
        Shape::Text { max_chars, .. } => ParamView {
            max_length: Some(max_chars),
            ..ParamView::new(ParamType::Text)
        },
        Shape::List {
            max_items,
            max_chars,
        } => ParamView {
            max_items: Some(max_items),
            max_length: Some(max_chars),
            ..ParamView::new(ParamType::List)
        },
        Shape::ResponseFormat { max_schema_bytes } => ParamView {
            max_length: Some(max_schema_bytes),
            ..ParamView::new(ParamType::ResponseFormat)
        },
    };
    if param == Param::MAX_TOKENS {
        view.max = Some(f64::from(model.max_tokens));
    }
    if param == Param::TEMPERATURE {
        view.default = default_temperature;
    }
    if !model.kind.accepts(param) {
        return ParamView {
            reason: Some(format!(
                "not accepted by this model's upstream ({})",
                model.kind.name()
            )),
            ..ParamView::new(view.kind)
        };
    }
    view.accepted = true;
    view
}

impl ParamView {
    fn new(kind: ParamType) -> Self {
        Self {
            kind,
            accepted: false,
            min: None,
            min_exclusive: false,
            max: None,
            default: None,
            max_items: None,
            max_length: None,
            reason: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn catalog(vars: &[(&str, &str)]) -> Catalog {
        let mut all = vec![
            ("OPENAI_API_BASE_URL", "http://127.0.0.1:9/v1"),
            ("AVAILABLE_MODELS", "gpt-a,gpt-b"),
            ("MODEL_MAX_TOKENS", "1000"),
        ];
        all.extend_from_slice(vars);
        Catalog::for_tests(&all)
    }

    #[test]
    fn no_upstream_is_no_models_and_the_limits() {
        let empty = Catalog::for_tests(&[]);
        let view = serde_json::to_value(ModelsView::of(&empty)).expect("serializes");
        assert_eq!(view["models"], json!([]));
        assert_eq!(view["default_model"], Value::Null);
        assert_eq!(
            view["limits"],
            json!({ "max_message_length": 8000, "max_conversation_history": 50 })
        );
    }

    #[test]
    fn each_parameter_of_the_table_is_described_in_its_order() {
        let catalog = catalog(&[("DEFAULT_TEMPERATURE", "0.7")]);
        let view: Value = serde_json::to_value(ModelsView::of(&catalog)).expect("serializes");
        assert_eq!(view["demo"], false);
        assert_eq!(view["default_model"], "gpt-a");
        let model = &view["models"][0];
        assert_eq!(
            (&model["id"], &model["kind"], &model["max_tokens"]),
            (&json!("gpt-a"), &json!("openai"), &json!(1000))
        );
        let p = &model["parameters"];
        assert_eq!(
            p["temperature"],
            json!({ "type": "float", "accepted": true, "min": 0.0, "max": 2.0, "default": 0.7 })
        );
        assert_eq!(
            p["top_p"],
            json!({ "type": "float", "accepted": true, "min": 0.0, "min_exclusive": true, "max": 1.0 })
        );
        let refused = |kind| json!({ "type": kind, "accepted": false, "reason": "not accepted by this model's upstream (openai)" });
        assert_eq!(
            (&p["top_k"], &p["repetition_penalty"]),
            (&refused("integer"), &refused("float"))
        );
        assert_eq!(
            p["max_tokens"],
            json!({ "type": "integer", "accepted": true, "min": 1.0, "max": 1000.0 })
        );
        assert_eq!(
            p["presence_penalty"],
            json!({ "type": "float", "accepted": true, "min": -2.0, "max": 2.0 })
        );
        assert_eq!(p["seed"], json!({ "type": "integer", "accepted": true }));
        assert_eq!(
            p["stop"],
            json!({ "type": "list", "accepted": true, "max_items": 4, "max_length": 256 })
        );
        assert_eq!(
            p["system_prompt"],
            json!({ "type": "text", "accepted": true, "max_length": 16000 })
        );
        // Every row but `model` (chosen from the list of models), in the table's order.
        let names: Vec<&str> = ModelsView::of(&catalog).models[0]
            .parameters
            .0
            .iter()
            .map(|(name, _)| *name)
            .collect();
        let table: Vec<&str> = Param::all()
            .map(Param::name)
            .filter(|name| *name != "model")
            .collect();
        assert_eq!(names, table);
        let serialized = serde_json::to_string(&ModelsView::of(&catalog)).expect("serializes");
        assert!(serialized.find("\"temperature\"") < serialized.find("\"system_prompt\""));
    }
}
