import { describe, expect, it } from 'vitest';
import { ApiError } from '../api/errors';
import type { Message, StreamEvent } from '../api/types';
import type { LiveEvent } from './events';
import { reattach, type ReattachOptions } from './reattach';

const answer = (over: Partial<Message> = {}): Message => ({
  id: 'a1',
  chat_id: 'c1',
  parent_id: 'u1',
  role: 'assistant',
  content: '',
  status: 'streaming',
  created_at: '2026-01-01T00:00:00Z',
  vote: null,
  ...over,
});

/** One attempt of the fake server: the events it sends, then how the stream ends. */
interface Attempt {
  events: StreamEvent[];
  /** Thrown after the events (a broken stream, or a refused request when there are none). */
  fail?: unknown;
}

/**
 * Runs `reattach` over scripted attempts, applying each delta to `text` as the session does (the
 * text shown is where the next attempt goes on from). Returns what was applied and asked.
 */
async function run(attempts: Attempt[], text = '', over: Partial<ReattachOptions> = {}) {
  const froms: number[] = [];
  const seen: LiveEvent[] = [];
  let shown = text;
  const options: ReattachOptions = {
    chatId: 'c1',
    answer: 'a1',
    via: 'follow',
    signal: new AbortController().signal,
    backoff: [0, 0, 0],
    online: () => true,
    network: new EventTarget(),
    shown: () => shown.length,
    open: (from) => {
      froms.push(from);
      const attempt = attempts.shift();
      return (async function* () {
        if (!attempt) throw new ApiError(0, 'network_error', 'unreachable');
        yield* attempt.events;
        if (attempt.fail) throw attempt.fail;
      })();
    },
    ...over,
  };
  let error: unknown = null;
  try {
    for await (const event of reattach(options)) {
      seen.push(event);
      if (event.type === 'generation.delta') {
        // The reducer's rule: the delta continues the text at its offset, or lies inside it.
        expect(event.offset).toBeLessThanOrEqual(shown.length);
        if (event.offset + event.content.length > shown.length) shown = shown.slice(0, event.offset) + event.content;
      }
    }
  } catch (e) {
    error = e;
  }
  return { froms, seen, shown, error };
}

