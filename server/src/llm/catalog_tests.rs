use std::{collections::HashMap, path::PathBuf};

use super::*;
use crate::domain::{Param, SamplingParams};

fn settings(vars: &[(&str, &str)]) -> LlmSettings {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    LlmSettings::from_lookup(&|k| map.get(k).cloned()).expect("settings load")
}

/// Writes `content` to a file of its own in the temp dir.
fn models_file(name: &str, content: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("confab-{}-{name}.json", std::process::id()));
    std::fs::write(&path, content).expect("write temp models file");
    path
}

fn file_catalog(name: &str, content: &str, vars: &[(&str, &str)]) -> anyhow::Result<Catalog> {
    let path = models_file(name, content);
    let path_text = path.display().to_string();
    let mut all = vec![("MODELS_FILE", path_text.as_str())];
    all.extend_from_slice(vars);
    let secrets = |name: &str| (name == "LOCAL_KEY").then(|| "sk-secret-file".to_owned());
    let catalog = Catalog::from_settings_with(&settings(&all), &secrets);
    let _ = std::fs::remove_file(path);
    catalog
}

const TWO_ENDPOINTS: &str = r#"{
  "endpoints": [
    {"name": "local", "base_url": "http://127.0.0.1:9/v1/", "api_key_env": "LOCAL_KEY", "kind": "vllm",
     "models": [{"id": "llama-3-8b", "label": "Llama 3 8B", "max_tokens": 8192}, {"id": "qwen"}]},
    {"name": "odd", "base_url": "http://127.0.0.1:10", "kind": {"params": {"temperature": "temp", "top_k": null}},
     "models": [{"id": "odd-1"}]}
  ],
  "default_model": "qwen"
}"#;

#[test]
fn no_base_url_and_no_file_is_an_empty_catalog() {
    let catalog = Catalog::from_settings(&settings(&[])).expect("builds");
    assert!(catalog.is_empty());
    assert_eq!(catalog.default_model(), None);
    let errors = catalog
        .resolve(&SamplingParams::default(), "parameters")
        .expect_err("no model");
    assert_eq!(
        errors["parameters.model"],
        "no model is configured on this server"
    );
    assert!(catalog.models().is_empty());
    assert_eq!(
        (catalog.max_message_length(), catalog.max_history()),
        (8000, 50)
    );
}

#[test]
fn models_file_adds_endpoints_with_their_kinds_and_keys() {
    let catalog = file_catalog("two", TWO_ENDPOINTS, &[]).expect("builds");
    assert_eq!(catalog.default_model().as_deref(), Some("qwen"));
    let llama = catalog.model("llama-3-8b").expect("llama");
    assert_eq!(
        (llama.label.as_str(), llama.max_tokens, &llama.kind),
        ("Llama 3 8B", 8192, &UpstreamKind::Vllm)
    );
    let qwen = catalog.model("qwen").expect("qwen");
    assert_eq!((qwen.label.as_str(), qwen.max_tokens), ("qwen", 4096));
    let odd = catalog.model("odd-1").expect("odd");
    assert_eq!(odd.kind.wire_name(Param::TEMPERATURE), Some("temp"));
    assert_eq!(
        odd.kind.wire_name(Param::from_name("seed").expect("seed")),
        None
    );
    let debug = format!("{catalog:?}");
    assert!(
        debug.contains("has_api_key: true") && !debug.contains("sk-secret"),
        "{debug}"
    );
    // Env-configured models come first; DEFAULT_MODEL wins over the file's default.
    let both = file_catalog(
        "both",
        TWO_ENDPOINTS,
        &[
            ("OPENAI_API_BASE_URL", "http://127.0.0.1:9/v1"),
            ("AVAILABLE_MODELS", "gpt-a"),
        ],
    )
    .expect("builds");
    let models = both.models();
    let ids: Vec<&str> = models.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["gpt-a", "llama-3-8b", "qwen", "odd-1"]);
    assert_eq!(both.default_model().as_deref(), Some("gpt-a"));
}

#[test]
fn inconsistent_setups_fail_with_a_clear_error() {
    let missing_key = TWO_ENDPOINTS.replace("LOCAL_KEY", "OTHER_KEY");
    let duplicate = TWO_ENDPOINTS.replace("odd-1", "qwen");
    let file_default =
        TWO_ENDPOINTS.replace(r#""default_model": "qwen""#, r#""default_model": "nope""#);
    let bad_url = TWO_ENDPOINTS.replace("http://127.0.0.1:10", "127.0.0.1:10");
    type Vars<'a> = &'a [(&'a str, &'a str)];
    let cases: [(&str, &str, Vars, &str); 6] = [
        ("key", &missing_key, &[], "OTHER_KEY, which is not set"),
        (
            "dup",
            &duplicate,
            &[],
            "`qwen` is configured more than once",
        ),
        ("url", &bad_url, &[], "expected an http:// or https:// URL"),
        ("json", "{\"endpoints\": [", &[], "line 1"),
        (
            "default",
            TWO_ENDPOINTS,
            &[("DEFAULT_MODEL", "gpt-9")],
            "DEFAULT_MODEL: `gpt-9` is not one of",
        ),
        (
            "file-default",
            &file_default,
            &[],
            "MODELS_FILE: default_model: `nope`",
        ),
    ];
    for (name, content, vars, expected) in cases {
        let error = format!("{:#}", file_catalog(name, content, vars).expect_err(name));
        assert!(error.contains(expected), "{name}: {error}");
    }
    let missing = settings(&[("MODELS_FILE", "/nonexistent/confab-models.json")]);
    let error = format!(
        "{:#}",
        Catalog::from_settings(&missing).expect_err("missing file")
    );
    assert!(error.starts_with("MODELS_FILE: cannot read"), "{error}");
}

#[test]
fn a_discovering_endpoint_starts_with_its_configured_models_only() {
    let catalog = file_catalog(
        "discover",
        r#"{"endpoints":[{"name":"ollama","base_url":"http://127.0.0.1:9/v1","kind":"ollama",
            "discover":true,"exclude":["*embed*"],"models":[{"id":"llama3","label":"Llama 3"}]}]}"#,
        &[],
    )
    .expect("builds");
    assert!(catalog.discovers());
    let models = catalog.models();
    assert_eq!(models.len(), 1);
    assert_eq!(
        (models[0].label.as_str(), models[0].source),
        ("Llama 3", Source::Configured)
    );
    assert_eq!(models[0].endpoint_name(), "ollama");
    // A default that is not configured may still be discovered.
    let later = file_catalog(
        "discover-default",
        r#"{"endpoints":[{"name":"o","base_url":"http://127.0.0.1:9/v1","discover":true}],
            "default_model":"qwen3"}"#,
        &[],
    )
    .expect("a default to be discovered");
    assert!(later.is_empty());
    assert_eq!(later.default_model().as_deref(), Some("qwen3"));
}
