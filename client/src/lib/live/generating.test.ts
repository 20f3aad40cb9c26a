import { describe, expect, it } from 'vitest';
import type { Message, SocketFrame } from '../api/types';
import { fromSocket, type LiveEvent } from './events';
import { GeneratingStore, GenerationTracker, trackGenerations } from './generating.svelte';
import { LiveStore } from './live.svelte';

/** A socket frame, as the tracker sees it: turned into a `LiveEvent` at the edge (or dropped). */
const ev = (type: string, chat_id: string, message_id: string, data?: unknown): SocketFrame => ({
  type,
  chat_id,
  message_id,
  ...(data === undefined ? {} : { data }),
});
const message = (id: string, role: Message['role'], status: Message['status']) => ({ id, chat_id: 'c', role, content: '', status });
const started = (chat: string, msg: string) => ev('generation.started', chat, msg, message(msg, 'assistant', 'streaming'));
const finished = (chat: string, msg: string) => ev('generation.finished', chat, msg, message(msg, 'assistant', 'complete'));
const delta = (chat: string, msg: string) => ev('generation.delta', chat, msg, { content: 'x', offset: 0 });

/** Tracker and store, fed socket frames through the socket's edge. */
class Tracker extends GenerationTracker {
  override apply(frame: SocketFrame | LiveEvent): boolean {
    if ('via' in frame) return super.apply(frame);
    const event = fromSocket(frame);
    return event ? super.apply(event) : false;
  }
}
class Store extends GeneratingStore {
  override handle(frame: SocketFrame | LiveEvent): void {
    if ('via' in frame) return super.handle(frame);
    const event = fromSocket(frame);
    if (event) super.handle(event);
  }
}

describe('GenerationTracker', () => {
  it('marks a chat from started to finished', () => {
    const t = new Tracker();
    expect(t.apply(started('c1', 'm1'))).toBe(true);
    expect(t.has('c1')).toBe(true);
    expect(t.has('c2')).toBe(false);
    expect([...t.chatIds()]).toEqual(['c1']);
    expect(t.apply(finished('c1', 'm1'))).toBe(true);
    expect(t.has('c1')).toBe(false);
    expect(t.chatIds().size).toBe(0);
  });

  it('keeps a chat generating until all of its answers are finished', () => {
    const t = new Tracker();
    t.apply(started('c1', 'm1'));
    t.apply(started('c1', 'm2'));
    t.apply(finished('c1', 'm1'));
    expect(t.has('c1')).toBe(true);
    t.apply(finished('c1', 'm2'));
    expect(t.has('c1')).toBe(false);
  });

  it('tracks several chats independently', () => {
    const t = new Tracker();
    t.apply(started('c1', 'm1'));
    t.apply(started('c2', 'm2'));
    t.apply(finished('c2', 'm2'));
    expect([...t.chatIds()]).toEqual(['c1']);
  });

  it('reports no change for repeats and unrelated events', () => {
    const t = new Tracker();
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
    const t = new Tracker();
    expect(t.apply(delta('c1', 'm1'))).toBe(true);
    expect(t.has('c1')).toBe(true);
    t.apply(finished('c1', 'm1'));
    expect(t.has('c1')).toBe(false);
  });

  it('does not revive a finished answer on a late event', () => {
    const t = new Tracker();
    t.apply(started('c1', 'm1'));
    t.apply(finished('c1', 'm1'));
    expect(t.apply(delta('c1', 'm1'))).toBe(false);
    expect(t.apply(started('c1', 'm1'))).toBe(false);
    expect(t.has('c1')).toBe(false);
  });

  it('a finished answer that is continued (its start carries its text) runs again', () => {
    const t = new Tracker();
    t.apply(started('c1', 'm1'));
    t.apply(finished('c1', 'm1'));
    const continued = ev('generation.started', 'c1', 'm1', { ...message('m1', 'assistant', 'streaming'), content: 'Demo reply to:' });
    expect(t.apply(continued)).toBe(true);
    expect(t.has('c1')).toBe(true);
    t.apply(finished('c1', 'm1'));
    expect(t.has('c1')).toBe(false);
  });

  it('counts a streaming answer created by message.created, not a user message', () => {
    const t = new Tracker();
    expect(t.apply(ev('message.created', 'c1', 'u1', message('u1', 'user', 'complete')))).toBe(false);
    expect(t.apply(ev('message.created', 'c1', 'a1', message('a1', 'assistant', 'streaming')))).toBe(true);
    expect(t.apply(started('c1', 'a1'))).toBe(false);
    expect(t.has('c1')).toBe(true);
  });

  it('forgets everything on reset', () => {
    const t = new Tracker();
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
    const t = new Tracker();
    for (let i = 0; i < 600; i++) t.apply(finished('c', `m${i}`));
    // The oldest were forgotten: a late delta for them counts again (harmless: the next
    // finished event or reset clears it); the recent ones stay finished.
    expect(t.apply(delta('c', 'm0'))).toBe(true);
    expect(t.apply(delta('c', 'm599'))).toBe(false);
  });
});

describe('GeneratingStore', () => {
  it('answers has() and size from the events it handles', () => {
    const s = new Store();
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
    const s = new Store();
    const source = new LiveStore();
    const stop = trackGenerations(s, source);
    source.receive(started('c1', 'm1'));
    expect(s.has('c1')).toBe(true);
    stop();
    expect(s.has('c1')).toBe(false);
    source.receive(started('c2', 'm2'));
    expect(s.size).toBe(0);
  });

  it('forgets everything when events may have been lost (resync)', () => {
    const s = new Store();
    const source = new LiveStore();
    const stop = trackGenerations(s, source);
    source.receive(started('c1', 'm1'));
    source.dispatch({ type: 'resync', via: 'socket' });
    expect(s.size).toBe(0);
    source.receive(delta('c1', 'm1'));
    expect(s.has('c1')).toBe(true);
    stop();
  });
});
