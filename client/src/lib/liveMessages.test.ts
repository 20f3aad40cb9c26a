import { describe, expect, it } from 'vitest';
import type { LiveEvent, Message } from './api/types';
import { applyMessageEvent, extendText, longer, mergeReloaded, upsertMessage } from './liveMessages';

let clock = 0;
function msg(id: string, parent: string | null, over: Partial<Message> = {}): Message {
  clock++;
  return {
    id,
    chat_id: 'c1',
    parent_id: parent,
    role: 'assistant',
    content: '',
    status: 'complete',
    created_at: `2026-01-01T00:00:${String(clock).padStart(2, '0')}Z`,
    vote: null,
    ...over,
  };
}

const ctx = (leafId: string | null, ownStreamId: string | null = null) => ({ leafId, ownStreamId });

function delta(id: string, offset: number, content: string): LiveEvent {
  return { type: 'generation.delta', chat_id: 'c1', message_id: id, data: { content, offset } };
}

describe('extendText', () => {
  it('appends a delta that starts at the end', () => {
    expect(extendText('Hello', 5, ' world')).toBe('Hello world');
  });
  it('overlapping deltas extend without repeating text', () => {
    expect(extendText('Hello wo', 5, ' world')).toBe('Hello world');
  });
  it('a delta wholly inside the text changes nothing', () => {
    expect(extendText('Hello world', 0, 'Hello')).toBe('Hello world');
  });
  it('a delta beyond the end is a gap', () => {
    expect(extendText('Hi', 5, 'later')).toBeNull();
    expect(extendText('Hi', -1, 'x')).toBeNull();
    expect(extendText('Hi', 1.5, 'x')).toBeNull();
  });
  it('offsets count UTF-16 units, like the server', () => {
    const text = 'é😀'; // 1 + 2 units
    expect(text.length).toBe(3);
    expect(extendText(text, 3, '!')).toBe('é😀!');
  });
  it('longer keeps the longer prefix', () => {
    expect(longer('abc', 'ab')).toBe('abc');
    expect(longer('ab', 'abc')).toBe('abc');
  });
});

describe('upsertMessage', () => {
  it('adds unknown messages and replaces known ones', () => {
    const list = [msg('a', null, { role: 'user', content: 'q' })];
    expect(upsertMessage(list, msg('b', 'a', { content: 'x' }))).toBe(true);
    expect(list.map((m) => m.id)).toEqual(['a', 'b']);
    upsertMessage(list, { ...list[1]!, content: 'final', status: 'complete' });
    expect(list[1]!.content).toBe('final');
    expect(list).toHaveLength(2);
  });
  it('a streaming snapshot never shortens the text on screen', () => {
    const list = [msg('b', null, { status: 'streaming', content: 'Hello world' })];
    upsertMessage(list, msg('b', null, { status: 'streaming', content: 'Hello' }));
    expect(list[0]!.content).toBe('Hello world');
  });
  it('a late streaming snapshot does not revive a finished answer', () => {
    const list = [msg('b', null, { status: 'stopped', content: 'Hel' })];
    expect(upsertMessage(list, msg('b', null, { status: 'streaming', content: 'Hello' }))).toBe(false);
    expect(list[0]!.status).toBe('stopped');
    expect(list[0]!.content).toBe('Hel');
  });
  it('keeps the vote when the incoming copy has none', () => {
    const list = [msg('b', null, { vote: 'up' })];
    upsertMessage(list, msg('b', null, { content: 'again' }));
    expect(list[0]!.vote).toBe('up');
  });
});