describe('reattach', () => {
  it('catches up from the text shown, then follows live to the end; each piece once', async () => {
    const { froms, seen, shown, error } = await run(
      [
        {
          events: [
            { type: 'assistant_message', message: answer() },
            { type: 'delta', content: 'lo, wor', offset: 3 }, // the catch-up
            { type: 'delta', content: 'ld', offset: 10 }, // live
            { type: 'done', message: answer({ status: 'complete', content: 'Hello, world' }) },
          ],
        },
      ],
      'Hel',
    );
    expect(error).toBeNull();
    expect(froms).toEqual([3]);
    expect(shown).toBe('Hello, world');
    // The opening (the answer as it started, without text) is not passed on: the tab shows it.
    expect(seen.map((e) => (e.type === 'generation.delta' ? `${e.via}@${e.offset}:${e.content}` : `${e.type}/${e.via}`))).toEqual([
      'follow@3:lo, wor',
      'follow@10:ld',
      'generation.finished/follow',
    ]);
  });

  it('an answer that has ended: the rest of its text and its end at once', async () => {
    const final = answer({ status: 'error', content: 'Partial', error: { code: 'upstream_error', message: 'boom' } });
    const { seen, shown } = await run(
      [
        {
          events: [
            { type: 'assistant_message', message: answer() },
            { type: 'delta', content: 'tial', offset: 3 },
            { type: 'error', code: 'upstream_error', message: 'boom', assistant_message: final },
          ],
        },
      ],
      'Par',
    );
    expect(shown).toBe('Partial');
    // Another tab's answer failed: that answer's state, like the socket's `generation.finished`.
    expect(seen.at(-1)).toMatchObject({ type: 'generation.finished', via: 'follow', message: { status: 'error' } });
  });

  it('a broken stream is opened again from what was received; nothing twice, nothing missing', async () => {
    const { froms, shown, seen, error } = await run(
      [
        { events: [{ type: 'assistant_message', message: answer() }, { type: 'delta', content: 'Hel' }], fail: new TypeError('network error') },
        { events: [], fail: new ApiError(503, 'draining', 'draining') },
        { events: [{ type: 'assistant_message', message: answer() }, { type: 'delta', content: 'lo' }], fail: new TypeError('network error') },
        { events: [{ type: 'delta', content: '!', offset: 5 }, { type: 'done', message: answer({ status: 'complete', content: 'Hello!' }) }] },
      ],
      '',
      { via: 'own' },
    );
    expect(error).toBeNull();
    expect(froms).toEqual([0, 3, 3, 5]);
    expect(shown).toBe('Hello!');
    expect(seen.filter((e) => e.type === 'generation.delta').map((e) => e.type === 'generation.delta' && e.offset)).toEqual([0, 3, 5]);
    expect(seen.at(-1)).toMatchObject({ type: 'generation.finished', via: 'own' });
  });

  it('a stream that ends before the answer did is opened again too', async () => {
    const { froms, shown } = await run([
      { events: [{ type: 'delta', content: 'Hi' }] },
      { events: [{ type: 'done', message: answer({ status: 'complete', content: 'Hi' }) }] },
    ]);
    expect(froms).toEqual([0, 2]);
    expect(shown).toBe('Hi');
  });

  it('404 (gone, or not this user’s): stops at once', async () => {
    const gone = new ApiError(404, 'not_found', 'not found');
    const { froms, error } = await run([{ events: [], fail: gone }, { events: [] }]);
    expect(froms).toEqual([0]);
    expect(error).toBe(gone);
  });

  it('gives up after a bounded run of attempts that bring no text', async () => {
    const down = () => ({ events: [], fail: new ApiError(0, 'network_error', 'unreachable') });
    const { froms, error } = await run([down(), down(), down(), down(), down(), down()], 'Hel');
    // The first attempt and one per back-off step.
    expect(froms).toEqual([3, 3, 3, 3]);
    expect(error).toMatchObject({ status: 0, code: 'network_error' });
  });

  it('while offline it waits for the browser to be back online, then goes on at once', async () => {
    const network = new EventTarget();
    let online = true;
    const controller = new AbortController();
    const opened: number[] = [];
    const script: Attempt[] = [
      { events: [{ type: 'delta', content: 'Hel' }], fail: new TypeError('network error') },
      { events: [{ type: 'delta', content: 'lo', offset: 3 }, { type: 'done', message: answer({ status: 'complete', content: 'Hello' }) }] },
    ];
    const result = run(script, '', {
      network,
      online: () => online,
      backoff: [10],
      offlineWaitMs: 60_000,
      signal: controller.signal,
      open: (from) => {
        opened.push(from);
        online = false; // the network goes as this stream breaks
        const attempt = script.shift()!;
        return (async function* () {
          yield* attempt.events;
          if (attempt.fail) throw attempt.fail;
        })();
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(opened).toEqual([0]); // offline: not the 10 ms back-off, but the wait for `online`
    online = true;
    network.dispatchEvent(new Event('online'));
    const { shown, error } = await result;
    expect(error).toBeNull();
    expect(opened).toEqual([0, 3]);
    expect(shown).toBe('Hello');
  });

  it('going offline drops a stream that hangs; once online it goes on from the text shown', async () => {
    const network = new EventTarget();
    let online = true;
    const opened: number[] = [];
    let shown = '';
    const events: LiveEvent[] = [];
    const run = (async () => {
      for await (const event of reattach({
        chatId: 'c1',
        answer: 'a1',
        via: 'own',
        signal: new AbortController().signal,
        backoff: [0],
        network,
        online: () => online,
        shown: () => shown.length,
        open: (from, signal) => {
          opened.push(from);
          return (async function* (): AsyncGenerator<StreamEvent> {
            if (from === 0) {
              yield { type: 'delta', content: 'Hel' };
              // Then nothing: a connection gone half-dead, until the signal says otherwise.
              await new Promise((_, reject) => signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))));
            }
            yield { type: 'delta', content: 'lo', offset: 3 };
            yield { type: 'done', message: answer({ status: 'complete', content: 'Hello' }) };
          })();
        },
      })) {
        events.push(event);
        if (event.type === 'generation.delta') shown = shown.slice(0, event.offset) + event.content;
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(shown).toBe('Hel');
    online = false;
    network.dispatchEvent(new Event('offline'));
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(opened).toEqual([0]); // waiting to be online again
    online = true;
    network.dispatchEvent(new Event('online'));
    await run;
    expect(opened).toEqual([0, 3]);
    expect(shown).toBe('Hello');
    expect(events.at(-1)).toMatchObject({ type: 'generation.finished', via: 'own' });
  });

  it('an abort (the user stopped, the chat was left) ends it, also while it waits', async () => {
    const controller = new AbortController();
    const pending = run([{ events: [{ type: 'delta', content: 'x' }], fail: new TypeError('network error') }], '', {
      backoff: [60_000],
      signal: controller.signal,
    });
    await new Promise((resolve) => setTimeout(resolve, 0));
    controller.abort();
    const { error, froms } = await pending;
    expect(error).toMatchObject({ name: 'AbortError' });
    expect(froms).toEqual([0]);
  });
});
