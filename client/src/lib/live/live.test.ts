import { describe, expect, it } from 'vitest';
import type { SocketLike } from './connection';
import type { LiveEvent } from './events';
import { LiveStore } from './live.svelte';

class FakeSocket implements SocketLike {
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason?: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  constructor(readonly url: string) {}
  close(): void {}
  receive(value: unknown): void {
    this.onmessage?.({ data: JSON.stringify(value) });
  }
}

function started() {
  const store = new LiveStore();
  const sockets: FakeSocket[] = [];
  const timers: (() => void)[] = [];
  store.start({
    getTicket: async () => 't',
    url: 'ws://host/api/ws',
    socketFactory: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    setTimer: (fn) => timers.push(fn),
    clearTimer: () => undefined,
    network: new EventTarget(),
  });
  const flush = () => new Promise((r) => setTimeout(r, 0));
  const reconnect = async () => {
    sockets[sockets.length - 1]!.onclose?.({ code: 1006 });
    timers.shift()?.();
    await flush();
    return sockets[sockets.length - 1]!;
  };
  return { store, sockets, flush, reconnect };
}

describe('LiveStore', () => {
  it('dispatches the socket’s frames as typed events to every subscriber; a reconnect replays without a reload', async () => {
    const { store, sockets, flush, reconnect } = started();
    const a: LiveEvent[] = [];
    const b: string[] = [];
    const offA = store.subscribe((e) => a.push(e));
    store.subscribe((e) => b.push(e.type));
    store.subscribe(() => {
      throw new Error('one failing subscriber does not stop the others');
    });
    await flush();
    const socket = sockets[0]!;
    socket.receive({ type: 'ready', seq: 0 });
    expect(store.status).toBe('open');
    const error = console.error;
    console.error = () => undefined;
    try {
      socket.receive({ type: 'chat.deleted', chat_id: 'c1', seq: 1 });
      socket.receive({ type: 'generation.delta', chat_id: 'c1', message_id: 'm1', data: { content: 'x', offset: 0 } });
      socket.receive({ type: 'mystery', seq: 2 });
      socket.receive({ type: 'session.ended', seq: 3, session_id: 's9' });
      const next = await reconnect();
      expect(store.status).toBe('reconnecting');
      expect(next.url).toBe('ws://host/api/ws?ticket=t&since=3');
      next.receive({ type: 'ready', seq: 4 });
      next.receive({ type: 'chat.deleted', chat_id: 'c1', seq: 1 });
      next.receive({ type: 'chat.deleted', chat_id: 'c4', seq: 4 });
    } finally {
      console.error = error;
    }
    expect(a).toEqual([
      { type: 'chat.deleted', via: 'socket', chat_id: 'c1', seq: 1 },
      { type: 'generation.delta', via: 'socket', chat_id: 'c1', message_id: 'm1', content: 'x', offset: 0 },
      { type: 'session.ended', via: 'socket', session_id: 's9', seq: 3 },
      { type: 'chat.deleted', via: 'socket', chat_id: 'c4', seq: 4 },
    ]);
    expect(b).toEqual(['chat.deleted', 'generation.delta', 'session.ended', 'chat.deleted']);
    offA();
    store.stop();
    expect(store.status).toBe('idle');
  });

  it('dispatches resync when the server cannot replay', async () => {
    const { store, sockets, flush, reconnect } = started();
    const seen: LiveEvent[] = [];
    store.subscribe((e) => seen.push(e));
    await flush();
    sockets[0]!.receive({ type: 'ready', seq: 7 });
    const next = await reconnect();
    next.receive({ type: 'ready', seq: 70 });
    next.receive({ type: 'resync', seq: 70 });
    next.receive({ type: 'chat.deleted', chat_id: 'c', seq: 71 });
    expect(seen).toEqual([
      { type: 'resync', via: 'socket' },
      { type: 'chat.deleted', via: 'socket', chat_id: 'c', seq: 71 },
    ]);
    store.stop();
  });
});
