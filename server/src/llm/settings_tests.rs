use std::collections::HashMap;

use secrecy::ExposeSecret;

use super::*;

pub(crate) fn load(vars: &[(&str, &str)]) -> Result<LlmSettings, String> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    LlmSettings::from_lookup(&|k| map.get(k).cloned()).map_err(|e| e.to_string())
}

#[test]
fn defaults_describe_no_upstream() {
    let s = load(&[]).expect("defaults load");
    assert_eq!(s.api_base_url, None);
    assert!(s.api_key.is_none());
    assert_eq!(s.kind, UpstreamKind::OpenAi);
    assert_eq!(s.default_model, None);
    assert!(s.available_models.is_empty());
    assert_eq!(s.default_temperature, None);
    assert_eq!(s.model_max_tokens, 4096);
    assert_eq!(s.models_file, None);
    assert!(!s.demo);
    assert_eq!(
        (s.max_message_length, s.max_conversation_history),
        (8000, 50)
    );
    assert_eq!(s.connect_timeout, Duration::from_secs(10));
    assert_eq!(s.first_token_timeout, Duration::from_secs(60));
    assert_eq!(s.idle_timeout, Duration::from_secs(30));
    assert_eq!(s.total_timeout, Duration::from_secs(600));
    assert_eq!(s.max_retries, 2);
    assert_eq!(s.max_retry_wait, Duration::from_secs(10));
}

#[test]
fn every_variable_is_read() {
    let s = load(&[
        ("OPENAI_API_BASE_URL", " http://gpu:8000/v1/ "),
        ("OPENAI_API_KEY", "sk-test"),
        ("UPSTREAM_KIND", "llama.cpp"),
        ("DEFAULT_MODEL", "b"),
        ("AVAILABLE_MODELS", "a, b,,a"),
        ("DEFAULT_TEMPERATURE", "0.3"),
        ("MODEL_MAX_TOKENS", "8192"),
        ("MODELS_FILE", "/etc/confab/models.json"),
        ("UPSTREAM_DEMO", "true"),
        ("MAX_MESSAGE_LENGTH", "100"),
        ("MAX_CONVERSATION_HISTORY", "5"),
        ("UPSTREAM_CONNECT_TIMEOUT_MS", "1"),
        ("UPSTREAM_FIRST_TOKEN_TIMEOUT_MS", "2"),
        ("UPSTREAM_IDLE_TIMEOUT_MS", "3"),
        ("UPSTREAM_TOTAL_TIMEOUT_MS", "4"),
        ("UPSTREAM_MAX_RETRIES", "0"),
        ("UPSTREAM_MAX_RETRY_WAIT_MS", "0"),
    ])
    .expect("loads");
    assert_eq!(s.api_base_url.as_deref(), Some("http://gpu:8000/v1"));
    assert_eq!(
        s.api_key.as_ref().map(|k| k.expose_secret()),
        Some("sk-test")
    );
    assert_eq!(s.kind, UpstreamKind::LlamaCpp);
    assert_eq!(s.default_model.as_deref(), Some("b"));
    assert_eq!(s.available_models, ["a", "b"]);
    assert_eq!(s.default_temperature, Some(0.3));
    assert_eq!(s.model_max_tokens, 8192);
    assert_eq!(
        s.models_file,
        Some(PathBuf::from("/etc/confab/models.json"))
    );
    assert!(s.demo);
    assert_eq!((s.max_message_length, s.max_conversation_history), (100, 5));
    assert_eq!(s.connect_timeout, Duration::from_millis(1));
    assert_eq!(s.first_token_timeout, Duration::from_millis(2));
    assert_eq!(s.idle_timeout, Duration::from_millis(3));
    assert_eq!(s.total_timeout, Duration::from_millis(4));
    assert_eq!((s.max_retries, s.max_retry_wait), (0, Duration::ZERO));
    assert!(
        !format!("{s:?}").contains("sk-test"),
        "the key leaks in Debug"
    );
}

#[test]
fn models_default_to_each_other() {
    let base = ("OPENAI_API_BASE_URL", "https://api.example.com/v1");
    let s = load(&[base, ("AVAILABLE_MODELS", "x,y")]).expect("loads");
    assert_eq!(s.default_model.as_deref(), Some("x"));
    let s = load(&[base, ("DEFAULT_MODEL", "z")]).expect("loads");
    assert_eq!(s.available_models, ["z"]);
    // Without a base URL, DEFAULT_MODEL may name a model of MODELS_FILE.
    let s = load(&[("DEFAULT_MODEL", "z"), ("OPENAI_API_BASE_URL", "")]).expect("loads");
    assert!(s.available_models.is_empty());
}

