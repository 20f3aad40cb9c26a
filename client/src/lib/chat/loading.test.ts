import { describe, expect, it, vi } from 'vitest';
import { toStreamEvent } from '../api/client';
import type { Chat, Message, StreamEvent } from '../api/types';
import { fromSocket, streamReader, type LiveEvent } from '../live/events';
import { GenerationTracker } from '../live/generating.svelte';
import { msg } from './fixtures';
import { ModelLoading } from './loading';
import { ChatSession } from './session.svelte';

const loading = (message_id: string, model = 'router-model', via: 'own' | 'socket' = 'own', chat_id = 'c1'): LiveEvent => ({
  type: 'generation.loading',
  via,
  chat_id,
  message_id,
  model,
});
const delta = (message_id: string, content: string, offset = 0): LiveEvent => ({
  type: 'generation.delta',
  via: 'own',
  chat_id: 'c1',
  message_id,
  content,
  offset,
});

describe('the loading event at both edges', () => {
  it('SSE `loading` names the model; the reader gives it the answer the stream named', () => {
    expect(toStreamEvent('loading', '{"model":"router-model"}')).toEqual({ type: 'loading', model: 'router-model' });
    expect(toStreamEvent('loading', '{"model":7}')).toBeNull();
    const read = streamReader('c1');
    // Before the answer is named there is nothing to mark (the server names it first).
    expect(read({ type: 'loading', model: 'm' })).toBeNull();
    read({ type: 'assistant_message', message: msg('a1', 'u1', { status: 'streaming' }) });
    expect(read({ type: 'loading', model: 'router-model' })).toEqual(loading('a1'));
    // The first delta still starts at 0.
    expect(read({ type: 'delta', content: 'Hi' })).toMatchObject({ offset: 0, content: 'Hi' });
  });

  it('the socket’s generation.loading frame, with its seq; a bad one makes the chat reload', () => {
    expect(fromSocket({ type: 'generation.loading', chat_id: 'c1', message_id: 'a1', data: { model: 'router-model' }, seq: 9 })).toEqual({
      ...loading('a1', 'router-model', 'socket'),
      seq: 9,
    });
    expect(fromSocket({ type: 'generation.loading', chat_id: 'c1', message_id: 'a1', data: {} })).toEqual({
      type: 'unreadable',
      via: 'socket',
      chat_id: 'c1',
    });
  });

  it('an answer whose model loads is generating (the sidebar’s dot)', () => {
    const tracker = new GenerationTracker();
    expect(tracker.apply(loading('a1', 'm', 'socket'))).toBe(true);
    expect(tracker.has('c1')).toBe(true);
  });
});

describe('ModelLoading', () => {
  it('marks an answer until its first text', () => {
    const state = new ModelLoading();
    expect(state.apply(loading('a1'))).toBe(true);
    expect(state.model('a1')).toBe('router-model');
    // The socket's copy of the same news says nothing new.
    expect(state.apply(loading('a1', 'router-model', 'socket'))).toBe(false);
    expect(state.apply(delta('a1', ''))).toBe(false);
    expect(state.model('a1')).toBe('router-model');
    state.apply(delta('a1', 'Hello'));
    expect(state.model('a1')).toBeUndefined();
    // A late copy from the socket, after the text began, does not bring it back.
    expect(state.apply(loading('a1', 'router-model', 'socket'))).toBe(false);
    expect(state.model('a1')).toBeUndefined();
  });

  it('an answer that ends (complete, stopped, failed) stops loading; others are untouched', () => {
    const state = new ModelLoading();
    state.apply(loading('a1'));
    state.apply(loading('a2', 'other'));
    state.apply({ type: 'generation.finished', via: 'socket', chat_id: 'c1', message: msg('a1', 'u1', { status: 'stopped' }) });
    expect(state.model('a1')).toBeUndefined();
    expect(state.model('a2')).toBe('other');
    state.apply({ type: 'generation.failed', via: 'own', chat_id: 'c1', code: 'upstream_error', error: 'x', message: msg('a2', 'u1', { status: 'error' }) });
    expect(state.model('a2')).toBeUndefined();
  });

  it('a continued answer may load again; leaving the chat forgets all', () => {
    const state = new ModelLoading();
    state.apply(loading('a1'));
    state.apply(delta('a1', 'Hi'));
    const again = msg('a1', 'u1', { status: 'streaming', content: 'Hi' });
    state.apply({ type: 'generation.started', via: 'own', chat_id: 'c1', message: again });
    expect(state.apply(loading('a1'))).toBe(true);
    state.clear();
    expect(state.model('a1')).toBeUndefined();
  });
});

