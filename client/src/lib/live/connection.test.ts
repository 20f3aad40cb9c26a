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

  it('reconnects with backoff 0.5 s, 1 s, 2 s … capped at 10 s, and resyncs', async () => {
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
    // ready resets the backoff and reloads what may have been missed
    t.last().receive({ type: 'ready' });
    expect(t.onResync).toHaveBeenCalledTimes(1);
    t.last().drop(1001);
    expect(await t.fire()).toBe(500);
  });

  it('on 4008 reconnects at once and calls onResync when ready', async () => {
    const t = setup();
    t.live.start();
    await t.flush();
    t.last().receive({ type: 'ready' });
    t.last().drop(4008);
    await t.flush();
    expect(t.timers).toHaveLength(0);
    expect(t.sockets).toHaveLength(2);
    expect(t.onResync).not.toHaveBeenCalled();
    t.last().receive({ type: 'ready' });
    expect(t.onResync).toHaveBeenCalledTimes(1);
  });

  it('going offline drops the socket at once; coming back reconnects at once and resyncs', async () => {
    const statuses: string[] = [];
    const t = setup({ onStatus: (s) => statuses.push(s) });
    t.live.start();
    await t.flush();
    t.last().receive({ type: 'ready' });
    const first = t.last();
    t.live.networkLost();
    expect(first.closedWith).toBe(1000);
    expect(t.live.status).toBe('reconnecting');
    // A late event from the dropped socket is ignored.
    first.receive({ type: 'chat.created', chat_id: 'late' });
    expect(t.events).toHaveLength(0);
    t.live.networkBack();
    await t.flush();
    expect(t.sockets).toHaveLength(2);
    t.last().receive({ type: 'ready' });
    expect(t.onResync).toHaveBeenCalledTimes(1);
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
