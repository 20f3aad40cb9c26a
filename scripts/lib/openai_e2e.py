"""Confab's OpenAI-compatible API (/v1) through the official `openai` Python package.

    python scripts/lib/openai_e2e.py BASE_URL UPSTREAM_CONTROL_URL

BASE_URL is a running Confab server whose upstream is the fake upstream (kind vllm, model
confab-demo) at UPSTREAM_CONTROL_URL, started with `--control`: `GET|DELETE /__requests`,
`PUT /__behaviour`, `POST /__reset`. Registers a fresh user, creates a personal API key, then
checks models, completions (plain and streamed, every sampling parameter forwarded), the
error types, saving an exchange as a chat, and that a revoked key stops working. One line per
check (`ok - …`); the first failing check prints what was expected and what came, exit 1.
Run it through scripts/lib/openai-e2e.sh (the venv with the pinned packages).
"""

import json
import secrets
import signal
import sys
import traceback
import urllib.error
import urllib.request

import openai

OVERALL_TIMEOUT_SECS = 120
REQUEST_TIMEOUT_SECS = 30
MODEL = "confab-demo"


class CheckFailed(Exception):
    pass


def ok(what):
    print(f"ok - {what}", flush=True)


def fail(what, expected, got):
    raise CheckFailed(f"{what}\n  expected: {expected}\n  got:      {got}")


def expect_equal(what, expected, got):
    # Exact: 7 and 7.0, or True and 1, are not the same JSON value.
    if got != expected or type(got) is not type(expected):
        fail(what, repr(expected), repr(got))


def expect(what, condition, expected, got):
    if not condition:
        fail(what, expected, repr(got))


def http(method, url, body=None, token=None, origin=None):
    """(status, parsed JSON body or None). Error statuses are returned, not raised."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    if origin is not None:
        request.add_header("Origin", origin)
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_SECS) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    if not raw.strip():
        return status, None
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


class Confab:
    """Confab's own JSON routes (/api), as a signed-in user."""

    def __init__(self, base):
        self.base = base
        self.token = None

    def call(self, method, path, body=None, expect_status=200):
        # Origin: the server's own, as a browser page of it would send it.
        status, answer = http(method, f"{self.base}{path}", body, self.token, origin=self.base)
        if status != expect_status:
            fail(f"{method} {path} status", expect_status, f"{status} {answer!r}")
        return answer


class Upstream:
    """The fake upstream's control routes."""

    def __init__(self, base):
        self.base = base

    def call(self, method, path, body=None, expect_status=204):
        status, answer = http(method, f"{self.base}{path}", body)
        if status != expect_status:
            fail(f"fake upstream {method} {path} status", expect_status, f"{status} {answer!r}")
        return answer

    def reply(self, text):
        self.call("PUT", "/__behaviour", {"reply": text})

    def forget(self):
        self.call("DELETE", "/__requests")

    def requests(self):
        recorded = self.call("GET", "/__requests", expect_status=200)
        expect("GET /__requests is a JSON array", isinstance(recorded, list), "a list", recorded)
        return recorded


def error_message(error):
    """The `error.message` of an OpenAI-style error body, else the exception's text."""
    if isinstance(error.body, dict) and isinstance(error.body.get("message"), str):
        return error.body["message"]
    return str(error)


def expect_raises(what, exception_type, call):
    try:
        result = call()
    except openai.APIStatusError as error:
        if not isinstance(error, exception_type):
            fail(what, exception_type.__name__,
                 f"{type(error).__name__} (HTTP {error.status_code}): {error.body!r}")
        return error
    fail(what, f"{exception_type.__name__} raised", f"no error: {result!r}")


def messages_of(chat_messages, role):
    return [m for m in chat_messages if m.get("role") == role]