describe('ChatSession and a model that loads', () => {
  const chat: Chat = { id: 'c1', title: 'Chat', parameters: {}, current_message_id: null, created_at: '', updated_at: '' };

  /** A session whose send streams `events` (then waits until the test ends it). */
  function setup(events: StreamEvent[]) {
    let finish: () => void = () => undefined;
    const ended = new Promise<void>((resolve) => (finish = resolve));
    async function* stream(): AsyncGenerator<StreamEvent> {
      yield* events;
      await ended;
    }
    const api = {
      getChat: vi.fn(async () => chat),
      listMessages: vi.fn(async () => [] as Message[]),
      createChat: vi.fn(async () => chat),
      updateChat: vi.fn(async () => chat),
      streamMessage: vi.fn(() => stream()),
      streamEdit: vi.fn(() => stream()),
      streamRegenerate: vi.fn(() => stream()),
      streamContinue: vi.fn(() => stream()),
      streamAnswer: vi.fn(() => stream()),
      stopMessage: vi.fn(async () => msg('a1', 'u1')),
      vote: vi.fn(async () => ({ message_id: 'a1', vote: null, reason: null })),
    };
    const frames: (() => void)[] = [];
    const session = new ChatSession({
      api,
      frame: (fn) => frames.push(fn),
      modelLabel: (id) => (id === 'router-model' ? 'Router model' : id),
    });
    return { session, finish, frames };
  }
  const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

  it('this tab’s stream: announced with the model’s label, shown until the first text', async () => {
    const answer = msg('a1', 'u1', { status: 'streaming' });
    const { session, finish, frames } = setup([
      { type: 'user_message', message: msg('u1', null, { role: 'user', content: 'Hi' }) },
      { type: 'assistant_message', message: answer },
      { type: 'loading', model: 'router-model' },
    ]);
    session.open(null);
    void session.send('Hi');
    await settle();
    expect(session.modelLoading.model('a1')).toBe('router-model');
    expect(session.announcement).toBe('Loading Router model…');
    session.receive(delta('a1', 'Hello'));
    frames.splice(0).forEach((fn) => fn());
    expect(session.modelLoading.model('a1')).toBeUndefined();
    finish();
    await session.stop();
  });

  it('the socket: another tab’s answer on the branch on screen shows it too; leaving the chat forgets it', async () => {
    const { session } = setup([]);
    session.open('c1');
    await settle();
    session.receive({ type: 'message.created', via: 'socket', chat_id: 'c1', message: msg('u1', null, { role: 'user' }) });
    session.receive({ type: 'generation.started', via: 'socket', chat_id: 'c1', message: msg('a1', 'u1', { status: 'streaming' }) });
    session.receive(loading('a1', 'ollama-model', 'socket'));
    expect(session.modelLoading.model('a1')).toBe('ollama-model');
    expect(session.announcement).toBe('Loading ollama-model…');
    // Another chat's answer is not this chat's business.
    session.receive(loading('a9', 'x', 'socket', 'c2'));
    expect(session.modelLoading.model('a9')).toBeUndefined();
    session.open('c2');
    expect(session.modelLoading.model('a1')).toBeUndefined();
  });
});