describe('applyMessageEvent', () => {
  it('a new message continuing the branch on screen is followed', () => {
    const list = [msg('u1', null, { role: 'user' }), msg('a1', 'u1')];
    const user = msg('u2', 'a1', { role: 'user', content: 'more' });
    const out = applyMessageEvent(list, { type: 'message.created', message_id: 'u2', data: user }, ctx('a1'));
    expect(out).toEqual({ changed: true, gap: false, follow: 'u2' });
    expect(list.map((m) => m.id)).toEqual(['u1', 'a1', 'u2']);
  });

  it('a message on another branch adds a version without moving the view', () => {
    const list = [msg('u1', null, { role: 'user' }), msg('a1', 'u1')];
    const sibling = msg('a2', 'u1', { status: 'streaming' });
    const out = applyMessageEvent(list, { type: 'generation.started', message_id: 'a2', data: sibling }, ctx('a1'));
    expect(out.follow).toBeNull();
    expect(out.changed).toBe(true);
    expect(list).toHaveLength(3);
  });

  it('the same message announced twice (own stream and socket) is kept once', () => {
    const list = [msg('u1', null, { role: 'user' })];
    const answer = msg('a1', 'u1', { status: 'streaming' });
    applyMessageEvent(list, { type: 'generation.started', message_id: 'a1', data: answer }, ctx('u1'));
    const again = applyMessageEvent(list, { type: 'generation.started', message_id: 'a1', data: answer }, ctx('a1'));
    expect(list).toHaveLength(2);
    expect(again.follow).toBeNull();
  });

  it('the first message of an empty chat is followed', () => {
    const list: Message[] = [];
    const out = applyMessageEvent(
      list,
      { type: 'message.created', message_id: 'u1', data: msg('u1', null, { role: 'user' }) },
      ctx(null),
    );
    expect(out.follow).toBe('u1');
  });

  it('deltas extend a streaming answer and duplicates are ignored', () => {
    const list = [msg('a1', null, { status: 'streaming', content: 'Hel' })];
    expect(applyMessageEvent(list, delta('a1', 0, 'Hello'), ctx('a1')).changed).toBe(true);
    expect(applyMessageEvent(list, delta('a1', 0, 'Hello'), ctx('a1')).changed).toBe(false);
    applyMessageEvent(list, delta('a1', 5, ', world'), ctx('a1'));
    expect(list[0]!.content).toBe('Hello, world');
  });

  it('a tab that loaded mid-stream continues from its snapshot', () => {
    // The snapshot has more than the first delta it receives, less than the second's end.
    const list = [msg('a1', null, { status: 'streaming', content: 'The quick brown' })];
    applyMessageEvent(list, delta('a1', 4, 'quick'), ctx('a1'));
    applyMessageEvent(list, delta('a1', 9, ' brown fox'), ctx('a1'));
    expect(list[0]!.content).toBe('The quick brown fox');
  });

  it('a delta past the end of the text asks for a reload', () => {
    const list = [msg('a1', null, { status: 'streaming', content: 'Hi' })];
    const out = applyMessageEvent(list, delta('a1', 10, 'later'), ctx('a1'));
    expect(out.gap).toBe(true);
    expect(list[0]!.content).toBe('Hi');
  });

  it('a delta of an unknown answer asks for a reload; of a finished one is ignored', () => {
    const list = [msg('a1', null, { status: 'stopped', content: 'Hi' })];
    expect(applyMessageEvent(list, delta('zz', 0, 'x'), ctx('a1')).gap).toBe(true);
    expect(applyMessageEvent(list, delta('a1', 2, ' there'), ctx('a1'))).toEqual({
      changed: false,
      gap: false,
      follow: null,
    });
    expect(list[0]!.content).toBe('Hi');
  });

  it('a gap in this tab’s own stream is not a reload: the stream carries the text', () => {
    const list = [msg('a1', null, { status: 'streaming', content: '' })];
    expect(applyMessageEvent(list, delta('a1', 50, 'x'), ctx('a1', 'a1')).gap).toBe(false);
  });

  it('finished replaces the answer, unless it is this tab’s own stream', () => {
    const list = [msg('a1', null, { status: 'streaming', content: 'Hel', vote: null })];
    const done = msg('a1', null, { status: 'complete', content: 'Hello', usage: { prompt_tokens: 3, completion_tokens: 2 } });
    expect(applyMessageEvent(list, { type: 'generation.finished', message_id: 'a1', data: done }, ctx('a1', 'a1')).changed).toBe(false);
    expect(list[0]!.status).toBe('streaming');
    applyMessageEvent(list, { type: 'generation.finished', message_id: 'a1', data: done }, ctx('a1'));
    expect(list[0]!.status).toBe('complete');
    expect(list[0]!.content).toBe('Hello');
    expect(list[0]!.usage?.completion_tokens).toBe(2);
  });

  it('votes are applied and cleared', () => {
    const list = [msg('a1', null)];
    const voted = (vote: unknown): LiveEvent => ({ type: 'message.voted', message_id: 'a1', data: { vote, reason: null } });
    expect(applyMessageEvent(list, voted('down'), ctx('a1')).changed).toBe(true);
    expect(list[0]!.vote).toBe('down');
    expect(applyMessageEvent(list, voted('down'), ctx('a1')).changed).toBe(false);
    applyMessageEvent(list, voted(null), ctx('a1'));
    expect(list[0]!.vote).toBeNull();
    applyMessageEvent(list, voted('sideways'), ctx('a1'));
    expect(list[0]!.vote).toBeNull();
  });

  it('malformed payloads ask for a reload instead of breaking the list', () => {
    const list = [msg('a1', null)];
    expect(applyMessageEvent(list, { type: 'message.created', data: { id: 3 } }, ctx('a1')).gap).toBe(true);
    expect(applyMessageEvent(list, { type: 'generation.finished' }, ctx('a1')).gap).toBe(true);
    expect(applyMessageEvent(list, { type: 'chat.updated' }, ctx('a1')).changed).toBe(false);
    expect(list).toHaveLength(1);
  });
});

describe('mergeReloaded', () => {
  it('takes the server list but keeps the longer text of a streaming answer', () => {
    const current = [msg('a1', null, { status: 'streaming', content: 'Hello wor' })];
    const loaded = [
      { ...current[0]!, content: 'Hello' },
      msg('a2', null, { content: 'other' }),
    ];
    const merged = mergeReloaded(current, loaded);
    expect(merged.map((m) => m.content)).toEqual(['Hello wor', 'other']);
  });
  it('a reload that raced the end of an answer does not bring it back to streaming', () => {
    const current = [msg('a1', null, { status: 'complete', content: 'Hello world' })];
    const loaded = [{ ...current[0]!, status: 'streaming' as const, content: '' }];
    const merged = mergeReloaded(current, loaded);
    expect(merged[0]!.status).toBe('complete');
    expect(merged[0]!.content).toBe('Hello world');
  });
  it('a finished answer from the server wins over the streaming copy', () => {
    const current = [msg('a1', null, { status: 'streaming', content: 'Hello wor' })];
    const loaded = [{ ...current[0]!, status: 'stopped' as const, content: 'Hello' }];
    expect(mergeReloaded(current, loaded)[0]!.content).toBe('Hello');
  });
});
