import { describe, expect, it, vi } from 'vitest';
import type { SocketFrame } from '../api/types';
import { LiveConnection, parseFrame, watchNetwork, type LiveOptions, type SocketLike } from './connection';

class FakeSocket implements SocketLike {
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason?: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  closedWith: number | null = null;
  constructor(readonly url: string) {}
  close(code?: number): void {
    this.closedWith = code ?? 1000;
  }
  receive(value: unknown): void {
    this.onmessage?.({ data: typeof value === 'string' ? value : JSON.stringify(value) });
  }
  drop(code: number): void {
    this.onclose?.({ code });
  }
}

function setup(overrides: Partial<LiveOptions> = {}) {
  const sockets: FakeSocket[] = [];
  const timers: { fn: () => void; ms: number }[] = [];
  const events: SocketFrame[] = [];
  let tickets = 0;
  const onResync = vi.fn();
  const onSignedOut = vi.fn();
  const live = new LiveConnection({
    getTicket: () => Promise.resolve(`t${++tickets}`),
    onEvent: (e) => events.push(e),
    onResync,
    onSignedOut,
    url: 'ws://host/api/ws',
    socketFactory: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    setTimer: (fn, ms) => {
      timers.push({ fn, ms });
      return timers.length;
    },
    clearTimer: () => undefined,
    ...overrides,
  });
  const flush = () => new Promise((r) => setTimeout(r, 0));
  const last = () => sockets[sockets.length - 1]!;
  const fire = async () => {
    const t = timers.shift();
    t?.fn();
    await flush();
    return t?.ms;
  };
  return { live, sockets, timers, events, onResync, onSignedOut, flush, last, fire };
}

describe('parseFrame', () => {
  it('keeps the envelope fields', () => {
    expect(parseFrame('{"type":"chat.deleted","id":"e1","at":"x","chat_id":"c1"}')).toEqual({
      type: 'chat.deleted',
      id: 'e1',
      at: 'x',
      chat_id: 'c1',
    });
    expect(parseFrame('{"type":"generation.delta","message_id":"m","data":{"content":"a","offset":0}}')).toEqual({
      type: 'generation.delta',
      message_id: 'm',
      data: { content: 'a', offset: 0 },
    });
  });
  it('keeps an integer seq and a session id', () => {
    expect(parseFrame('{"type":"session.ended","seq":7,"session_id":"s1"}')).toEqual({
      type: 'session.ended',
      seq: 7,
      session_id: 's1',
    });
    expect(parseFrame('{"type":"folder.deleted","seq":8,"folder_id":"f1"}')).toEqual({ type: 'folder.deleted', seq: 8, folder_id: 'f1' });
    expect(parseFrame('{"type":"chat.deleted","seq":1.5}')).toEqual({ type: 'chat.deleted' });
    expect(parseFrame('{"type":"chat.deleted","seq":"3"}')).toEqual({ type: 'chat.deleted' });
    expect(parseFrame('{"type":"chat.deleted","seq":-1}')).toEqual({ type: 'chat.deleted' });
  });
  it('rejects garbage', () => {
    expect(parseFrame('nope')).toBeNull();
    expect(parseFrame('[1]')).toBeNull();
    expect(parseFrame('{"id":"x"}')).toBeNull();
    expect(parseFrame(42)).toBeNull();
  });
});

