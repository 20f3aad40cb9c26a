//! Turning the parameters a request asks for into those that will be sent.

use std::sync::Arc;

use super::{Catalog, ModelInfo, Param};
use crate::{domain::SamplingParams, error::FieldErrors};

impl Catalog {
    /// The parameters that will be used: `model` defaulted to the default model, `temperature`
    /// to `DEFAULT_TEMPERATURE` when unset. Errors (keyed `"<prefix>.<field>"`, as
    /// [`SamplingParams::check`], whose errors are included) when the model is unknown or
    /// `max_tokens` exceeds its limit. The returned params contain only what will be sent:
    /// parameters the model's upstream does not accept are removed (`system_prompt` is kept).
    pub fn resolve(
        &self,
        params: &SamplingParams,
        prefix: &str,
    ) -> Result<(Arc<ModelInfo>, SamplingParams), FieldErrors> {
        let mut errors = params.check(prefix).err().unwrap_or_default();
        let id = params.model.as_deref().or(self.default_model());
        let model = match id {
            None => {
                let problem = "no model is configured on this server".to_owned();
                errors.insert(field_key(prefix, "model"), problem);
                None
            }
            Some(id) => {
                let found = self.models().iter().find(|m| m.id == id);
                if found.is_none() && !errors.contains_key(&field_key(prefix, "model")) {
                    errors.insert(field_key(prefix, "model"), format!("unknown model `{id}`"));
                }
                found
            }
        };
        if let (Some(model), Some(requested)) = (model, params.max_tokens)
            && requested > model.max_tokens
        {
            let problem = format!("must be at most {} for this model", model.max_tokens);
            errors.insert(field_key(prefix, "max_tokens"), problem);
        }
        let Some(model) = model.filter(|_| errors.is_empty()) else {
            return Err(errors);
        };
        let mut resolved = params.clone();
        resolved.model = Some(model.id.clone());
        resolved.temperature = resolved.temperature.or(self.default_temperature());
        for param in Param::ALL {
            if !model.kind.accepts(param) {
                param.clear(&mut resolved);
            }
        }
        Ok((model.clone(), resolved))
    }
}

/// `"<prefix>.<field>"` (as `SamplingParams::check` keys its errors).
fn field_key(prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_owned()
    } else {
        format!("{prefix}.{field}")
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::llm::LlmSettings;

    fn env_catalog(extra: &[(&str, &str)]) -> Catalog {
        let mut vars: HashMap<&str, &str> = HashMap::from([
            ("OPENAI_API_BASE_URL", "http://127.0.0.1:9/v1"),
            ("AVAILABLE_MODELS", "gpt-a,gpt-b"),
            ("MODEL_MAX_TOKENS", "1000"),
        ]);
        vars.extend(extra.iter().copied());
        let settings = LlmSettings::from_lookup(&|k| vars.get(k).map(|v| (*v).to_owned()));
        Catalog::from_settings(&settings.expect("settings load")).expect("catalog builds")
    }

    #[test]
    fn resolve_defaults_the_model_and_temperature() {
        let catalog = env_catalog(&[("DEFAULT_TEMPERATURE", "0.4"), ("UPSTREAM_DEMO", "true")]);
        assert!(!catalog.is_empty() && catalog.is_demo());
        let (model, params) = catalog
            .resolve(&SamplingParams::default(), "p")
            .expect("resolves");
        assert_eq!(model.id, "gpt-a");
        assert_eq!(params.model.as_deref(), Some("gpt-a"));
        assert_eq!(params.temperature, Some(0.4));
        let asked = SamplingParams {
            model: Some("gpt-b".into()),
            temperature: Some(1.5),
            ..Default::default()
        };
        let (model, params) = catalog.resolve(&asked, "p").expect("resolves");
        assert_eq!(
            (model.id.as_str(), params.temperature),
            ("gpt-b", Some(1.5))
        );
        assert_eq!(catalog.model("gpt-b").map(|m| m.max_tokens), Some(1000));
        assert!(catalog.model("nope").is_none());
    }

    #[test]
    fn resolve_refuses_unknown_models_and_too_many_tokens() {
        let catalog = env_catalog(&[]);
        let unknown = SamplingParams {
            model: Some("gpt-z".into()),
            ..Default::default()
        };
        let errors = catalog
            .resolve(&unknown, "parameters")
            .expect_err("unknown");
        assert_eq!(errors["parameters.model"], "unknown model `gpt-z`");
        let at_limit = SamplingParams {
            max_tokens: Some(1000),
            ..Default::default()
        };
        assert!(catalog.resolve(&at_limit, "parameters").is_ok());
        let over = SamplingParams {
            max_tokens: Some(1001),
            temperature: Some(9.0),
            ..Default::default()
        };
        let errors = catalog.resolve(&over, "").expect_err("over the limit");
        assert_eq!(errors["max_tokens"], "must be at most 1000 for this model");
        assert_eq!(
            errors["temperature"], "must be between 0 and 2",
            "check() errors are included"
        );
    }

    #[test]
    fn resolve_drops_what_the_upstream_does_not_accept() {
        let all = SamplingParams {
            top_k: Some(5),
            repetition_penalty: Some(1.2),
            max_tokens: Some(10),
            seed: Some(3),
            system_prompt: Some("sys".into()),
            ..Default::default()
        };
        let (_, params) = env_catalog(&[]).resolve(&all, "p").expect("resolves");
        assert_eq!((params.top_k, params.repetition_penalty), (None, None));
        assert_eq!((params.max_tokens, params.seed), (Some(10), Some(3)));
        assert_eq!(params.system_prompt.as_deref(), Some("sys"));
        let (_, params) = env_catalog(&[("UPSTREAM_KIND", "vllm")])
            .resolve(&all, "p")
            .expect("resolves");
        assert_eq!(
            (params.top_k, params.repetition_penalty),
            (Some(5), Some(1.2))
        );
    }
}
