import { describe, expect, it } from 'vitest';
import type { Message, StreamEvent } from '../api/types';
import { fromSocket, streamReader, type LiveEvent, type Via } from '../live/events';
import { msg } from './fixtures';
import { applyLiveEvent, extendText, joinDeltas, longer, mergeReloaded, restarts, upsertMessage } from './messages';
import { childrenMap, versionInfo } from './tree';


const ctx = (leafId: string | null, streamedHere: string | null = null) => ({ leafId, streamedHere });

function delta(id: string, offset: number, content: string, via: Via = 'socket'): Extract<LiveEvent, { type: 'generation.delta' }> {
  return { type: 'generation.delta', via, chat_id: 'c1', message_id: id, content, offset };
}

/** message.created / generation.started / generation.finished of `message`. */
function event(type: 'message.created' | 'generation.started' | 'generation.finished', message: Message, via: Via = 'socket'): LiveEvent {
  return { type, via, chat_id: 'c1', message };
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

describe('applyLiveEvent', () => {
  it('a new message continuing the branch on screen is followed', () => {
    const list = [msg('u1', null, { role: 'user' }), msg('a1', 'u1')];
    const user = msg('u2', 'a1', { role: 'user', content: 'more' });
    const out = applyLiveEvent(list, event('message.created', user), ctx('a1'));
    expect(out).toEqual({ changed: true, gap: false, follow: 'u2' });
    expect(list.map((m) => m.id)).toEqual(['u1', 'a1', 'u2']);
  });

  it('a message on another branch adds a version without moving the view', () => {
    const list = [msg('u1', null, { role: 'user' }), msg('a1', 'u1')];
    const sibling = msg('a2', 'u1', { status: 'streaming' });
    const out = applyLiveEvent(list, event('generation.started', sibling), ctx('a1'));
    expect(out.follow).toBeNull();
    expect(out.changed).toBe(true);
    expect(list).toHaveLength(3);
  });

  it('the same message announced twice (own stream and socket) is kept once', () => {
    const list = [msg('u1', null, { role: 'user' })];
    const answer = msg('a1', 'u1', { status: 'streaming' });
    applyLiveEvent(list, event('generation.started', answer), ctx('u1'));
    const again = applyLiveEvent(list, event('generation.started', answer), ctx('a1'));
    expect(list).toHaveLength(2);
    expect(again.follow).toBeNull();
  });

  it('the first message of an empty chat is followed', () => {
    const list: Message[] = [];
    const out = applyLiveEvent(
      list,
      event('message.created', msg('u1', null, { role: 'user' })),
      ctx(null),
    );
    expect(out.follow).toBe('u1');
  });

  it('deltas extend a streaming answer and duplicates are ignored', () => {
    const list = [msg('a1', null, { status: 'streaming', content: 'Hel' })];
    expect(applyLiveEvent(list, delta('a1', 0, 'Hello'), ctx('a1')).changed).toBe(true);
    expect(applyLiveEvent(list, delta('a1', 0, 'Hello'), ctx('a1')).changed).toBe(false);
    applyLiveEvent(list, delta('a1', 5, ', world'), ctx('a1'));
    expect(list[0]!.content).toBe('Hello, world');
  });

  it('a tab that loaded mid-stream continues from its snapshot', () => {
    // The snapshot has more than the first delta it receives, less than the second's end.
    const list = [msg('a1', null, { status: 'streaming', content: 'The quick brown' })];
    applyLiveEvent(list, delta('a1', 4, 'quick'), ctx('a1'));
    applyLiveEvent(list, delta('a1', 9, ' brown fox'), ctx('a1'));
    expect(list[0]!.content).toBe('The quick brown fox');
  });

  it('a delta past the end of the text asks for a reload', () => {
    const list = [msg('a1', null, { status: 'streaming', content: 'Hi' })];
    const out = applyLiveEvent(list, delta('a1', 10, 'later'), ctx('a1'));
    expect(out.gap).toBe(true);
    expect(list[0]!.content).toBe('Hi');
  });

  it('a delta of an unknown answer asks for a reload; of a finished one is ignored', () => {
    const list = [msg('a1', null, { status: 'stopped', content: 'Hi' })];
    expect(applyLiveEvent(list, delta('zz', 0, 'x'), ctx('a1')).gap).toBe(true);
    expect(applyLiveEvent(list, delta('a1', 2, ' there'), ctx('a1'))).toEqual({
      changed: false,
      gap: false,
      follow: null,
    });
    expect(list[0]!.content).toBe('Hi');
  });

  it('a gap in this tab’s own stream is not a reload: the stream carries the text', () => {
    const list = [msg('a1', null, { status: 'streaming', content: '' })];
    expect(applyLiveEvent(list, delta('a1', 50, 'x'), ctx('a1', 'a1')).gap).toBe(false);
  });

  it('finished replaces the answer, unless it is this tab’s own stream', () => {
    const list = [msg('a1', null, { status: 'streaming', content: 'Hel', vote: null })];
    const done = msg('a1', null, { status: 'complete', content: 'Hello', usage: { prompt_tokens: 3, completion_tokens: 2 } });
    expect(applyLiveEvent(list, event('generation.finished', done), ctx('a1', 'a1')).changed).toBe(false);
    expect(list[0]!.status).toBe('streaming');
    applyLiveEvent(list, event('generation.finished', done), ctx('a1'));
    expect(list[0]!.status).toBe('complete');
    expect(list[0]!.content).toBe('Hello');
    expect(list[0]!.usage?.completion_tokens).toBe(2);
  });

  it('votes are applied and cleared', () => {
    const list = [msg('a1', null)];
    // Through the socket's edge: a vote that is neither up nor down is none.
    const voted = (vote: unknown): LiveEvent => fromSocket({ type: 'message.voted', chat_id: 'c1', message_id: 'a1', data: { vote, reason: null } })!;
    expect(applyLiveEvent(list, voted('down'), ctx('a1')).changed).toBe(true);
    expect(list[0]!.vote).toBe('down');
    expect(applyLiveEvent(list, voted('down'), ctx('a1')).changed).toBe(false);
    applyLiveEvent(list, voted(null), ctx('a1'));
    expect(list[0]!.vote).toBeNull();
    applyLiveEvent(list, voted('sideways'), ctx('a1'));
    expect(list[0]!.vote).toBeNull();
  });

  it('malformed payloads ask for a reload instead of breaking the list', () => {
    const list = [msg('a1', null)];
    // The socket's edge turns them into `unreadable` events of their chat.
    const unreadable = (frame: Parameters<typeof fromSocket>[0]) => fromSocket({ chat_id: 'c1', ...frame })!;
    expect(applyLiveEvent(list, unreadable({ type: 'message.created', data: { id: 3 } }), ctx('a1')).gap).toBe(true);
    expect(applyLiveEvent(list, unreadable({ type: 'generation.finished' }), ctx('a1')).gap).toBe(true);
    expect(applyLiveEvent(list, unreadable({ type: 'generation.delta', message_id: 'a1', data: { content: 1 } }), ctx('a1')).gap).toBe(true);
    expect(applyLiveEvent(list, { type: 'chat.deleted', via: 'socket', chat_id: 'c1' }, ctx('a1')).changed).toBe(false);
    expect(list).toHaveLength(1);
  });
});

describe('one reducer for both transports', () => {
  const answer = (over: Partial<Message> = {}) => msg('a1', 'u1', { status: 'streaming', content: '', ...over });
  /** This tab's own stream, through its edge: the deltas get their offsets counted. */
  function stream(events: StreamEvent[]): LiveEvent[] {
    const read = streamReader('c1');
    return events.map((e) => read(e)).filter((e): e is LiveEvent => e !== null);
  }

  it('the stream counts the offsets of its deltas from the answer it announced', () => {
    const events = stream([
      { type: 'assistant_message', message: answer({ content: 'Hi' }) },
      { type: 'delta', content: ' the' },
      { type: 'delta', content: 're 😀' },
    ]);
    expect(events.map((e) => (e.type === 'generation.delta' ? [e.message_id, e.offset, e.content] : e.type))).toEqual([
      'generation.started',
      ['a1', 2, ' the'],
      ['a1', 6, 're 😀'],
    ]);
  });

  it('an answer a stream of this tab carries takes its text from the stream alone, never twice', () => {
    const list = [msg('u1', null, { role: 'user' })];
    const own = stream([
      { type: 'assistant_message', message: answer() },
      { type: 'delta', content: 'Hello' },
      { type: 'delta', content: ', world' },
    ]);
    applyLiveEvent(list, own[0]!, ctx('u1', 'a1'));
    // The socket's deltas of it, ahead of the stream or behind it, are ignored.
    expect(applyLiveEvent(list, delta('a1', 0, 'Hello, wo'), ctx('a1', 'a1'))).toEqual({ changed: false, gap: false, follow: null });
    expect(applyLiveEvent(list, own[1]!, ctx('a1', 'a1')).changed).toBe(true);
    expect(applyLiveEvent(list, delta('a1', 50, 'later'), ctx('a1', 'a1')).gap).toBe(false);
    applyLiveEvent(list, own[2]!, ctx('a1', 'a1'));
    expect(list[1]!.content).toBe('Hello, world');
    expect(list).toHaveLength(2);
  });

  it('an answer followed over a reattach stream: its deltas apply, the socket’s are ignored, its end is the socket’s too', () => {
    // Opened mid-answer: the snapshot has "Hello"; the reattach stream goes on from 5.
    const list = [msg('u1', null, { role: 'user' }), answer({ content: 'Hello' })];
    const following = { leafId: 'a1', streamedHere: null, followed: new Set(['a1']) };
    const read = streamReader('c1', { via: 'follow', answer: 'a1', offset: 5 });
    const reattached = [
      { type: 'assistant_message', message: answer() },
      { type: 'delta', content: ', wor', offset: 5 },
      { type: 'delta', content: 'ld' },
      { type: 'done', message: answer({ status: 'complete', content: 'Hello, world!' }) },
    ] satisfies StreamEvent[];
    const [first, second, end] = reattached.map(read).filter((e): e is LiveEvent => e !== null);
    expect([first, second].map((e) => e?.type === 'generation.delta' && [e.via, e.offset, e.content])).toEqual([
      ['follow', 5, ', wor'],
      ['follow', 10, 'ld'],
    ]);
    applyLiveEvent(list, first!, following);
    expect(applyLiveEvent(list, delta('a1', 0, 'Hello, world!!'), following).changed).toBe(false);
    applyLiveEvent(list, second!, following);
    expect(list[1]!.content).toBe('Hello, world');
    // Not followed (its stream gave up): the socket's deltas stand in.
    expect(applyLiveEvent(list, delta('a1', 12, '!'), ctx('a1')).changed).toBe(true);
    expect(end).toMatchObject({ type: 'generation.finished', via: 'follow' });
    expect(applyLiveEvent(list, end!, following)).toEqual({ changed: true, gap: false, follow: null });
    expect(list[1]).toMatchObject({ status: 'complete', content: 'Hello, world!' });
  });

  it('what this tab asked for is followed, even when the socket announced it first', () => {
    // An edit: the new user message is a sibling of the one on screen, not a continuation.
    const list = [msg('u1', null, { role: 'user' }), msg('a1', 'u1')];
    const edited = msg('u2', null, { role: 'user', content: 'edited' });
    expect(applyLiveEvent(list, event('message.created', edited), ctx('a1')).follow).toBeNull();
    expect(applyLiveEvent(list, event('message.created', edited, 'own'), ctx('a1')).follow).toBe('u2');
    expect(list).toHaveLength(3);
  });

  it('an answer that ended never goes back to streaming, whoever reports it late', () => {
    const list = [answer({ content: 'Hel' })];
    applyLiveEvent(list, event('generation.finished', answer({ status: 'stopped', content: 'Hel' })), ctx('a1'));
    for (const late of [event('generation.started', answer({ content: 'Hello' }), 'own'), delta('a1', 3, 'lo', 'own')]) {
      expect(applyLiveEvent(list, late, ctx('a1', 'a1')).changed).toBe(false);
    }
    expect(list[0]).toMatchObject({ status: 'stopped', content: 'Hel' });
  });

  it('the end of this tab’s answer comes from its stream; a not-saved answer stays on screen', () => {
    const list = [msg('u1', null, { role: 'user' })];
    const [started, failed] = stream([
      { type: 'assistant_message', message: answer() },
      { type: 'error', code: 'not_saved', message: 'not saved', assistant_message: answer({ status: 'complete', content: 'All of it' }) },
    ]);
    applyLiveEvent(list, started!, ctx('u1', 'a1'));
    expect(failed).toMatchObject({ type: 'generation.failed', code: 'not_saved', error: 'not saved' });
    expect(applyLiveEvent(list, failed!, ctx('a1')).changed).toBe(true);
    expect(list[1]).toMatchObject({ status: 'complete', content: 'All of it' });
  });

  it('a failure without an answer changes nothing; a resync asks for a reload', () => {
    const list = [msg('u1', null, { role: 'user' })];
    const [failed] = stream([{ type: 'error', code: 'upstream_error', message: 'boom', assistant_message: null }]);
    expect(applyLiveEvent(list, failed!, ctx('u1'))).toEqual({ changed: false, gap: false, follow: null });
    expect(applyLiveEvent(list, { type: 'resync', via: 'socket' }, ctx('u1')).gap).toBe(true);
  });

  it('deltas join into one per frame when they continue each other', () => {
    expect(joinDeltas(delta('a1', 0, 'Hel'), delta('a1', 3, 'lo'))?.content).toBe('Hello');
    expect(joinDeltas(delta('a1', 0, 'Hello'), delta('a1', 2, 'llo, w'))?.content).toBe('Hello, w');
    expect(joinDeltas(delta('a1', 0, 'Hel'), delta('a1', 9, 'x'))).toBeNull();
    expect(joinDeltas(delta('a1', 0, 'Hel'), delta('a2', 3, 'x'))).toBeNull();
    // Not across transports: the socket's may be ignored where the stream's are not.
    expect(joinDeltas(delta('a1', 0, 'Hel'), delta('a1', 3, 'lo', 'own'))).toBeNull();
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

describe('a continued answer (the same message streams again)', () => {
  const run = { parameters: {}, status: 'complete' as const, finish_reason: 'length', usage: { prompt_tokens: 5, completion_tokens: 3 }, duration_ms: 10, started_at: '2026-01-01T00:01:00Z' };
  /** A question with two versions of its answer; the first, cut at max tokens, is on screen. */
  function chat() {
    const list = [
      msg('u1', null, { role: 'user', content: 'q' }),
      msg('a1', 'u1', { content: 'Demo reply to:', status: 'complete', finish_reason: 'length', vote: 'up' }),
      msg('a2', 'u1', { content: 'Other version' }),
    ];
    return list;
  }
  const position = (list: Message[]) => versionInfo(childrenMap(list), list.find((m) => m.id === 'a1')!);

  it('its start, for a message already shown, replaces that message where it is: no second one, same version', () => {
    const list = chat();
    const before = position(list);
    const started = msg('a1', 'u1', { status: 'streaming', content: 'Demo reply to:', created_at: list[1]!.created_at });
    for (const via of ['socket', 'follow'] as const) {
      const copy = structuredClone(list);
      const out = applyLiveEvent(copy, event('generation.started', started, via), ctx('a1'));
      expect(out).toEqual({ changed: true, gap: false, follow: null });
      expect(copy.map((m) => m.id)).toEqual(['u1', 'a1', 'a2']);
      expect(copy[1]).toMatchObject({ status: 'streaming', content: 'Demo reply to:', vote: 'up' });
      expect(copy[1]!.finish_reason).toBeUndefined();
      expect(position(copy)).toEqual(before);
    }
  });

  it('this tab’s own continuation: its stream’s start and deltas (offsets after the text it had) grow the same message', () => {
    const list = chat();
    const before = position(list);
    const read = streamReader('c1');
    const events = [
      { type: 'assistant_message', message: msg('a1', 'u1', { status: 'streaming', content: 'Demo reply to:', created_at: list[1]!.created_at }) },
      { type: 'delta', content: ' more', offset: 14 },
      { type: 'delta', content: ' text' }, // no offset: counted from the text so far
      { type: 'done', message: msg('a1', 'u1', { content: 'Demo reply to: more text', continuations: [run], created_at: list[1]!.created_at }) },
    ] satisfies StreamEvent[];
    const live = events.map(read).filter((e): e is LiveEvent => e !== null);
    expect(live[2]).toMatchObject({ type: 'generation.delta', offset: 19 });
    const context = { leafId: 'a1', streamedHere: 'a1', continuing: 'a1' };
    expect(applyLiveEvent(list, live[0]!, context)).toEqual({ changed: true, gap: false, follow: 'a1' });
    expect(list[1]!.status).toBe('streaming');
    applyLiveEvent(list, live[1]!, context);
    // The same delta again, and one that overlaps it, add nothing.
    expect(applyLiveEvent(list, live[1]!, context).changed).toBe(false);
    expect(applyLiveEvent(list, delta('a1', 17, 're', 'own'), context).changed).toBe(false);
    applyLiveEvent(list, live[2]!, context);
    expect(list[1]!.content).toBe('Demo reply to: more text');
    applyLiveEvent(list, live[3]!, context);
    expect(list).toHaveLength(3);
    expect(list[1]).toMatchObject({ status: 'complete', content: 'Demo reply to: more text', continuations: [run], vote: 'up' });
    expect(position(list)).toEqual(before);
  });

  it('another tab’s continuation over the socket: deltas by offset, no text twice, a gap asks for a reload', () => {
    const list = chat();
    applyLiveEvent(list, event('generation.started', msg('a1', 'u1', { status: 'streaming', content: 'Demo reply to:' })), ctx('a1'));
    expect(applyLiveEvent(list, delta('a1', 14, ' more'), ctx('a1')).changed).toBe(true);
    expect(applyLiveEvent(list, delta('a1', 14, ' more'), ctx('a1')).changed).toBe(false);
    expect(applyLiveEvent(list, delta('a1', 0, 'Demo reply to: mo'), ctx('a1')).changed).toBe(false);
    expect(applyLiveEvent(list, delta('a1', 30, 'later'), ctx('a1')).gap).toBe(true);
    expect(list[1]!.content).toBe('Demo reply to: more');
  });

  it('a late start of an earlier run does not take an ended answer back to streaming', () => {
    // The continuation ended (one run recorded); its start arrives late over the socket.
    const list = [msg('a1', null, { content: 'Demo reply to: more', continuations: [run] })];
    expect(applyLiveEvent(list, event('generation.started', msg('a1', null, { status: 'streaming', content: 'Demo reply to:' })), ctx('a1')).changed).toBe(false);
    // The first run's start (no text) after its end: ignored too.
    const first = [msg('a1', null, { status: 'stopped', content: 'Demo' })];
    expect(applyLiveEvent(first, event('generation.started', msg('a1', null, { status: 'streaming', content: '' })), ctx('a1')).changed).toBe(false);
    expect(list[0]!.status).toBe('complete');
    expect(first[0]!.status).toBe('stopped');
  });

  it('an empty answer: only this tab’s own continuation takes it back (another start is ambiguous)', () => {
    const list = [msg('a1', null, { status: 'stopped', content: '' })];
    const start = msg('a1', null, { status: 'streaming', content: '' });
    expect(applyLiveEvent(list, event('generation.started', start), ctx('a1')).changed).toBe(false);
    expect(applyLiveEvent(list, event('generation.started', start, 'own'), { ...ctx('a1', 'a1'), continuing: 'a1' }).changed).toBe(true);
    expect(list[0]!.status).toBe('streaming');
  });

  it('restarts: more runs, or the same text; a reload also takes more text after the text shown', () => {
    const ended = msg('a1', null, { status: 'stopped', content: 'Hello' });
    const streaming = (content: string, runs = 0) => msg('a1', null, { status: 'streaming', content, ...(runs ? { continuations: [run] } : {}) });
    expect(restarts(ended, streaming('Hello'))).toBe(true);
    expect(restarts(ended, streaming('Hello, world'))).toBe(false);
    expect(restarts(ended, streaming('Hello, world'), true)).toBe(true);
    expect(restarts(ended, streaming('Hel'), true)).toBe(false);
    expect(restarts(ended, streaming('Bye, world'), true)).toBe(false);
    expect(restarts(ended, streaming('', 1))).toBe(true);
    expect(restarts(streaming('Hello'), streaming('Hello'))).toBe(false);
  });

  it('a reload while it is continued shows it streaming again; a reload that raced its end does not', () => {
    const current = [msg('a1', null, { status: 'complete', finish_reason: 'length', content: 'Demo reply to:', vote: 'down' })];
    const merged = mergeReloaded(current, [msg('a1', null, { status: 'streaming', content: 'Demo reply to: more', vote: null })]);
    expect(merged[0]).toMatchObject({ status: 'streaming', content: 'Demo reply to: more', vote: 'down' });
    const ended = [msg('a1', null, { content: 'Demo reply to: more', continuations: [run] })];
    expect(mergeReloaded(ended, [msg('a1', null, { status: 'streaming', content: 'Demo reply to: mo' })])[0]!.status).toBe('complete');
  });
});