describe('LiveConnection', () => {
  it('connects with a ticket and forwards events (not ready)', async () => {
    const t = setup();
    t.live.start();
    await t.flush();
    expect(t.last().url).toBe('ws://host/api/ws?ticket=t1');
    t.last().receive({ type: 'ready' });
    expect(t.live.status).toBe('open');
    t.last().receive({ type: 'chat.created', chat_id: 'c1' });
    t.last().receive('not json');
    expect(t.events).toEqual([{ type: 'chat.created', chat_id: 'c1' }]);
  });

  it('reconnects with backoff 0.5 s, 1 s, 2 s … capped at 10 s', async () => {
    const t = setup();
    t.live.start();
    await t.flush();
    const delays: (number | undefined)[] = [];
    for (let i = 0; i < 7; i++) {
      t.last().drop(1006);
      delays.push(await t.fire());
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 10000, 10000]);
    expect(t.sockets).toHaveLength(8);
    expect(t.last().url).toBe('ws://host/api/ws?ticket=t8');
    // ready resets the backoff
    t.last().receive({ type: 'ready', seq: 0 });
    t.last().drop(1006);
    expect(await t.fire()).toBe(500);
  });

  it('connects first without since and starts from the seq of ready', async () => {
    const t = setup();
    t.live.start();
    await t.flush();
    expect(t.last().url).not.toContain('since');
    expect(t.live.seq).toBeNull();
    t.last().receive({ type: 'ready', seq: 41 });
    expect(t.live.seq).toBe(41);
    // The page has just loaded what it shows: no reload.
    expect(t.onResync).not.toHaveBeenCalled();
  });

  it('reconnects with since = the last seq applied, and the replay brings it up to date without a reload', async () => {
    const t = setup();
    t.live.start();
    await t.flush();
    t.last().receive({ type: 'ready', seq: 5 });
    t.last().receive({ type: 'chat.created', chat_id: 'c6', seq: 6 });
    t.last().receive({ type: 'chat.updated', chat_id: 'c6', seq: 7 });
    t.last().drop(1006);
    expect(await t.fire()).toBe(500);
    expect(t.last().url).toBe('ws://host/api/ws?ticket=t2&since=7');
    t.last().receive({ type: 'ready', seq: 9 });
    // The replay, with a repeat the server should not send but could.
    t.last().receive({ type: 'chat.updated', chat_id: 'c6', seq: 7 });
    t.last().receive({ type: 'chat.deleted', chat_id: 'c6', seq: 8 });
    t.last().receive({ type: 'chat.created', chat_id: 'c9', seq: 9 });
    t.last().receive({ type: 'chat.deleted', chat_id: 'c6', seq: 8 });
    expect(t.onResync).not.toHaveBeenCalled();
    expect(t.events.map((e) => e.seq)).toEqual([6, 7, 8, 9]);
    expect(t.live.seq).toBe(9);
    // A second reconnect resumes after the replay.
    t.last().drop(1006);
    await t.fire();
    expect(t.last().url).toBe('ws://host/api/ws?ticket=t3&since=9');
  });

  it('ignores a frame whose seq is not past the last one applied; deltas (no seq) always apply', async () => {
    const t = setup();
    t.live.start();
    await t.flush();
    t.last().receive({ type: 'ready', seq: 10 });
    t.last().receive({ type: 'message.created', chat_id: 'c', seq: 10 });
    t.last().receive({ type: 'message.created', chat_id: 'c', seq: 3 });
    t.last().receive({ type: 'generation.started', chat_id: 'c', message_id: 'm', seq: 11 });
    t.last().receive({ type: 'generation.delta', chat_id: 'c', message_id: 'm', data: { content: 'a', offset: 0 } });
    t.last().receive({ type: 'generation.started', chat_id: 'c', message_id: 'm', seq: 11 });
    t.last().receive({ type: 'generation.delta', chat_id: 'c', message_id: 'm', data: { content: 'b', offset: 1 } });
    t.last().receive({ type: 'generation.finished', chat_id: 'c', message_id: 'm', seq: 12 });
    expect(t.events.map((e) => `${e.type}${e.seq === undefined ? '' : `#${e.seq}`}`)).toEqual([
      'generation.started#11',
      'generation.delta',
      'generation.delta',
      'generation.finished#12',
    ]);
    expect(t.live.seq).toBe(12);
  });

  it('on resync reloads and goes on from its seq', async () => {
    const t = setup();
    t.live.start();
    await t.flush();
    t.last().receive({ type: 'ready', seq: 4 });
    t.last().drop(1006);
    await t.fire();
    expect(t.last().url).toContain('&since=4');
    // The server no longer has the events after 4.
    t.last().receive({ type: 'ready', seq: 900 });
    expect(t.onResync).not.toHaveBeenCalled();
    t.last().receive({ type: 'resync', seq: 900 });
    expect(t.onResync).toHaveBeenCalledTimes(1);
    expect(t.live.seq).toBe(900);
    expect(t.events).toEqual([]);
    t.last().receive({ type: 'chat.deleted', chat_id: 'old', seq: 899 });
    t.last().receive({ type: 'chat.deleted', chat_id: 'new', seq: 901 });
    expect(t.events).toEqual([{ type: 'chat.deleted', chat_id: 'new', seq: 901 }]);
    t.last().drop(1006);
    await t.fire();
    expect(t.last().url).toContain('&since=901');
  });

  it('reloads once when the log went backwards (the server’s store was replaced)', async () => {
    const t = setup();
    t.live.start();
    await t.flush();
    t.last().receive({ type: 'ready', seq: 50 });
    t.last().drop(1006);
    await t.fire();
    t.last().receive({ type: 'ready', seq: 2 });
    expect(t.onResync).toHaveBeenCalledTimes(1);
    // The resync the server sends for the unknown `since` needs no second reload.
    t.last().receive({ type: 'resync', seq: 2 });
    expect(t.onResync).toHaveBeenCalledTimes(1);
    t.last().receive({ type: 'chat.deleted', chat_id: 'c', seq: 3 });
    expect(t.events.map((e) => e.seq)).toEqual([3]);
  });

  it('reloads after a reconnect that cannot resume (no seq known, or a server without a log)', async () => {
    const t = setup();
    t.live.start();
    await t.flush();
    // The first socket drops before ready: the next one has no seq to resume from.
    t.last().drop(1006);
    await t.fire();
    expect(t.last().url).not.toContain('since');
    t.last().receive({ type: 'ready', seq: 3 });
    expect(t.onResync).toHaveBeenCalledTimes(1);
    // A ready without seq: nothing can be replayed.
    t.last().drop(1006);
    await t.fire();
    expect(t.last().url).toContain('&since=3');
    t.last().receive({ type: 'ready' });
    expect(t.onResync).toHaveBeenCalledTimes(2);
    expect(t.live.seq).toBeNull();
  });

  it('records the seq of session.ended and of unknown types, and hands them on', async () => {
    const t = setup();
    t.live.start();
    await t.flush();
    t.last().receive({ type: 'ready', seq: 1 });
    t.last().receive({ type: 'session.ended', seq: 2, session_id: 's1' });
    t.last().receive({ type: 'something.new', seq: 3 });
    expect(t.events).toEqual([
      { type: 'session.ended', seq: 2, session_id: 's1' },
      { type: 'something.new', seq: 3 },
    ]);
    expect(t.live.seq).toBe(3);
  });

  it('on 4008 reconnects at once with since, without a reload', async () => {
    const t = setup();
    t.live.start();
    await t.flush();
    t.last().receive({ type: 'ready', seq: 8 });
    t.last().drop(4008);
    await t.flush();
    expect(t.timers).toHaveLength(0);
    expect(t.sockets).toHaveLength(2);
    expect(t.last().url).toBe('ws://host/api/ws?ticket=t2&since=8');
    t.last().receive({ type: 'ready', seq: 8 });
    expect(t.onResync).not.toHaveBeenCalled();
  });

  it('on 1001 reconnects at once with since; a socket closed with 1001 before ready backs off', async () => {
    const t = setup();
    t.live.start();
    await t.flush();
    t.last().receive({ type: 'ready', seq: 12 });
    t.last().drop(1001);
    await t.flush();
    expect(t.timers).toHaveLength(0);
    expect(t.sockets).toHaveLength(2);
    expect(t.live.status).toBe('reconnecting');
    expect(t.last().url).toBe('ws://host/api/ws?ticket=t2&since=12');
    // The new socket is turned away by the process going down: back off.
    t.last().drop(1001);
    await t.flush();
    expect(t.sockets).toHaveLength(2);
    expect(await t.fire()).toBe(500);
    expect(t.last().url).toBe('ws://host/api/ws?ticket=t3&since=12');
    t.last().receive({ type: 'ready', seq: 12 });
    expect(t.onResync).not.toHaveBeenCalled();
  });

  it('on 1012 (the server’s event feed was cut) reconnects at once with since', async () => {
    const t = setup();
    t.live.start();
    await t.flush();
    t.last().receive({ type: 'ready', seq: 3 });
    t.last().drop(1012);
    await t.flush();
    expect(t.timers).toHaveLength(0);
    expect(t.last().url).toBe('ws://host/api/ws?ticket=t2&since=3');
  });

  it('start() after stop() starts afresh, without since', async () => {
    const t = setup();
    t.live.start();
    await t.flush();
    t.last().receive({ type: 'ready', seq: 6 });
    t.live.stop();
    t.live.start();
    await t.flush();
    expect(t.last().url).toBe('ws://host/api/ws?ticket=t2');
    t.last().receive({ type: 'ready', seq: 6 });
    expect(t.onResync).not.toHaveBeenCalled();
  });

  it('going offline drops the socket at once; coming back reconnects at once with since', async () => {
    const statuses: string[] = [];
    const t = setup({ onStatus: (s) => statuses.push(s) });
    t.live.start();
    await t.flush();
    t.last().receive({ type: 'ready', seq: 20 });
    const first = t.last();
    t.live.networkLost();
    expect(first.closedWith).toBe(1000);
    expect(t.live.status).toBe('reconnecting');
    // A late event from the dropped socket is ignored.
    first.receive({ type: 'chat.created', chat_id: 'late', seq: 21 });
    expect(t.events).toHaveLength(0);
    t.live.networkBack();
    await t.flush();
    expect(t.sockets).toHaveLength(2);
    expect(t.last().url).toBe('ws://host/api/ws?ticket=t2&since=20');
    t.last().receive({ type: 'ready', seq: 21 });
    t.last().receive({ type: 'chat.created', chat_id: 'late', seq: 21 });
    expect(t.events).toEqual([{ type: 'chat.created', chat_id: 'late', seq: 21 }]);
    expect(t.onResync).not.toHaveBeenCalled();
    expect(statuses).toEqual(['connecting', 'open', 'reconnecting', 'open']);
    // Back online while connected: nothing happens.
    t.live.networkBack();
    await t.flush();
    expect(t.sockets).toHaveLength(2);
  });

  it('network events after stop() do nothing', async () => {
    const t = setup();
    t.live.start();
    await t.flush();
    t.live.stop();
    t.live.networkLost();
    t.live.networkBack();
    await t.flush();
    expect(t.sockets).toHaveLength(1);
    expect(t.live.status).toBe('closed');
  });

  it('on 4001 signs out and does not reconnect', async () => {
    const t = setup();
    t.live.start();
    await t.flush();
    t.last().drop(4001);
    await t.flush();
    expect(t.onSignedOut).toHaveBeenCalledTimes(1);
    expect(t.timers).toHaveLength(0);
    expect(t.sockets).toHaveLength(1);
    expect(t.live.status).toBe('closed');
  });

  it('stop() closes cleanly and cancels pending reconnects', async () => {
    const t = setup();
    t.live.start();
    await t.flush();
    const first = t.last();
    t.live.stop();
    expect(first.closedWith).toBe(1000);
    expect(first.onclose).toBeNull();
    // a reconnect scheduled before stop() does nothing
    t.live.start();
    await t.flush();
    t.last().drop(1006);
    t.live.stop();
    await t.fire();
    expect(t.sockets).toHaveLength(2);
  });

  it('retries when the ticket request fails', async () => {
    let fail = true;
    const t = setup({
      getTicket: () => (fail ? Promise.reject(new Error('down')) : Promise.resolve('ok')),
    });
    t.live.start();
    await t.flush();
    expect(t.sockets).toHaveLength(0);
    fail = false;
    expect(await t.fire()).toBe(500);
    expect(t.last().url).toBe('ws://host/api/ws?ticket=ok');
  });

  it('ignores a stop() that races the ticket request', async () => {
    const t = setup();
    t.live.start();
    t.live.stop();
    await t.flush();
    expect(t.sockets).toHaveLength(0);
  });
});

describe('watchNetwork', () => {
  it('tells the connection of offline and online until stopped', () => {
    const target = new EventTarget();
    const seen: string[] = [];
    const stop = watchNetwork({ networkLost: () => seen.push('lost'), networkBack: () => seen.push('back') }, target);
    target.dispatchEvent(new Event('offline'));
    target.dispatchEvent(new Event('online'));
    stop();
    target.dispatchEvent(new Event('offline'));
    expect(seen).toEqual(['lost', 'back']);
  });
});
