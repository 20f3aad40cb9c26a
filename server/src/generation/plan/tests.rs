//! Planning, without a database: placement in the tree, the prompt, the parameters.

use serde_json::json;

use super::*;
use crate::{domain::Param, llm::Catalog};

fn catalog(vars: &[(&str, &str)]) -> Catalog {
    let mut all = vec![
        ("OPENAI_API_BASE_URL", "http://127.0.0.1:9/v1"),
        ("UPSTREAM_KIND", "vllm"),
        ("AVAILABLE_MODELS", "small,large"),
        ("MODEL_MAX_TOKENS", "1000"),
        ("MAX_MESSAGE_LENGTH", "20"),
        ("MAX_CONVERSATION_HISTORY", "3"),
    ];
    all.extend_from_slice(vars);
    Catalog::for_tests(&all)
}

fn params(value: serde_json::Value) -> SamplingParams {
    SamplingParams::from_json(value).expect("valid parameters")
}

/// A chat with the conversation q1 → a1 → q2 → a2 on screen, and a second answer to q1.
struct Fixture {
    chat: ChatDoc,
    messages: Vec<MessageDoc>,
}

impl Fixture {
    fn new() -> Self {
        let mut chat = ChatDoc::new(ObjectId::new(), None, params(json!({ "temperature": 0.3 })));
        let mut messages = Vec::new();
        let mut parent = None;
        for (role, text) in [
            (Role::User, "q1"),
            (Role::Assistant, "a1"),
            (Role::User, "q2"),
            (Role::Assistant, "a2"),
        ] {
            let mut m = MessageDoc::user(chat.id, chat.user_id, parent, text.into(), None);
            m.role = role;
            parent = Some(m.id);
            messages.push(m);
        }
        let mut other = MessageDoc::user(
            chat.id,
            chat.user_id,
            Some(messages[0].id),
            "a1 again".into(),
            None,
        );
        other.role = Role::Assistant;
        messages.push(other);
        chat.current_message_id = parent;
        chat.title = Some("Existing".into());
        Self { chat, messages }
    }

    fn id(&self, content: &str) -> ObjectId {
        self.messages
            .iter()
            .find(|m| m.content == content)
            .map(|m| m.id)
            .expect("a message of the fixture")
    }

    fn plan(&self, catalog: &Catalog, request: Request) -> Result<Plan, PlanError> {
        plan(catalog, &self.chat, &self.messages, request)
    }
}

fn new(content: &str) -> Request {
    Request::New {
        content: content.into(),
        parent_id: None,
        parameters: None,
        client_request_id: None,
    }
}

fn contents(prompt: &[Turn]) -> Vec<&str> {
    prompt.iter().map(|t| t.content.as_str()).collect()
}

#[test]
fn a_new_message_continues_the_branch_on_screen_with_its_history() {
    let f = Fixture::new();
    let plan = f.plan(&catalog(&[]), new("q3")).expect("plans");
    let user = plan.user_message.as_ref().expect("a user message");
    assert_eq!(user.parent_id, Some(f.id("a2")));
    assert_eq!(plan.answer.parent_id, Some(user.id));
    assert_eq!(plan.answer.status, messages::Status::Streaming);
    // The last three messages of the branch (MAX_CONVERSATION_HISTORY), the new one included.
    assert_eq!(
        contents(&plan.prompt),
        ["q2", "a2", "q3"].as_slice().to_vec()
    );
    assert_eq!(plan.chat_update.current_message_id, Some(plan.answer.id));
    assert_eq!(plan.chat_update.title, None, "the chat keeps its title");
}

#[test]
fn parameters_are_the_chats_overlaid_by_the_requests_resolved_once() {
    let f = Fixture::new();
    let request = Request::New {
        content: "q3".into(),
        parent_id: Some(f.id("q1")),
        parameters: Some(params(
            json!({ "model": "large", "top_k": 5, "system_prompt": "Be brief." }),
        )),
        client_request_id: Some("key".into()),
    };
    let plan = f.plan(&catalog(&[]), request).expect("plans");
    assert_eq!(plan.resolved.model.id, "large");
    let sent = &plan.resolved.params;
    assert_eq!(sent.number(Param::TEMPERATURE), Some(0.3), "from the chat");
    assert_eq!(
        sent.integer(Param::from_name("top_k").expect("top_k")),
        Some(5)
    );
    assert_eq!(plan.answer.parameters.as_ref(), Some(sent));
    assert_eq!(plan.answer.model.as_deref(), Some("large"));
    // Under q1, the system prompt first.
    assert_eq!(
        contents(&plan.prompt),
        ["Be brief.", "q1", "q3"].as_slice().to_vec()
    );
    assert_eq!(plan.prompt[0].role, Role::System);
    assert_eq!(plan.request_id.as_deref(), Some("key"));
    let user = plan.user_message.expect("a user message");
    assert_eq!(
        user.request_key,
        Some(messages::request_key(f.chat.id, "key"))
    );
}

