import { describe, expect, it, vi } from 'vitest';
import { ApiClient } from './client';
import { ApiError } from './errors';
import type { StreamEvent } from './types';

type Call = { url: string; init: RequestInit };

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', ...headers },
  });
}

function authBody(token: string) {
  return {
    access_token: token,
    token_type: 'Bearer',
    expires_in: 900,
    user: { id: 'u1', username: 'ann', email: 'ann@example.com', created_at: '2024-01-01T00:00:00Z' },
  };
}

const unauthorized = () => json(401, { error: { code: 'unauthorized', message: 'missing or invalid token' } });

function header(init: RequestInit, name: string): string | undefined {
  return (init.headers as Record<string, string> | undefined)?.[name];
}

function sseResponse(chunks: string[]): Response {
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      for (const chunk of chunks) c.enqueue(encoder.encode(chunk));
      c.close();
    },
  });
  return new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } });
}

describe('ApiClient', () => {
  it('resumes a session in one round trip: the refresh answer names the user', async () => {
    const calls: string[] = [];
    const client = new ApiClient({
      fetch: async (url) => {
        calls.push(url);
        return url === '/api/auth/refresh' ? json(200, authBody('tok-r')) : unauthorized();
      },
    });
    const user = await client.resume();
    expect(user?.username).toBe('ann');
    expect(calls).toEqual(['/api/auth/refresh']);
  });

  it('resume() is null without a session', async () => {
    const client = new ApiClient({ fetch: async () => unauthorized() });
    expect(await client.resume()).toBeNull();
  });

  it('sends the bearer token and JSON body', async () => {
    const calls: Call[] = [];
    const client = new ApiClient({
      fetch: async (url, init = {}) => {
        calls.push({ url, init });
        return json(201, { id: 'c1', title: 'Hi', parameters: {}, current_message_id: null, created_at: '', updated_at: '' });
      },
    });
    client.setToken('tok-1');
    const chat = await client.createChat({ title: 'Hi' });
    expect(chat.id).toBe('c1');
    expect(calls).toHaveLength(1);
    const call = calls[0]!;
    expect(call.url).toBe('/api/chats');
    expect(call.init.method).toBe('POST');
    expect(header(call.init, 'Authorization')).toBe('Bearer tok-1');
    expect(header(call.init, 'Content-Type')).toBe('application/json');
    expect(call.init.body).toBe('{"title":"Hi"}');
  });

  it('sends a Blob body as it is, typed by the given Content-Type, else its own type', async () => {
    const calls: Call[] = [];
    const client = new ApiClient({
      fetch: async (url, init = {}) => {
        calls.push({ url, init });
        return json(202, { id: 'i1' });
      },
    });
    client.setToken('tok-1');
    const file = new Blob(['{"a":1}'], { type: 'text/plain' });
    await client.json('POST', '/api/imports', { body: file, headers: { 'Content-Type': 'application/json' } });
    await client.json('POST', '/api/imports', { body: new Blob(['PK'], { type: 'application/zip' }) });
    await client.json('POST', '/api/imports', { body: new Blob(['?']) });
    expect(calls[0]!.init.body).toBe(file);
    expect(calls.map((c) => header(c.init, 'Content-Type'))).toEqual(['application/json', 'application/zip', 'application/octet-stream']);
    expect(header(calls[0]!.init, 'Authorization')).toBe('Bearer tok-1');
  });

  it('response(): the raw answer with the token (one refresh on 401), an ApiError when refused', async () => {
    const urls: string[] = [];
    let refreshed = false;
    const client = new ApiClient({
      fetch: async (url, init = {}) => {
        urls.push(`${url} ${header(init, 'Authorization') ?? '-'}`);
        if (url === '/api/auth/refresh') {
          refreshed = true;
          return json(200, authBody('tok-2'));
        }
        if (!refreshed) return unauthorized();
        return url.endsWith('/gone') ? json(404, { error: { code: 'not_found', message: 'gone' } }) : new Response('PK', { status: 200 });
      },
    });
    client.setToken('tok-1');
    const response = await client.response('GET', '/api/users/me/export');
    expect(await response.text()).toBe('PK');
    expect(urls).toEqual(['/api/users/me/export Bearer tok-1', '/api/auth/refresh -', '/api/users/me/export Bearer tok-2']);
    await expect(client.response('GET', '/api/gone')).rejects.toMatchObject({ status: 404, code: 'not_found' });
  });

  it('stores the access token from login, in memory only', async () => {
    const setItem = vi.fn();
    vi.stubGlobal('localStorage', { setItem, getItem: vi.fn(), removeItem: vi.fn() });
    const client = new ApiClient({ fetch: async () => json(200, authBody('tok-login')) });
    await client.login({ email: 'ann', password: 'password1' });
    expect(client.token).toBe('tok-login');
    expect(setItem).not.toHaveBeenCalled();
    vi.unstubAllGlobals();
  });

  it('refreshes once on 401 and retries, with concurrent requests sharing one refresh', async () => {
    const calls: Call[] = [];
    let refreshes = 0;
    let releaseRefresh: () => void = () => {};
    const refreshGate = new Promise<void>((r) => (releaseRefresh = r));
    const client = new ApiClient({
      fetch: async (url, init = {}) => {
        calls.push({ url, init });
        if (url === '/api/auth/refresh') {
          refreshes++;
          expect(header(init, 'Authorization')).toBeUndefined();
          await refreshGate;
          return json(200, authBody('new'));
        }
        if (header(init, 'Authorization') !== 'Bearer new') return unauthorized();
        return json(200, { id: 'u1', username: 'ann', email: 'a@b.c', created_at: '' });
      },
    });
    client.setToken('old');
    const all = Promise.all([client.me(), client.me(), client.me()]);
    await new Promise((r) => setTimeout(r, 0));
    releaseRefresh();
    const users = await all;
    expect(users.map((u) => u.username)).toEqual(['ann', 'ann', 'ann']);
    expect(refreshes).toBe(1);
    expect(client.token).toBe('new');
    // 3 failed + 1 refresh + 3 retries
    expect(calls).toHaveLength(7);
  });

  it('gives up after one refresh: the 401 surfaces and onUnauthenticated fires', async () => {
    const onUnauthenticated = vi.fn();
    let calls = 0;
    const client = new ApiClient({
      onUnauthenticated,
      fetch: async (url) => {
        calls++;
        if (url === '/api/auth/refresh') return unauthorized();
        return unauthorized();
      },
    });
    client.setToken('expired');
    const error = await client.me().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(401);
    expect(calls).toBe(2);
    expect(onUnauthenticated).toHaveBeenCalledOnce();
    expect(client.token).toBeNull();
  });

  it('does not refresh on a failed login', async () => {
    const urls: string[] = [];
    const client = new ApiClient({
      fetch: async (url) => {
        urls.push(url);
        return json(401, { error: { code: 'unauthorized', message: 'invalid credentials' } });
      },
    });
    await expect(client.login({ email: 'a', password: 'b' })).rejects.toMatchObject({
      status: 401,
      code: 'unauthorized',
      message: 'invalid credentials',
    });
    expect(urls).toEqual(['/api/auth/login']);
  });

  it('parses error bodies with fields', async () => {
    const client = new ApiClient({
      fetch: async () =>
        json(422, {
          error: {
            code: 'validation_failed',
            message: 'the request has invalid fields',
            fields: { password: 'must be at least 8 characters long', username: 'is taken' },
          },
        }),
    });
    const error = (await client.register({ username: 'x', email: 'x@y.z', password: 'short' }).catch((e: unknown) => e)) as ApiError;
    expect(error).toBeInstanceOf(ApiError);
    expect(error.status).toBe(422);
    expect(error.code).toBe('validation_failed');
    expect(error.message).toBe('the request has invalid fields');
    expect(error.fields).toEqual({ password: 'must be at least 8 characters long', username: 'is taken' });
  });

  it('turns a non-JSON error body and a network failure into ApiErrors', async () => {
    const client = new ApiClient({
      fetch: async () => new Response('<html>Bad gateway</html>', { status: 502, statusText: 'Bad Gateway' }),
    });
    await expect(client.models()).rejects.toMatchObject({ status: 502, code: 'http_error' });
    const offline = new ApiClient({
      fetch: async () => {
        throw new TypeError('Failed to fetch');
      },
    });
    await expect(offline.models()).rejects.toMatchObject({ status: 0, code: 'network_error' });
  });

  it('streams typed events from the SSE answer', async () => {
    const message = (id: string, role: string, content: string, status = 'complete') =>
      JSON.stringify({ id, chat_id: 'c1', parent_id: null, role, content, status, created_at: '', vote: null });
    let seen: Call | undefined;
    const client = new ApiClient({
      fetch: async (url, init = {}) => {
        seen = { url, init };
        return sseResponse([
          `event: user_message\ndata: ${message('m1', 'user', 'Hi')}\n\n`,
          `event: assistant_message\ndata: ${message('m2', 'assistant', '', 'streaming')}\n\n: keep-alive\n\n`,
          'event: delta\ndata: {"content":"Hel"}\n\nevent: del',
          'ta\ndata: {"content":"lo"}\n\n',
          `event: done\ndata: ${message('m2', 'assistant', 'Hello')}\n\n`,
        ]);
      },
    });
    client.setToken('t');
    const events: StreamEvent[] = [];
    for await (const e of client.streamMessage('c1', { content: 'Hi' })) events.push(e);
    expect(seen?.url).toBe('/api/chats/c1/messages');
    expect(header(seen!.init, 'Accept')).toBe('text/event-stream');
    expect(events.map((e) => e.type)).toEqual(['user_message', 'assistant_message', 'delta', 'delta', 'done']);
    const deltas = events.flatMap((e) => (e.type === 'delta' ? [e.content] : []));
    expect(deltas.join('')).toBe('Hello');
    const done = events.at(-1);
    expect(done?.type === 'done' && done.message.content).toBe('Hello');
  });

  it('reattaches to an answer: GET …/stream?from=<the text shown>, deltas with their offsets', async () => {
    const calls: Call[] = [];
    const client = new ApiClient({
      fetch: async (url, init = {}) => {
        calls.push({ url, init });
        return sseResponse([
          'event: assistant_message\ndata: {"id":"m2","chat_id":"c 1","role":"assistant","content":"","status":"streaming"}\n\n',
          'id: 9\nevent: delta\ndata: {"content":"lo, w","offset":4}\n\n',
          'id: 12\nevent: delta\ndata: {"content":"orl","offset":-1}\n\n',
        ]);
      },
    });
    client.setToken('t');
    const events: StreamEvent[] = [];
    for await (const e of client.streamAnswer('c 1', 'm2', 4)) events.push(e);
    expect(calls[0]!.url).toBe('/api/chats/c%201/messages/m2/stream?from=4');
    expect(calls[0]!.init.method).toBe('GET');
    expect(calls[0]!.init.body).toBeUndefined();
    expect(header(calls[0]!.init, 'Accept')).toBe('text/event-stream');
    expect(header(calls[0]!.init, 'Authorization')).toBe('Bearer t');
    // A bad offset is left out: the reader counts it instead.
    expect(events.slice(1)).toEqual([
      { type: 'delta', content: 'lo, w', offset: 4 },
      { type: 'delta', content: 'orl' },
    ]);
    // From the start: no `from` at all.
    for await (const e of client.streamAnswer('c1', 'm2', 0)) void e;
    expect(calls[1]!.url).toBe('/api/chats/c1/messages/m2/stream');
  });

  it('a reattach to an answer that is not the user’s is refused with 404', async () => {
    const client = new ApiClient({ fetch: async () => json(404, { error: { code: 'not_found', message: 'not found' } }) });
    await expect(client.streamAnswer('c1', 'theirs', 0).next()).rejects.toMatchObject({ status: 404 });
  });

  it('yields the error event of a failed generation', async () => {
    const client = new ApiClient({
      fetch: async () =>
        sseResponse([
          'event: error\ndata: {"code":"upstream_error","message":"boom","assistant_message":{"id":"m2","status":"error"}}\n\n',
        ]),
    });
    const events: StreamEvent[] = [];
    for await (const e of client.streamRegenerate('c1', 'm2')) events.push(e);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'error', code: 'upstream_error', message: 'boom' });
  });

  it('throws ApiError when the stream request is refused', async () => {
    const client = new ApiClient({
      fetch: async () => json(404, { error: { code: 'not_found', message: 'no such chat' } }),
    });
    const gen = client.streamMessage('nope', { content: 'x' });
    await expect(gen.next()).rejects.toMatchObject({ status: 404, code: 'not_found' });
  });

  it('is abortable with an AbortController', async () => {
    const controller = new AbortController();
    const client = new ApiClient({
      fetch: async (_url, init = {}) => {
        const signal = init.signal!;
        const body = new ReadableStream<Uint8Array>({
          start(c) {
            c.enqueue(new TextEncoder().encode('event: delta\ndata: {"content":"a"}\n\n'));
            signal.addEventListener('abort', () => c.error(new DOMException('aborted', 'AbortError')));
          },
        });
        return new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } });
      },
    });
    const received: string[] = [];
    const run = (async () => {
      for await (const e of client.streamMessage('c1', { content: 'x' }, controller.signal)) {
        if (e.type === 'delta') {
          received.push(e.content);
          controller.abort();
        }
      }
    })();
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(received).toEqual(['a']);
  });

  it('ends the stream on abort even when the body itself never errors (as Node fetch does)', async () => {
    const controller = new AbortController();
    let cancelled = false;
    const client = new ApiClient({
      fetch: async () => {
        const body = new ReadableStream<Uint8Array>({
          start(c) {
            c.enqueue(new TextEncoder().encode('event: delta\ndata: {"content":"a"}\n\n'));
          },
          cancel() {
            cancelled = true;
          },
        });
        return new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } });
      },
    });
    const run = (async () => {
      for await (const e of client.streamMessage('c1', { content: 'x' }, controller.signal)) {
        if (e.type === 'delta') setTimeout(() => controller.abort(), 0);
      }
    })();
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(cancelled).toBe(true);
  });
});