#[test]
fn errors_name_the_variable() {
    let base = ("OPENAI_API_BASE_URL", "http://h/v1");
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("OPENAI_API_BASE_URL", "gpu:8000")],
            "OPENAI_API_BASE_URL:",
        ),
        (&[base], "DEFAULT_MODEL:"),
        (&[("AVAILABLE_MODELS", "a")], "AVAILABLE_MODELS:"),
        (&[("UPSTREAM_KIND", "gpt")], "UPSTREAM_KIND:"),
        (&[("DEFAULT_TEMPERATURE", "2.5")], "DEFAULT_TEMPERATURE:"),
        (&[("DEFAULT_TEMPERATURE", "warm")], "DEFAULT_TEMPERATURE:"),
        (&[("MODEL_MAX_TOKENS", "0")], "MODEL_MAX_TOKENS:"),
        (&[("UPSTREAM_DEMO", "yes")], "UPSTREAM_DEMO:"),
        (&[("MAX_MESSAGE_LENGTH", "-1")], "MAX_MESSAGE_LENGTH:"),
        (
            &[("MAX_CONVERSATION_HISTORY", "0")],
            "MAX_CONVERSATION_HISTORY:",
        ),
        (
            &[("UPSTREAM_CONNECT_TIMEOUT_MS", "0")],
            "UPSTREAM_CONNECT_TIMEOUT_MS:",
        ),
        (
            &[("UPSTREAM_FIRST_TOKEN_TIMEOUT_MS", "soon")],
            "UPSTREAM_FIRST_TOKEN_TIMEOUT_MS:",
        ),
        (
            &[("UPSTREAM_IDLE_TIMEOUT_MS", "0")],
            "UPSTREAM_IDLE_TIMEOUT_MS:",
        ),
        (
            &[("UPSTREAM_TOTAL_TIMEOUT_MS", "0")],
            "UPSTREAM_TOTAL_TIMEOUT_MS:",
        ),
        (&[("UPSTREAM_MAX_RETRIES", "-1")], "UPSTREAM_MAX_RETRIES:"),
        (
            &[("UPSTREAM_MAX_RETRY_WAIT_MS", "1.5")],
            "UPSTREAM_MAX_RETRY_WAIT_MS:",
        ),
    ];
    for (vars, prefix) in cases {
        let error = load(vars).expect_err(prefix);
        assert!(error.starts_with(prefix), "{vars:?}: {error}");
    }
}

#[test]
fn the_upstream_url_is_read_under_the_names_other_tools_use() {
    for name in ["OPENAI_API_BASE_URL", "OPENAI_BASE_URL", "OPENAI_API_URL"] {
        let s = load(&[(name, "http://gpu:8000/v1/"), ("DEFAULT_MODEL", "m")]).expect(name);
        assert_eq!(
            s.api_base_url.as_deref(),
            Some("http://gpu:8000/v1"),
            "{name}"
        );
    }
    // The same URL under two names (spaces and a trailing slash aside) is fine.
    let s = load(&[
        ("OPENAI_API_BASE_URL", "http://gpu:8000/v1"),
        ("OPENAI_BASE_URL", " http://gpu:8000/v1/ "),
        ("DEFAULT_MODEL", "m"),
    ])
    .expect("they agree");
    assert_eq!(s.api_base_url.as_deref(), Some("http://gpu:8000/v1"));
    // A malformed alias is named as such.
    let error =
        load(&[("OPENAI_API_URL", "gpu:8000"), ("DEFAULT_MODEL", "m")]).expect_err("not a URL");
    assert!(error.starts_with("OPENAI_API_URL"), "{error}");
}

#[test]
fn two_names_for_the_upstream_url_that_disagree_stop_the_start_and_name_both() {
    let error = load(&[
        ("OPENAI_API_BASE_URL", "http://gpu-a:8000/v1"),
        ("OPENAI_API_URL", "http://gpu-b:8000/v1"),
        ("DEFAULT_MODEL", "m"),
    ])
    .expect_err("they disagree");
    assert!(
        error.contains("OPENAI_API_URL") && error.contains("OPENAI_API_BASE_URL"),
        "{error}"
    );
    assert!(
        !error.contains("gpu-a") && !error.contains("gpu-b"),
        "no values: {error}"
    );
    let error = load(&[
        ("OPENAI_BASE_URL", "http://gpu-a:8000/v1"),
        ("OPENAI_API_URL", "http://gpu-b:8000/v1"),
    ])
    .expect_err("they disagree");
    assert!(
        error.contains("OPENAI_API_URL") && error.contains("OPENAI_BASE_URL"),
        "{error}"
    );
}

#[test]
fn discovery_needs_a_url_and_then_no_model_list() {
    let s = load(&[
        ("OPENAI_API_BASE_URL", "http://ollama:11434/v1"),
        ("DISCOVER_MODELS", "true"),
        ("DISCOVER_INCLUDE", "llama*, qwen?:*"),
        ("DISCOVER_EXCLUDE", "*embed*"),
        ("DISCOVER_INTERVAL_SECS", "60"),
        ("UPSTREAM_LOAD_TIMEOUT_MS", "120000"),
    ])
    .expect("no DEFAULT_MODEL needed when discovering");
    assert!(s.discover && s.available_models.is_empty() && s.default_model.is_none());
    assert_eq!(s.discover_include, ["llama*", "qwen?:*"]);
    assert_eq!(s.discover_exclude, ["*embed*"]);
    assert_eq!(s.discover_interval, Duration::from_secs(60));
    assert_eq!(s.load_timeout, Duration::from_secs(120));
    let defaults = load(&[]).expect("defaults");
    assert_eq!(
        (
            defaults.discover,
            defaults.discover_interval,
            defaults.load_timeout
        ),
        (false, Duration::from_secs(300), Duration::from_secs(300))
    );
    for (vars, name) in [
        (vec![("DISCOVER_MODELS", "true")], "DISCOVER_MODELS"),
        (
            vec![
                ("OPENAI_API_BASE_URL", "http://h/v1"),
                ("DISCOVER_MODELS", "true"),
                ("DISCOVER_INCLUDE", "a["),
            ],
            "DISCOVER_INCLUDE",
        ),
        (
            vec![
                ("OPENAI_API_BASE_URL", "http://h/v1"),
                ("DISCOVER_MODELS", "true"),
                ("DISCOVER_INTERVAL_SECS", "0"),
            ],
            "DISCOVER_INTERVAL_SECS",
        ),
    ] {
        let error = load(&vars).expect_err(name);
        assert!(error.contains(name), "{error}");
    }
}