#[test]
fn an_edit_is_a_sibling_and_a_regeneration_answers_the_same_question() {
    let f = Fixture::new();
    let edit = Request::Edit {
        message_id: f.id("q2"),
        content: "q2, better".into(),
        parameters: None,
    };
    let plan = f.plan(&catalog(&[]), edit).expect("plans");
    let user = plan.user_message.expect("a sibling of q2");
    assert_eq!(user.parent_id, Some(f.id("a1")));
    assert_eq!(
        contents(&plan.prompt),
        ["q1", "a1", "q2, better"].as_slice().to_vec()
    );

    for target in ["a2", "q2"] {
        let again = Request::Regenerate {
            message_id: f.id(target),
            parameters: None,
        };
        let plan = f.plan(&catalog(&[]), again).expect("plans");
        assert!(plan.user_message.is_none());
        assert_eq!(plan.answer.parent_id, Some(f.id("q2")), "{target}");
        assert_eq!(
            contents(&plan.prompt),
            ["q1", "a1", "q2"].as_slice().to_vec()
        );
    }
}

#[test]
fn an_untitled_chat_takes_its_first_questions_start() {
    let mut f = Fixture::new();
    f.chat.title = None;
    let plan = f
        .plan(&catalog(&[]), new("How do tides work?"))
        .expect("plans");
    assert_eq!(
        plan.chat_update.title,
        Some(Some(title::from_message("How do tides work?")))
    );
}

#[test]
fn what_breaks_a_rule_is_refused_before_anything_exists() {
    let f = Fixture::new();
    let c = catalog(&[]);
    let field = |result: Result<Plan, PlanError>| match result {
        Err(PlanError::Invalid(fields)) => fields.into_keys().collect::<Vec<_>>(),
        other => panic!("expected invalid fields, got {other:?}"),
    };
    assert_eq!(field(f.plan(&c, new("   "))), ["content"]);
    assert_eq!(field(f.plan(&c, new(&"x".repeat(21)))), ["content"]);
    let too_many = Request::Regenerate {
        message_id: f.id("a2"),
        parameters: Some(params(json!({ "max_tokens": 1001, "temperature": 3 }))),
    };
    assert_eq!(
        field(f.plan(&c, too_many)),
        ["parameters.max_tokens", "parameters.temperature"]
    );
    let elsewhere = Request::New {
        content: "q".into(),
        parent_id: Some(ObjectId::new()),
        parameters: None,
        client_request_id: None,
    };
    assert_eq!(field(f.plan(&c, elsewhere)), ["parent_id"]);
    let edit_answer = Request::Edit {
        message_id: f.id("a1"),
        content: "x".into(),
        parameters: None,
    };
    assert_eq!(field(f.plan(&c, edit_answer)), ["message_id"]);
    let gone = Request::Regenerate {
        message_id: ObjectId::new(),
        parameters: None,
    };
    assert_eq!(f.plan(&c, gone).err(), Some(PlanError::MessageNotFound));
    let none = Catalog::for_tests(&[]);
    assert_eq!(f.plan(&none, new("q")).err(), Some(PlanError::NoUpstream));
}

#[test]
fn a_continuation_goes_on_from_the_answers_text_with_its_own_parameters() {
    let mut f = Fixture::new();
    // a1 was cut at max_tokens, with its own parameters.
    f.messages[1].status = messages::Status::Complete;
    f.messages[1].finish_reason = Some("length".into());
    f.messages[1].parameters = Some(params(json!({ "model": "large", "max_tokens": 2 })));
    let a1 = f.messages[1].id;
    let request = Request::Continue {
        message_id: a1,
        parameters: Some(params(json!({ "max_tokens": 50 }))),
    };
    let plan = plan(&catalog(&[]), &f.chat, &f.messages, request).expect("plans");
    assert_eq!(plan.answer.id, a1, "the same message");
    assert_eq!(plan.answer.status, messages::Status::Streaming);
    assert_eq!(plan.answer.finish_reason, None);
    assert!(plan.user_message.is_none());
    assert_eq!(
        plan.continued.as_ref().map(|b| b.finish_reason.clone()),
        Some(Some("length".into()))
    );
    // Its own model, the override on top; not the chat's temperature.
    assert_eq!(plan.resolved.model.id, "large");
    assert_eq!(plan.resolved.params.integer(Param::MAX_TOKENS), Some(50));
    assert_eq!(plan.resolved.params.number(Param::TEMPERATURE), None);
    assert!(plan.resolved.prefill);
    let turns: Vec<(Role, &str)> = plan
        .prompt
        .iter()
        .map(|t| (t.role, t.content.as_str()))
        .collect();
    assert_eq!(turns, [(Role::User, "q1"), (Role::Assistant, "a1")]);
    // The branch on screen stays (q2 and a2 come after it).
    assert_eq!(plan.chat_update.current_message_id, None);
}

#[test]
fn only_an_answer_that_ended_early_is_continued() {
    let f = Fixture::new();
    let continue_ = |id| Request::Continue {
        message_id: id,
        parameters: None,
    };
    // a2 is complete (no finish reason `length`); q1 is a question.
    assert_eq!(
        plan(
            &catalog(&[]),
            &f.chat,
            &f.messages,
            continue_(f.messages[3].id)
        )
        .err(),
        Some(PlanError::NotContinuable)
    );
    assert!(matches!(
        plan(
            &catalog(&[]),
            &f.chat,
            &f.messages,
            continue_(f.messages[0].id)
        ),
        Err(PlanError::Invalid(_))
    ));
    let mut f = f;
    f.messages[3].status = messages::Status::Stopped;
    let openai = catalog(&[("UPSTREAM_KIND", "openai")]);
    let Err(PlanError::Invalid(fields)) =
        plan(&openai, &f.chat, &f.messages, continue_(f.messages[3].id))
    else {
        panic!("openai cannot continue");
    };
    assert!(fields["parameters.model"].contains("prefill"));
}
