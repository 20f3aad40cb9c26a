import { describe, expect, it, vi } from 'vitest';
import { ApiError, describeError } from '../api/errors';
import type { Chat, Message, StreamEvent } from '../api/types';
import { fromSocket } from '../live/events';
import { msg } from './fixtures';
import { ANSWER_LOST, ChatSession, type SessionOptions } from './session.svelte';

const chat = (over: Partial<Chat> = {}): Chat => ({
  id: 'c1',
  title: 'Chat',
  parameters: {},
  current_message_id: null,
  created_at: '2026-01-01T00:00:00Z',
  updated_at: '2026-01-01T00:00:00Z',
  ...over,
});

/** A generation stream the test feeds event by event. */
function controlled() {
  const queue: StreamEvent[] = [];
  let wake: (() => void) | null = null;
  let ended = false;
  let failure: unknown = null;
  return {
    push(...events: StreamEvent[]) {
      queue.push(...events);
      wake?.();
    },
    end() {
      ended = true;
      wake?.();
    },
    /** Breaks the stream (after the events pushed so far) with `error`. */
    fail(error: unknown) {
      failure = error;
      ended = true;
      wake?.();
    },
    async *events(signal?: AbortSignal): AsyncGenerator<StreamEvent> {
      for (;;) {
        if (signal?.aborted) throw new DOMException('aborted', 'AbortError');
        const next = queue.shift();
        if (next) {
          yield next;
          continue;
        }
        if (failure) throw failure;
        if (ended) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
          signal?.addEventListener('abort', () => resolve(), { once: true });
        });
        wake = null;
      }
    },
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
/** Long enough for a reattach stream's retry (its back-off is 0 ms here) to have run. */
const retried = () => new Promise((resolve) => setTimeout(resolve, 5));

/**
 * A session over a fake API; frames run only when the test says (`frames.run()`). Each reattach
 * request gets its own controlled stream (`reattached`, in order); retries wait for nothing.
 */
function setup(over: Partial<SessionOptions['api']> = {}, options: Partial<SessionOptions> = {}) {
  const stream = controlled();
  const reattached: { answer: string; from: number; stream: ReturnType<typeof controlled> }[] = [];
  const network = new EventTarget();
  const queued: (() => void)[] = [];
  const frames = { run: () => queued.splice(0).forEach((fn) => fn()), pending: () => queued.length };
  const api = {
    getChat: vi.fn(async () => chat()),
    listMessages: vi.fn(async () => [] as Message[]),
    createChat: vi.fn(async () => chat({ title: 'Hi' })),
    updateChat: vi.fn(async () => chat()),
    streamMessage: vi.fn((_c: string, _b: unknown, signal?: AbortSignal) => stream.events(signal)),
    streamEdit: vi.fn((_c: string, _m: string, _b: unknown, signal?: AbortSignal) => stream.events(signal)),
    streamRegenerate: vi.fn((_c: string, _m: string, _b: unknown, signal?: AbortSignal) => stream.events(signal)),
    streamContinue: vi.fn((_c: string, _m: string, _b: unknown, signal?: AbortSignal) => stream.events(signal)),
    streamAnswer: vi.fn((_c: string, answer: string, from: number, signal?: AbortSignal) => {
      const reattach = controlled();
      reattached.push({ answer, from, stream: reattach });
      return reattach.events(signal);
    }),
    stopMessage: vi.fn(async () => msg('a1', 'u1')),
    vote: vi.fn(async () => ({ message_id: 'a1', vote: 'up' as const, reason: null })),
    ...over,
  };
  const reattach = { backoff: [0, 0, 0], network, online: () => true };
  const session = new ChatSession({ api, frame: (fn) => queued.push(fn), reattach, ...options });
  return { session, api, stream, frames, reattached, network };
}

