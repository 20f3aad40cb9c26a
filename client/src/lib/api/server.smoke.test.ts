// Against a running Confab (e.g. ./scripts/run): CONFAB_URL=http://127.0.0.1:8080 npm test
// Skipped when CONFAB_URL is not set.
import { describe, expect, it } from 'vitest';
import { ApiClient, type FetchLike } from './client';
import { ApiError } from './errors';
import type { StreamEvent } from './types';

const base = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.CONFAB_URL;

/** Node's fetch keeps no cookies: carry the refresh cookie by hand, like a browser would. */
function cookieFetch(): FetchLike {
  let cookie = '';
  return async (url, init = {}) => {
    const headers = new Headers(init.headers);
    if (cookie && url.includes('/api/auth/')) headers.set('Cookie', cookie);
    const response = await fetch(url, { ...init, headers });
    const set = response.headers.get('set-cookie');
    if (set) cookie = set.split(';')[0] ?? '';
    return response;
  };
}

describe.skipIf(!base)('against a running server', () => {
  it('registers, streams an answer, stops, votes, refreshes and logs out', { timeout: 30_000 }, async () => {
    const api = new ApiClient({ baseUrl: base, fetch: cookieFetch() });
    const name = `smoke_${Date.now().toString(36)}`;

    const bad = await api.register({ username: 'x', email: 'nope', password: 'short' }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ApiError);
    expect((bad as ApiError).status).toBe(422);
    expect(Object.keys((bad as ApiError).fields).sort()).toEqual(['email', 'password', 'username']);

    const auth = await api.register({ username: name, email: `${name}@example.com`, password: 'correct horse battery' });
    expect(auth.user.username).toBe(name);
    const models = await api.models();
    expect(models.models.length).toBeGreaterThan(0);

    const chat = await api.createChat({ title: 'Smoke' });
    const events: StreamEvent[] = [];
    for await (const e of api.streamMessage(chat.id, { content: 'Hello there' })) events.push(e);
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('user_message');
    expect(types[1]).toBe('assistant_message');
    expect(types.at(-1)).toBe('done');
    const text = events.flatMap((e) => (e.type === 'delta' ? [e.content] : [])).join('');
    const done = events.at(-1);
    expect(done?.type === 'done' && done.message.content).toBe(text);

    // Stop mid-stream: the server keeps what was generated so far, as `stopped`.
    const controller = new AbortController();
    let stopped: Awaited<ReturnType<typeof api.stopMessage>> | null = null;
    try {
      for await (const e of api.streamMessage(chat.id, { content: 'Again' }, controller.signal)) {
        if (e.type === 'delta' && !stopped) {
          const placeholder = (await api.listMessages(chat.id)).find((m) => m.status === 'streaming');
          stopped = await api.stopMessage(chat.id, placeholder!.id);
          controller.abort();
        }
      }
    } catch (e) {
      expect((e as Error).name).toBe('AbortError');
    }
    expect(stopped?.status).toBe('stopped');

    const messages = await api.listMessages(chat.id);
    expect(messages.length).toBe(4);
    const current = await api.getChat(chat.id);
    expect(messages.some((m) => m.id === current.current_message_id)).toBe(true);

    const answer = messages.find((m) => m.role === 'assistant' && m.status === 'complete');
    const vote = await api.vote(chat.id, answer!.id, 'up');
    expect(vote.vote).toBe('up');

    // A broken access token is refreshed from the cookie, then the request is retried.
    api.setToken('not-a-token');
    const me = await api.me();
    expect(me.username).toBe(name);
    expect(api.token).not.toBe('not-a-token');

    const page = await api.listChats({ limit: 10 });
    expect(page.chats[0]?.id).toBe(chat.id);

    await api.logout();
    expect(api.token).toBeNull();
    await expect(api.me()).rejects.toMatchObject({ status: 401 });
  });
});
