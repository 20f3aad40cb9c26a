//! Checking the parameters a request asks for, and turning them into those that will be sent:
//! the one validating entry point for parameters (the table's ranges, then the catalog's
//! models and limits).

use std::sync::Arc;

use super::{Catalog, ModelInfo};
use crate::domain::{FieldErrors, Param, ParamValue, SamplingParams, params::field_key};

/// What a generation runs with: the model, and exactly the parameters sent to it.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub model: Arc<ModelInfo>,
    pub params: SamplingParams,
    /// The prompt ends with the start of the answer, to be continued (assistant prefill).
    pub prefill: bool,
}

impl Catalog {
    /// Every rule that does not need a model chosen: the table's ranges, a named model exists,
    /// `max_tokens` within the limit of the named model (else the default one). Errors are
    /// keyed `"<prefix>.<name>"`. For a chat's defaults, which are resolved only when used.
    pub fn validate(&self, params: &SamplingParams, prefix: &str) -> Result<(), FieldErrors> {
        let mut errors = params.check(prefix).err().unwrap_or_default();
        let models = self.models();
        let default = self.default_model();
        let model_key = field_key(prefix, Param::MODEL.name());
        let model = match params.model() {
            Some(id) => {
                let found = models.iter().find(|m| m.id == id);
                if found.is_none() && !errors.contains_key(&model_key) {
                    errors.insert(model_key, format!("unknown model `{id}`"));
                }
                found
            }
            None => default
                .as_deref()
                .and_then(|id| models.iter().find(|m| m.id == id)),
        };
        // What the model's upstream really reads (llama.cpp's seed is a uint32); reported
        // only where the table's own range let the value through.
        if let Some(model) = model
            && let Err(narrower) = params.check_with(prefix, |param| model.kind.shape(param))
        {
            for (key, problem) in narrower {
                errors.entry(key).or_insert_with(|| {
                    format!(
                        "{problem} for this model's upstream ({})",
                        model.kind.name()
                    )
                });
            }
        }
        if let (Some(model), Some(requested)) = (model, params.integer(Param::MAX_TOKENS))
            && requested > i64::from(model.max_tokens)
        {
            let problem = format!("must be at most {} for this model", model.max_tokens);
            errors.insert(field_key(prefix, Param::MAX_TOKENS.name()), problem);
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// What a generation will use: [`Catalog::validate`]d, the model defaulted to the default
    /// model and `temperature` to `DEFAULT_TEMPERATURE`, and only what will be sent: the
    /// parameters the model's upstream does not accept are removed.
    pub fn resolve(&self, params: &SamplingParams, prefix: &str) -> Result<Resolved, FieldErrors> {
        let mut errors = self.validate(params, prefix).err().unwrap_or_default();
        let default = self.default_model();
        let models = self.models();
        let id = params.model().or(default.as_deref());
        let model = id.and_then(|id| models.iter().find(|m| m.id == id));
        if id.is_none() {
            let problem = "no model is configured on this server".to_owned();
            errors.insert(field_key(prefix, Param::MODEL.name()), problem);
        }
        let Some(model) = model.filter(|_| errors.is_empty()) else {
            return Err(errors);
        };
        let mut resolved = params.clone();
        resolved.set(Param::MODEL, ParamValue::Text(model.id.clone()));
        if resolved.get(Param::TEMPERATURE).is_none()
            && let Some(default) = self.default_temperature()
        {
            resolved.set(Param::TEMPERATURE, ParamValue::Float(default));
        }
        for param in Param::all().filter(|p| !model.kind.accepts(*p)) {
            resolved.remove(param);
        }
        Ok(Resolved {
            model: Arc::clone(model),
            params: resolved,
            prefill: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn params_of(value: serde_json::Value) -> SamplingParams {
        SamplingParams::from_json(value).expect("valid parameters")
    }

    fn env_catalog(extra: &[(&str, &str)]) -> Catalog {
        let mut vars = vec![
            ("OPENAI_API_BASE_URL", "http://127.0.0.1:9/v1"),
            ("AVAILABLE_MODELS", "gpt-a,gpt-b"),
            ("MODEL_MAX_TOKENS", "1000"),
        ];
        vars.extend_from_slice(extra);
        Catalog::for_tests(&vars)
    }

    #[test]
    fn resolve_defaults_the_model_and_temperature() {
        let catalog = env_catalog(&[("DEFAULT_TEMPERATURE", "0.4"), ("UPSTREAM_DEMO", "true")]);
        assert!(!catalog.is_empty() && catalog.is_demo());
        let Resolved { model, params, .. } = catalog
            .resolve(&SamplingParams::default(), "p")
            .expect("resolves");
        assert_eq!(model.id, "gpt-a");
        assert_eq!(params.model(), Some("gpt-a"));
        assert_eq!(params.number(Param::TEMPERATURE), Some(0.4));
        let asked = params_of(json!({ "model": "gpt-b", "temperature": 1.5 }));
        let Resolved { model, params, .. } = catalog.resolve(&asked, "p").expect("resolves");
        assert_eq!(
            (model.id.as_str(), params.number(Param::TEMPERATURE)),
            ("gpt-b", Some(1.5))
        );
        assert_eq!(catalog.model("gpt-b").map(|m| m.max_tokens), Some(1000));
        assert!(catalog.model("nope").is_none());
    }

    #[test]
    fn resolve_refuses_unknown_models_and_too_many_tokens() {
        let catalog = env_catalog(&[]);
        let unknown = params_of(json!({ "model": "gpt-z" }));
        let errors = catalog
            .resolve(&unknown, "parameters")
            .expect_err("unknown");
        assert_eq!(errors["parameters.model"], "unknown model `gpt-z`");
        let at_limit = params_of(json!({ "max_tokens": 1000 }));
        assert!(catalog.resolve(&at_limit, "parameters").is_ok());
        assert!(catalog.validate(&at_limit, "parameters").is_ok());
        let over = params_of(json!({ "max_tokens": 1001, "temperature": 9.0 }));
        assert!(catalog.validate(&over, "").is_err());
        let errors = catalog.resolve(&over, "").expect_err("over the limit");
        assert_eq!(errors["max_tokens"], "must be at most 1000 for this model");
        assert_eq!(
            errors["temperature"], "must be between 0 and 2",
            "check() errors are included"
        );
    }

    #[test]
    fn resolve_drops_what_the_upstream_does_not_accept() {
        let all = params_of(json!({
            "top_k": 5, "repetition_penalty": 1.2, "max_tokens": 10, "seed": 3, "system_prompt": "sys"
        }));
        let named = |name| Param::from_name(name).expect("a parameter");
        let Resolved { params, .. } = env_catalog(&[]).resolve(&all, "p").expect("resolves");
        assert_eq!(
            (
                params.get(named("top_k")),
                params.get(named("repetition_penalty"))
            ),
            (None, None)
        );
        assert_eq!(
            (
                params.integer(Param::MAX_TOKENS),
                params.integer(named("seed"))
            ),
            (Some(10), Some(3))
        );
        assert_eq!(params.system_prompt(), Some("sys"));
        let Resolved { params, .. } = env_catalog(&[("UPSTREAM_KIND", "vllm")])
            .resolve(&all, "p")
            .expect("resolves");
        assert_eq!(
            (
                params.integer(named("top_k")),
                params.number(named("repetition_penalty"))
            ),
            (Some(5), Some(1.2))
        );
    }

    #[test]
    fn a_seed_outside_what_the_models_upstream_reads_is_refused() {
        let seed = |value: i64| params_of(json!({ "seed": value }));
        let llamacpp = env_catalog(&[("UPSTREAM_KIND", "llamacpp")]);
        for refused in [-1, 4_294_967_295, 4_294_967_296 + 7] {
            let errors = llamacpp
                .validate(&seed(refused), "parameters")
                .expect_err("out of llama.cpp's range");
            assert!(
                errors["parameters.seed"].contains("(llamacpp)"),
                "{refused}: {errors:?}"
            );
        }
        for accepted in [0, 7, 4_294_967_294] {
            assert!(llamacpp.resolve(&seed(accepted), "p").is_ok(), "{accepted}");
        }
        let tgi = env_catalog(&[("UPSTREAM_KIND", "tgi")]);
        assert!(tgi.validate(&seed(-1), "p").is_err());
        // The others read a 64-bit integer.
        for kind in ["openai", "vllm", "ollama"] {
            let catalog = env_catalog(&[("UPSTREAM_KIND", kind)]);
            assert!(catalog.resolve(&seed(-1), "p").is_ok(), "{kind}");
            assert!(catalog.resolve(&seed(i64::MAX), "p").is_ok(), "{kind}");
        }
    }

    #[test]
    fn min_p_is_kept_where_the_upstream_reads_it() {
        let asked = params_of(json!({ "min_p": 0.05 }));
        let min_p = Param::from_name("min_p").expect("a row");
        for (kind, kept) in [
            ("openai", false),
            ("vllm", true),
            ("llamacpp", true),
            ("ollama", false),
            ("tgi", false),
        ] {
            let Resolved { params, .. } = env_catalog(&[("UPSTREAM_KIND", kind)])
                .resolve(&asked, "p")
                .expect("resolves");
            assert_eq!(params.number(min_p), kept.then_some(0.05), "{kind}");
        }
        for refused in [-0.1, 1.01] {
            let errors = env_catalog(&[("UPSTREAM_KIND", "vllm")])
                .validate(&params_of(json!({ "min_p": refused })), "")
                .expect_err("out of range");
            assert_eq!(errors["min_p"], "must be between 0 and 1");
        }
    }
}