describe('ChatSession', () => {
  it('creates a new chat with the preset chosen for it, then forgets the choice', async () => {
    const { session, api } = setup();
    session.open(null);
    session.newChatPreset = 'p1';
    void session.send('Hi');
    await settle();
    expect(api.createChat).toHaveBeenCalledWith({ title: 'Hi', preset_id: 'p1' });
    expect(session.newChatPreset).toBeNull();
    await session.stop();
  });

  it('sends in a new chat: creates it, streams the answer into the branch, and ends it', async () => {
    const onCreated = vi.fn();
    const onChanged = vi.fn();
    const { session, api, stream, frames } = setup({}, { onCreated, onChanged });
    session.open(null);
    const sent = session.send('Hi');
    await settle();
    expect(api.createChat).toHaveBeenCalledWith({ title: 'Hi' });
    expect(onCreated).toHaveBeenCalledOnce();
    expect(session.id).toBe('c1');
    expect(session.running).toBe(true);
    stream.push(
      { type: 'user_message', message: msg('u1', null, { role: 'user', content: 'Hi' }) },
      { type: 'assistant_message', message: msg('a1', 'u1', { status: 'streaming' }) },
      { type: 'delta', content: 'Hel' },
      { type: 'delta', content: 'lo' },
    );
    await settle();
    expect(session.visible.map((m) => m.id)).toEqual(['u1', 'a1']);
    expect(session.announcement).toBe('Generating an answer…');
    // Deltas wait for the next frame, joined into one.
    expect(session.visible[1]!.content).toBe('');
    frames.run();
    expect(session.visible[1]!.content).toBe('Hello');
    stream.push({ type: 'done', message: msg('a1', 'u1', { content: 'Hello' }) });
    stream.end();
    expect(await sent).toBe(true);
    expect(session.running).toBe(false);
    expect(session.visible[1]).toMatchObject({ status: 'complete', content: 'Hello' });
    expect(session.announcement).toBe('Answer complete.');
    await settle();
    expect(onChanged).toHaveBeenCalledOnce();
  });

  it('this tab’s stream and the socket report one answer: it is shown once, never repeated', async () => {
    const { session, stream, frames } = setup();
    session.open(null);
    const sent = session.send('Hi');
    await settle();
    const socket = (frame: Parameters<typeof fromSocket>[0]) => session.receive(fromSocket({ chat_id: 'c1', ...frame })!);
    // The socket announces both messages first (they go on the branch because this tab asked).
    socket({ type: 'message.created', data: msg('u1', null, { role: 'user', content: 'Hi' }) });
    stream.push({ type: 'user_message', message: msg('u1', null, { role: 'user', content: 'Hi' }) });
    socket({ type: 'generation.started', data: msg('a1', 'u1', { status: 'streaming' }) });
    stream.push({ type: 'assistant_message', message: msg('a1', 'u1', { status: 'streaming' }) });
    await settle();
    socket({ type: 'generation.delta', message_id: 'a1', data: { content: 'Hello, w', offset: 0 } });
    stream.push({ type: 'delta', content: 'Hello' }, { type: 'delta', content: ', world' });
    await settle();
    socket({ type: 'generation.delta', message_id: 'a1', data: { content: 'orld', offset: 8 } });
    frames.run();
    expect(session.visible.map((m) => m.content)).toEqual(['Hi', 'Hello, world']);
    // The socket's end of this tab's answer is left to the stream's own.
    socket({ type: 'generation.finished', data: msg('a1', 'u1', { content: 'Hello, world!' }) });
    expect(session.visible[1]!.status).toBe('streaming');
    stream.push({ type: 'done', message: msg('a1', 'u1', { content: 'Hello, world!' }) });
    stream.end();
    await sent;
    expect(session.messages).toHaveLength(2);
    expect(session.visible[1]).toMatchObject({ status: 'complete', content: 'Hello, world!' });
  });

  it('an answer the server could not save stays on screen, marked, until it is saved', async () => {
    const { session, stream } = setup();
    session.open(null);
    const sent = session.send('Hi');
    await settle();
    stream.push(
      { type: 'user_message', message: msg('u1', null, { role: 'user' }) },
      { type: 'assistant_message', message: msg('a1', 'u1', { status: 'streaming' }) },
      { type: 'delta', content: 'All of it' },
      { type: 'error', code: 'not_saved', message: 'not saved', assistant_message: msg('a1', 'u1', { content: 'All of it' }) },
    );
    stream.end();
    await sent;
    expect(session.unsaved.has('a1')).toBe(true);
    expect(session.error).toBeNull();
    expect(session.announcement).toBe('The answer is complete but could not be saved yet.');
    expect(session.visible[1]).toMatchObject({ status: 'complete', content: 'All of it' });
    session.receive(fromSocket({ type: 'generation.finished', chat_id: 'c1', data: msg('a1', 'u1', { content: 'All of it' }) })!);
    expect(session.unsaved.has('a1')).toBe(false);
    expect(session.visible[1]!.content).toBe('All of it');
  });

  it('too many answers at once: the send is refused with a clear message (the view puts the text back)', async () => {
    const refused = new ApiError(429, 'too_many_generations', 'too many');
    const { session } = setup({
      streamMessage: vi.fn(() => {
        throw refused;
      }),
    });
    session.open(null);
    expect(await session.send('A fourth question')).toBe(false);
    expect(session.error).toBe(describeError(refused));
    expect(session.error).toMatch(/too many answers are being generated/i);
    expect(session.running).toBe(false);
  });

  it('a failed answer shows its error', async () => {
    const { session, stream } = setup();
    session.open(null);
    const sent = session.send('Hi');
    await settle();
    stream.push(
      { type: 'assistant_message', message: msg('a1', null, { status: 'streaming' }) },
      { type: 'error', code: 'upstream_error', message: 'boom', assistant_message: msg('a1', null, { status: 'error' }) },
    );
    stream.end();
    expect(await sent).toBe(true);
    expect(session.error).toBe('boom');
    expect(session.unsaved.size).toBe(0);
    expect(session.visible[0]!.status).toBe('error');
  });

  it('events that arrive while the chat loads are applied on top of it', async () => {
    let release: (list: Message[]) => void = () => undefined;
    const { session } = setup({
      getChat: vi.fn(async () => chat({ current_message_id: 'a1' })),
      listMessages: vi.fn(() => new Promise<Message[]>((resolve) => (release = resolve))),
    });
    session.open('c1');
    session.receive(fromSocket({ type: 'message.voted', chat_id: 'c1', message_id: 'a1', data: { vote: 'down' } })!);
    session.receive(fromSocket({ type: 'message.voted', chat_id: 'c2', message_id: 'a1', data: { vote: 'up' } })!);
    release([msg('u1', null, { role: 'user' }), msg('a1', 'u1')]);
    await settle();
    expect(session.loading).toBe(false);
    expect(session.visible.map((m) => [m.id, m.vote])).toEqual([
      ['u1', null],
      ['a1', 'down'],
    ]);
    expect(session.pins).toBe(1);
  });

  it('follows another tab’s answer on the branch on screen, and stops it', async () => {
    const { session, api } = setup({
      getChat: vi.fn(async () => chat({ current_message_id: 'u1' })),
      listMessages: vi.fn(async () => [msg('u1', null, { role: 'user' })]),
      stopMessage: vi.fn(async () => msg('a1', 'u1', { status: 'stopped', content: 'Hel' })),
    });
    session.open('c1');
    await settle();
    session.receive(fromSocket({ type: 'generation.started', chat_id: 'c1', data: msg('a1', 'u1', { status: 'streaming' }) })!);
    expect(session.leafId).toBe('a1');
    expect(session.remoteStreaming?.id).toBe('a1');
    expect(session.busy).toBe(true);
    // Its text comes over the reattach stream, from the start.
    expect(api.streamAnswer).toHaveBeenCalledWith('c1', 'a1', 0, expect.any(AbortSignal));
    const signal = vi.mocked(api.streamAnswer).mock.calls[0]![3]!;
    await session.stop();
    expect(api.stopMessage).toHaveBeenCalledWith('c1', 'a1');
    // Ended: not followed any longer.
    expect(signal.aborted).toBe(true);
    expect(session.visible[1]).toMatchObject({ status: 'stopped', content: 'Hel' });
    expect(session.busy).toBe(false);
    expect(session.announcement).toBe('Answer stopped.');
  });

  it('a chat opened mid-answer follows it over the reattach stream, from the text it shows; the socket’s deltas are not applied twice', async () => {
    const { session, api, reattached, frames } = setup({
      getChat: vi.fn(async () => chat({ current_message_id: 'a1' })),
      listMessages: vi.fn(async () => [msg('u1', null, { role: 'user' }), msg('a1', 'u1', { status: 'streaming', content: 'Hello 😀' })]),
    });
    session.open('c1');
    await settle();
    // `from` counts UTF-16 units, as the server does.
    expect(api.streamAnswer).toHaveBeenCalledOnce();
    expect(reattached.map((r) => [r.answer, r.from])).toEqual([['a1', 8]]);
    const { stream } = reattached[0]!;
    stream.push(
      { type: 'assistant_message', message: msg('a1', 'u1', { status: 'streaming' }) },
      { type: 'delta', content: ', wor', offset: 8 }, // catch-up
    );
    await settle();
    // The socket's deltas of it (behind, and ahead of the stream) are left out.
    const socket = (data: { content: string; offset: number }) =>
      session.receive(fromSocket({ type: 'generation.delta', chat_id: 'c1', message_id: 'a1', data })!);
    socket({ content: 'Hello 😀, wor', offset: 0 });
    socket({ content: 'ld and more', offset: 13 });
    stream.push({ type: 'delta', content: 'ld', offset: 13 }); // live
    await settle();
    frames.run();
    expect(session.visible[1]!.content).toBe('Hello 😀, world');
    expect(session.leafId).toBe('a1');
    stream.push({ type: 'done', message: msg('a1', 'u1', { content: 'Hello 😀, world!' }) });
    await settle();
    expect(session.visible[1]).toMatchObject({ status: 'complete', content: 'Hello 😀, world!' });
    expect(session.announcement).toBe('Answer complete.');
    expect(session.busy).toBe(false);
    expect(session.error).toBeNull();
    expect(api.streamAnswer).toHaveBeenCalledOnce();
  });

  it('an answer that ended before the reattach stream opened: its end is applied at once', async () => {
    const { session, reattached } = setup({
      getChat: vi.fn(async () => chat({ current_message_id: 'a1' })),
      listMessages: vi.fn(async () => [msg('u1', null, { role: 'user' }), msg('a1', 'u1', { status: 'streaming', content: 'Hel' })]),
    });
    session.open('c1');
    await settle();
    reattached[0]!.stream.push(
      { type: 'assistant_message', message: msg('a1', 'u1', { status: 'streaming' }) },
      { type: 'delta', content: 'lo', offset: 3 },
      { type: 'error', code: 'upstream_error', message: 'boom', assistant_message: msg('a1', 'u1', { status: 'error', content: 'Hello' }) },
    );
    reattached[0]!.stream.end();
    await settle();
    expect(session.visible[1]).toMatchObject({ status: 'error', content: 'Hello' });
    // Another tab's failure is that answer's, shown on it, not an error of this tab.
    expect(session.error).toBeNull();
    expect(reattached).toHaveLength(1);
  });

  it('a 404 stops trying: the socket’s deltas stand in, and the answer is not reattached again', async () => {
    const { session, reattached, frames } = setup({
      getChat: vi.fn(async () => chat({ current_message_id: 'a1' })),
      listMessages: vi.fn(async () => [msg('u1', null, { role: 'user' }), msg('a1', 'u1', { status: 'streaming', content: 'Hel' })]),
    });
    session.open('c1');
    await settle();
    reattached[0]!.stream.fail(new ApiError(404, 'not_found', 'not found'));
    await settle();
    session.receive(fromSocket({ type: 'generation.delta', chat_id: 'c1', message_id: 'a1', data: { content: 'lo', offset: 3 } })!);
    session.receive(fromSocket({ type: 'message.voted', chat_id: 'c1', message_id: 'u1', data: { vote: null } })!);
    frames.run();
    await settle();
    expect(session.visible[1]!.content).toBe('Hello');
    expect(reattached).toHaveLength(1);
    expect(session.error).toBeNull();
  });

  it('this tab’s stream breaks mid-answer: it goes on in place from the text received', async () => {
    const { session, api, stream, reattached, frames } = setup();
    session.open(null);
    const sent = session.send('Hi');
    await settle();
    stream.push(
      { type: 'user_message', message: msg('u1', null, { role: 'user', content: 'Hi' }) },
      { type: 'assistant_message', message: msg('a1', 'u1', { status: 'streaming' }) },
      { type: 'delta', content: 'Hel' },
    );
    stream.fail(new TypeError('network error'));
    await settle();
    expect(session.running).toBe(true);
    expect(reattached.map((r) => [r.answer, r.from])).toEqual([['a1', 3]]);
    // The first attempt finds the server unreachable; the next one goes on.
    reattached[0]!.stream.fail(new ApiError(0, 'network_error', 'unreachable'));
    await retried();
    expect(reattached.map((r) => r.from)).toEqual([3, 3]);
    reattached[1]!.stream.push(
      { type: 'assistant_message', message: msg('a1', 'u1', { status: 'streaming' }) },
      { type: 'delta', content: 'lo', offset: 3 },
      { type: 'done', message: msg('a1', 'u1', { content: 'Hello' }) },
    );
    reattached[1]!.stream.end();
    expect(await sent).toBe(true);
    frames.run();
    expect(session.visible.map((m) => [m.id, m.status, m.content])).toEqual([
      ['u1', 'complete', 'Hi'],
      ['a1', 'complete', 'Hello'],
    ]);
    expect(session.error).toBeNull();
    expect(session.running).toBe(false);
    expect(session.announcement).toBe('Answer complete.');
    expect(api.streamAnswer).toHaveBeenCalledTimes(2);
  });

  it('a broken stream that cannot be resumed gives up after a bound, with the error shown', async () => {
    const { session, stream, reattached } = setup();
    session.open(null);
    const sent = session.send('Hi');
    await settle();
    stream.push(
      { type: 'user_message', message: msg('u1', null, { role: 'user', content: 'Hi' }) },
      { type: 'assistant_message', message: msg('a1', 'u1', { status: 'streaming' }) },
    );
    stream.fail(new TypeError('network error'));
    for (let i = 0; i < 6; i++) {
      await retried();
      reattached.at(-1)?.stream.fail(new ApiError(0, 'network_error', 'unreachable'));
    }
    await sent;
    // The first attempt and one per back-off step (three here).
    expect(reattached).toHaveLength(4);
    expect(session.error).toBe(ANSWER_LOST);
    expect(session.running).toBe(false);
    // Not followed again on the next event: until the socket resyncs.
    session.receive(fromSocket({ type: 'message.voted', chat_id: 'c1', message_id: 'u1', data: { vote: null } })!);
    await settle();
    expect(reattached).toHaveLength(4);
  });

  it('going offline mid-answer drops this tab’s stream (it may hang); back online, it goes on in place', async () => {
    const network = new EventTarget();
    let online = true;
    const { session, stream, reattached, frames } = setup({}, { reattach: { backoff: [0], network, online: () => online } });
    session.open(null);
    const sent = session.send('Hi');
    await settle();
    stream.push(
      { type: 'user_message', message: msg('u1', null, { role: 'user', content: 'Hi' }) },
      { type: 'assistant_message', message: msg('a1', 'u1', { status: 'streaming' }) },
      { type: 'delta', content: 'Hel' },
    );
    await settle();
    online = false;
    network.dispatchEvent(new Event('offline'));
    await retried();
    expect(reattached).toHaveLength(0); // waits for the network
    expect(session.running).toBe(true);
    online = true;
    network.dispatchEvent(new Event('online'));
    await settle();
    expect(reattached.map((r) => [r.answer, r.from])).toEqual([['a1', 3]]);
    reattached[0]!.stream.push({ type: 'delta', content: 'lo', offset: 3 }, { type: 'done', message: msg('a1', 'u1', { content: 'Hello' }) });
    reattached[0]!.stream.end();
    await sent;
    frames.run();
    expect(session.visible[1]).toMatchObject({ status: 'complete', content: 'Hello' });
    expect(session.error).toBeNull();
  });

  it('an answer whose stream gave up is followed again once the socket resyncs', async () => {
    const list = () => [msg('u1', null, { role: 'user' }), msg('a1', 'u1', { status: 'streaming', content: 'Hel' })];
    const { session, reattached } = setup({ getChat: vi.fn(async () => chat({ current_message_id: 'a1' })), listMessages: vi.fn(async () => list()) });
    session.open('c1');
    for (let i = 0; i < 5; i++) {
      await retried();
      reattached.at(-1)?.stream.fail(new ApiError(503, 'unavailable', 'draining'));
    }
    await retried();
    expect(reattached).toHaveLength(4);
    session.receive({ type: 'resync', via: 'socket' });
    await new Promise((resolve) => setTimeout(resolve, 300)); // the reload's delay
    expect(reattached).toHaveLength(5);
    expect(reattached[4]).toMatchObject({ answer: 'a1', from: 3 });
  });

  it('a stop is not a break: nothing is resumed', async () => {
    const { session, stream, reattached } = setup({ stopMessage: vi.fn(async () => msg('a1', 'u1', { status: 'stopped' })) });
    session.open(null);
    const sent = session.send('Hi');
    await settle();
    stream.push({ type: 'assistant_message', message: msg('a1', null, { status: 'streaming' }) });
    await settle();
    await session.stop();
    await sent;
    expect(reattached).toHaveLength(0);
    expect(session.error).toBeNull();
    expect(session.visible[0]!.status).toBe('stopped');
  });

  it('the socket announces this tab’s answer before its stream does: it is not reattached', async () => {
    const { session, stream, reattached } = setup();
    session.open(null);
    const sent = session.send('Hi');
    await settle();
    session.receive(fromSocket({ type: 'generation.started', chat_id: 'c1', data: msg('a1', null, { status: 'streaming' }) })!);
    stream.push({ type: 'assistant_message', message: msg('a1', null, { status: 'streaming' }) });
    await settle();
    expect(reattached).toHaveLength(0);
    stream.push({ type: 'done', message: msg('a1', null, { content: 'Hi' }) });
    stream.end();
    await sent;
    expect(reattached).toHaveLength(0);
  });

  it('leaving the chat closes its reattach streams', async () => {
    const { session, api, reattached } = setup({
      listMessages: vi.fn(async () => [msg('a1', null, { status: 'streaming', content: 'Hel' })]),
    });
    session.open('c1');
    await settle();
    expect(reattached).toHaveLength(1);
    const signal = vi.mocked(api.streamAnswer).mock.calls[0]![3]!;
    session.open(null);
    expect(signal.aborted).toBe(true);
    reattached[0]!.stream.push({ type: 'delta', content: 'lo', offset: 3 });
    await settle();
    expect(session.messages).toEqual([]);
    expect(reattached).toHaveLength(1);
  });

  it('a long chat opens with its latest messages and reveals older ones in steps', async () => {
    const list: Message[] = [];
    for (let i = 0; i < 100; i++) list.push(msg(`m${i}`, i ? `m${i - 1}` : null));
    const { session } = setup({
      getChat: vi.fn(async () => chat({ current_message_id: 'm99' })),
      listMessages: vi.fn(async () => list),
    });
    session.open('c1');
    await settle();
    expect(session.shown).toHaveLength(40);
    expect(session.firstShown).toBe(60);
    session.revealOlder();
    expect(session.shown).toHaveLength(80);
    session.revealOlder();
    expect(session.shown).toHaveLength(100);
    expect(session.firstShown).toBe(0);
  });

  it('chat updates of the open chat are taken; other chats’ events are not applied', async () => {
    const { session } = setup({ listMessages: vi.fn(async () => [msg('a1', null)]) });
    session.open('c1');
    await settle();
    session.receive(fromSocket({ type: 'chat.updated', chat_id: 'c1', data: chat({ title: 'Renamed' }) })!);
    expect(session.chat?.title).toBe('Renamed');
    session.receive(fromSocket({ type: 'message.created', chat_id: 'c2', data: msg('x', null, { chat_id: 'c2' }) })!);
    // An event of no chat at all (a session ended elsewhere) changes nothing either.
    session.receive(fromSocket({ type: 'session.ended', seq: 9, session_id: 's2' })!);
    expect(session.messages.map((m) => m.id)).toEqual(['a1']);
    expect(session.chat?.title).toBe('Renamed');
  });
  it('continues an answer in place: the same message streams again, its text grows after what it had', async () => {
    const question = msg('u1', null, { role: 'user' });
    const older = msg('a0', 'u1');
    const cut = msg('a1', 'u1', { content: 'Demo reply to:', finish_reason: 'length' });
    const { session, api, stream, frames } = setup({
      getChat: vi.fn(async () => chat({ current_message_id: 'a1' })),
      listMessages: vi.fn(async () => [question, older, cut]),
    });
    session.open('c1');
    await settle();
    const version = () => session.visible.map((m) => [m.id, m.status]);
    expect(version()).toEqual([['u1', 'complete'], ['a1', 'complete']]);
    const continued = session.continueAnswer(session.visible[1]!);
    await settle();
    expect(api.streamContinue).toHaveBeenCalledWith('c1', 'a1', {}, expect.any(AbortSignal));
    stream.push(
      { type: 'assistant_message', message: { ...cut, status: 'streaming', finish_reason: undefined } },
      { type: 'delta', content: ' more', offset: 14 },
    );
    await settle();
    expect(session.announcement).toBe('Continuing the answer…');
    expect(session.running).toBe(true);
    frames.run();
    expect(version()).toEqual([['u1', 'complete'], ['a1', 'streaming']]);
    expect(session.visible[1]!.content).toBe('Demo reply to: more');
    // Still the second of two versions.
    expect(session.children.get('u1')!.map((m) => m.id)).toEqual(['a0', 'a1']);
    // Not followed over a reattach stream: this tab's own stream carries it.
    expect(api.streamAnswer).not.toHaveBeenCalled();
    stream.push({ type: 'done', message: { ...cut, content: 'Demo reply to: more', finish_reason: 'stop' } });
    stream.end();
    expect(await continued).toBe(true);
    expect(session.messages).toHaveLength(3);
    expect(session.visible[1]).toMatchObject({ id: 'a1', status: 'complete', content: 'Demo reply to: more' });
    expect(session.announcement).toBe('Answer complete.');
  });

  it('a refused continuation says why; a 409 reloads the chat, whose copy is behind', async () => {
    const stopped = msg('a1', 'u1', { status: 'stopped', content: 'Hel' });
    let refusal: unknown = new ApiError(409, 'not_continuable', 'conflict');
    const { session, api } = setup({
      getChat: vi.fn(async () => chat({ current_message_id: 'a1' })),
      listMessages: vi.fn(async () => [msg('u1', null, { role: 'user' }), stopped]),
      streamContinue: vi.fn(async function* () {
        throw refusal;
      }),
    });
    session.open('c1');
    await settle();
    expect(await session.continueAnswer(stopped)).toBe(true);
    expect(session.error).toMatch(/cannot be continued any more/);
    expect(session.running).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(api.listMessages).toHaveBeenCalledTimes(2);
    refusal = new ApiError(422, 'validation_failed', 'invalid', { 'parameters.model': 'its upstream cannot prefill' });
    await session.continueAnswer(stopped);
    expect(session.error).toBe('This answer’s model cannot continue answers: its upstream cannot prefill');
  });
});
