import { describe, expect, it } from 'vitest';
import type { LiveEvent } from './api/types';
import { GeneratingStore, GenerationTracker, trackGenerations } from './generating.svelte';
import { publishLiveEvent } from './liveStore.svelte';

const ev = (type: string, chat_id: string, message_id: string, data?: unknown): LiveEvent => ({
  type,
  chat_id,
  message_id,
  ...(data === undefined ? {} : { data }),
});
const started = (chat: string, msg: string) => ev('generation.started', chat, msg, { id: msg, status: 'streaming' });
const finished = (chat: string, msg: string) => ev('generation.finished', chat, msg, { id: msg, status: 'complete' });
const delta = (chat: string, msg: string) => ev('generation.delta', chat, msg, { content: 'x', offset: 0 });

describe('GenerationTracker', () => {
  it('marks a chat from started to finished', () => {
    const t = new GenerationTracker();
    expect(t.apply(started('c1', 'm1'))).toBe(true);
    expect(t.has('c1')).toBe(true);
    expect(t.has('c2')).toBe(false);
    expect([...t.chatIds()]).toEqual(['c1']);
    expect(t.apply(finished('c1', 'm1'))).toBe(true);
    expect(t.has('c1')).toBe(false);
    expect(t.chatIds().size).toBe(0);
  });

  it('keeps a chat generating until all of its answers are finished', () => {
    const t = new GenerationTracker();
    t.apply(started('c1', 'm1'));
    t.apply(started('c1', 'm2'));
    t.apply(finished('c1', 'm1'));
    expect(t.has('c1')).toBe(true);
    t.apply(finished('c1', 'm2'));
    expect(t.has('c1')).toBe(false);
  });

  it('tracks several chats independently', () => {
    const t = new GenerationTracker();
    t.apply(started('c1', 'm1'));
    t.apply(started('c2', 'm2'));
    t.apply(finished('c2', 'm2'));
    expect([...t.chatIds()]).toEqual(['c1']);
  });

  it('reports no change for repeats and unrelated events', () => {
    const t = new GenerationTracker();
    t.apply(started('c1', 'm1'));
    expect(t.apply(started('c1', 'm1'))).toBe(false);
    expect(t.apply(delta('c1', 'm1'))).toBe(false);
    expect(t.apply(ev('message.voted', 'c1', 'm1', { vote: 'up' }))).toBe(false);
    expect(t.apply(finished('c9', 'm9'))).toBe(false);
    expect(t.apply({ type: 'generation.started', chat_id: 'c1' })).toBe(false); // no message id
    expect(t.apply({ type: 'generation.started', message_id: 'm5' })).toBe(false); // no chat id
    expect([...t.chatIds()]).toEqual(['c1']);
  });

  it('learns of a generation already running from its deltas (page load, after a reset)', () => {
    const t = new GenerationTracker();
    expect(t.apply(delta('c1', 'm1'))).toBe(true);
    expect(t.has('c1')).toBe(true);
    t.apply(finished('c1', 'm1'));
    expect(t.has('c1')).toBe(false);
  });

  it('does not revive a finished answer on a late event', () => {
    const t = new GenerationTracker();
    t.apply(started('c1', 'm1'));
    t.apply(finished('c1', 'm1'));
    expect(t.apply(delta('c1', 'm1'))).toBe(false);
    expect(t.apply(started('c1', 'm1'))).toBe(false);
    expect(t.has('c1')).toBe(false);
  });

  it('counts a streaming answer created by message.created, not a user message', () => {
    const t = new GenerationTracker();
    expect(t.apply(ev('message.created', 'c1', 'u1', { id: 'u1', role: 'user', status: 'complete' }))).toBe(false);
    expect(t.apply(ev('message.created', 'c1', 'a1', { id: 'a1', role: 'assistant', status: 'streaming' }))).toBe(true);
    expect(t.apply(started('c1', 'a1'))).toBe(false);
    expect(t.has('c1')).toBe(true);
  });

  it('forgets everything on reset', () => {
    const t = new GenerationTracker();
    expect(t.reset()).toBe(false);
    t.apply(started('c1', 'm1'));
    t.apply(finished('c2', 'm2'));
    expect(t.reset()).toBe(true);
    expect(t.has('c1')).toBe(false);
    // A running answer comes back with its next delta.
    t.apply(delta('c1', 'm1'));
    expect(t.has('c1')).toBe(true);
  });

  it('remembers a bounded number of finished answers', () => {
    const t = new GenerationTracker();
    for (let i = 0; i < 600; i++) t.apply(finished('c', `m${i}`));
    // The oldest were forgotten: a late delta for them counts again (harmless: the next
    // finished event or reset clears it); the recent ones stay finished.
    expect(t.apply(delta('c', 'm0'))).toBe(true);
    expect(t.apply(delta('c', 'm599'))).toBe(false);
  });
});

describe('GeneratingStore', () => {
  it('answers has() and size from the events it handles', () => {
    const s = new GeneratingStore();
    s.handle(started('c1', 'm1'));
    s.handle(started('c2', 'm2'));
    expect(s.has('c1')).toBe(true);
    expect(s.size).toBe(2);
    s.handle(finished('c1', 'm1'));
    expect(s.has('c1')).toBe(false);
    expect(s.size).toBe(1);
    s.reset();
    expect(s.size).toBe(0);
  });
});

describe('trackGenerations', () => {
  it('feeds the store from published live events until stopped, then clears it', () => {
    const s = new GeneratingStore();
    const stop = trackGenerations(s);
    publishLiveEvent(started('c1', 'm1'));
    expect(s.has('c1')).toBe(true);
    stop();
    expect(s.has('c1')).toBe(false);
    publishLiveEvent(started('c2', 'm2'));
    expect(s.size).toBe(0);
  });
});