def main(base, upstream_url):
    base = base.rstrip("/")
    confab = Confab(base)
    upstream = Upstream(upstream_url.rstrip("/"))
    run = secrets.token_hex(5)
    upstream.call("POST", "/__reset")

    # 1. A fresh account.
    name = f"oai_{run}"
    registered = confab.call("POST", "/api/auth/register", {
        "username": name,
        "email": f"{name}@example.org",
        "password": f"{name}-password",
    }, expect_status=201)
    token = registered.get("access_token") if isinstance(registered, dict) else None
    expect("registration answers an access token", isinstance(token, str) and token,
           "a non-empty access_token", registered)
    confab.token = token
    ok(f"registered user {name}")

    # 2. A personal API key.
    created = confab.call("POST", "/api/users/me/api-keys", {"name": "python e2e"},
                          expect_status=201)
    expect("the created key's fields", isinstance(created, dict), "a JSON object", created)
    expect_equal("the created key's fields",
                 sorted(["id", "name", "prefix", "created_at", "expires_at", "last_used_at",
                         "key"]),
                 sorted(created))
    expect_equal("the created key's name", "python e2e", created["name"])
    key, key_id, prefix = created["key"], created["id"], created["prefix"]
    expect("the key is cfk_ and 43 URL-safe characters",
           isinstance(key, str) and key.startswith("cfk_") and len(key) == 47
           and all(c.isascii() and (c.isalnum() or c in "-_") for c in key[4:]),
           "cfk_ + 43 of [A-Za-z0-9_-]", key)
    expect_equal("the key's prefix (cfk_ and 8 more characters)", key[:12], prefix)
    expect_equal("a key created without expiry never expires", None, created["expires_at"])
    expect_equal("a new key was never used", None, created["last_used_at"])
    ok(f"created API key {prefix}… (id {key_id})")

    client = openai.OpenAI(base_url=f"{base}/v1", api_key=key,
                           timeout=REQUEST_TIMEOUT_SECS, max_retries=0)

    # 3. Models and a plain completion with every sampling parameter.
    models = client.models.list()
    ids = [model.id for model in models.data]
    expect(f"GET /v1/models lists {MODEL}", MODEL in ids, f"{MODEL} among the ids", ids)
    demo = next(model for model in models.data if model.id == MODEL)
    expect_equal(f"{MODEL}'s object", "model", demo.object)
    ok(f"models.list() has {MODEL}")

    reply = "Hello from the fake upstream."
    system = "You are a terse assistant. (python e2e)"
    question = f"Say hello, run {run}."
    upstream.reply(reply)
    upstream.forget()
    completion = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "system", "content": system}, {"role": "user", "content": question}],
        temperature=0.3, top_p=0.9, max_tokens=50, seed=7, stop=["\n\n"],
        extra_body={"top_k": 20, "repetition_penalty": 1.1, "min_p": 0.05},
    )
    expect_equal("completion object", "chat.completion", completion.object)
    expect_equal("completion model", MODEL, completion.model)
    expect_equal("number of choices", 1, len(completion.choices))
    choice = completion.choices[0]
    expect_equal("choices[0].message.role", "assistant", choice.message.role)
    expect_equal("choices[0].message.content", reply, choice.message.content)
    expect_equal("choices[0].finish_reason", "stop", choice.finish_reason)
    usage = completion.usage
    expect("usage.total_tokens > 0", usage is not None and usage.total_tokens > 0,
           "a positive total", usage)
    expect_equal("usage.total_tokens = prompt + completion",
                 usage.prompt_tokens + usage.completion_tokens, usage.total_tokens)
    ok("chat.completions.create answers the fake's reply (stop, usage)")

    recorded = upstream.requests()
    expect("the completion reached the fake upstream", len(recorded) >= 1, "a request", recorded)
    sent = recorded[-1]
    expect_equal("model sent upstream", MODEL, sent.get("model"))
    for param, value in [("temperature", 0.3), ("top_p", 0.9), ("max_tokens", 50), ("seed", 7),
                         ("stop", ["\n\n"]), ("top_k", 20), ("repetition_penalty", 1.1),
                         ("min_p", 0.05)]:
        expect_equal(f"{param} sent upstream", value, sent.get(param, "<absent>"))
    sent_messages = [(m.get("role"), m.get("content")) for m in sent.get("messages", [])]
    expect_equal("messages sent upstream, in order",
                 [("system", system), ("user", question)], sent_messages)
    ok("every sampling parameter and the messages reached the upstream unchanged")

    # 4. Streaming.
    stream_reply = "Streamed hello, token by token, from the fake upstream."
    upstream.reply(stream_reply)
    stream = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": f"Stream a hello, run {run}."}],
        stream=True, stream_options={"include_usage": True},
    )
    chunks = list(stream)
    expect("the stream has chunks", len(chunks) >= 2, "at least 2 chunks", chunks)
    stream_id = chunks[0].id
    expect("the stream has an id", isinstance(stream_id, str) and stream_id, "an id", stream_id)
    text, finish_reasons = "", []
    for index, chunk in enumerate(chunks):
        expect_equal(f"chunk {index} object", "chat.completion.chunk", chunk.object)
        expect_equal(f"chunk {index} id", stream_id, chunk.id)
        for streamed in chunk.choices:
            expect_equal(f"chunk {index} choice index", 0, streamed.index)
            if streamed.delta.content:
                text += streamed.delta.content
            if streamed.finish_reason is not None:
                finish_reasons.append(streamed.finish_reason)
    expect_equal("streamed text", stream_reply, text)
    expect_equal("streamed finish reasons", ["stop"], finish_reasons)
    last = chunks[-1]
    expect("the last chunk carries usage",
           last.usage is not None and last.usage.total_tokens > 0, "usage with total > 0", last)
    expect_equal("the usage chunk has no choices", 0, len(last.choices))
    with_usage = [index for index, chunk in enumerate(chunks) if chunk.usage is not None]
    expect_equal("chunks carrying usage", [len(chunks) - 1], with_usage)
    ok(f"streamed {len(chunks)} chunks of one id: the reply, finish stop, then usage")

    # 5. Errors, none of which reaches the upstream.
    upstream.forget()
    hello = [{"role": "user", "content": "hello"}]
    error = expect_raises("an unknown model", openai.NotFoundError,
                          lambda: client.chat.completions.create(model=f"no-such-model-{run}",
                                                                 messages=hello))
    expect_equal("an unknown model's error code", "model_not_found", error.code)
    ok("an unknown model raises NotFoundError (model_not_found)")
    error = expect_raises("an unknown body field", openai.BadRequestError,
                          lambda: client.chat.completions.create(
                              model=MODEL, messages=hello, extra_body={"frobnicate": 1}))
    expect("the unknown field's error names it", "frobnicate" in error_message(error),
           "a message naming frobnicate", error.body)
    ok("an unknown field raises BadRequestError naming frobnicate")
    error = expect_raises("temperature=5", openai.BadRequestError,
                          lambda: client.chat.completions.create(
                              model=MODEL, messages=hello, temperature=5))
    expect("temperature=5's error names it", "temperature" in error_message(error),
           "a message naming temperature", error.body)
    ok("temperature=5 raises BadRequestError naming temperature")
    wrong = openai.OpenAI(base_url=f"{base}/v1", api_key="cfk_" + secrets.token_urlsafe(32),
                          timeout=REQUEST_TIMEOUT_SECS, max_retries=0)
    expect_raises("a wrong key", openai.AuthenticationError, wrong.models.list)
    expect_raises("a wrong key", openai.AuthenticationError,
                  lambda: wrong.chat.completions.create(model=MODEL, messages=hello))
    ok("a wrong key raises AuthenticationError")
    expect_equal("requests that reached the upstream for refused ones", [], upstream.requests())
    ok("refused requests never reached the upstream")

    # 6. Saving an exchange as a chat (body `confab.save`, then the X-Confab-Save header).
    before = confab.call("GET", "/api/chats?limit=100")
    expect_equal("chats of the completions above, which did not ask to be saved", [],
                 before.get("chats") if isinstance(before, dict) else before)
    ok("completions without save created no chat")
    saved = []
    for how, kwargs in [("body confab.save", {"extra_body": {"confab": {"save": True}}}),
                        ("X-Confab-Save header", {"extra_headers": {"X-Confab-Save": "true"}})]:
        saved_question = f"Remember this ({how}), run {run}?"
        saved_reply = f"Saved answer ({how}) for run {run}."
        upstream.reply(saved_reply)
        answer = client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": saved_question}], **kwargs)
        expect_equal(f"the saved completion's text ({how})", saved_reply,
                     answer.choices[0].message.content)
        saved.append((how, saved_question, saved_reply))
    after = confab.call("GET", "/api/chats?limit=100")["chats"]
    expect_equal("chats after two saved completions", 2, len(after))
    # Most recent activity first: the header's chat, then the body's.
    for chat, (how, saved_question, saved_reply) in zip(after, reversed(saved)):
        listed = confab.call("GET", f"/api/chats/{chat['id']}/messages")["messages"]
        users, answers = messages_of(listed, "user"), messages_of(listed, "assistant")
        expect_equal(f"the saved chat's user messages ({how})", [saved_question],
                     [m.get("content") for m in users])
        expect_equal(f"the saved chat's answers ({how})", [saved_reply],
                     [m.get("content") for m in answers])
        expect_equal(f"the saved answer's parent ({how})", users[0]["id"],
                     answers[0].get("parent_id"))
        expect_equal(f"the saved answer's status ({how})", "complete", answers[0].get("status"))
        ok(f"saved with {how}: chat {chat['id']} holds the question and the answer")

    # 7. Revoking the key.
    confab.call("DELETE", f"/api/users/me/api-keys/{key_id}", expect_status=204)
    ok("revoked the key")
    expect_raises("the revoked key", openai.AuthenticationError, client.models.list)
    ok("a revoked key raises AuthenticationError")


def on_timeout(_signal, _frame):
    raise CheckFailed(f"the whole run took longer than {OVERALL_TIMEOUT_SECS} s")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(f"usage: {sys.argv[0]} BASE_URL UPSTREAM_CONTROL_URL", file=sys.stderr)
        sys.exit(2)
    signal.signal(signal.SIGALRM, on_timeout)
    signal.alarm(OVERALL_TIMEOUT_SECS)
    try:
        main(sys.argv[1], sys.argv[2])
    except CheckFailed as failure:
        print(f"not ok - {failure}", flush=True)
        sys.exit(1)
    except Exception as error:  # noqa: BLE001 - any other error fails the run, with its trace
        if not isinstance(error, (urllib.error.URLError, openai.APIConnectionError)):
            traceback.print_exc()
        detail = f" (HTTP {error.status_code}: {error.body!r})" \
            if isinstance(error, openai.APIStatusError) else ""
        print(f"not ok - unexpected {type(error).__name__}: {error}{detail}", flush=True)
        sys.exit(1)
    print("all OpenAI-compatible API checks passed", flush=True)
