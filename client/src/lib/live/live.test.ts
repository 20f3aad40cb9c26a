import { describe, expect, it } from 'vitest';
import type { SocketLike } from './connection';
import type { LiveEvent } from './events';
import { LiveStore } from './live.svelte';

class FakeSocket implements SocketLike {
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason?: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  close(): void {}
  receive(value: unknown): void {
    this.onmessage?.({ data: JSON.stringify(value) });
  }
}

describe('LiveStore', () => {
  it('dispatches the socket’s frames as typed events to every subscriber, and resyncs after a drop', async () => {
    const store = new LiveStore();
    const sockets: FakeSocket[] = [];
    const timers: (() => void)[] = [];
    const a: LiveEvent[] = [];
    const b: string[] = [];
    const offA = store.subscribe((e) => a.push(e));
    store.subscribe((e) => b.push(e.type));
    store.subscribe(() => {
      throw new Error('one failing subscriber does not stop the others');
    });
    store.start({
      getTicket: async () => 't',
      url: 'ws://host/api/ws',
      socketFactory: () => {
        const s = new FakeSocket();
        sockets.push(s);
        return s;
      },
      setTimer: (fn) => timers.push(fn),
      clearTimer: () => undefined,
      network: new EventTarget(),
    });
    await Promise.resolve();
    await Promise.resolve();
    const socket = sockets[0]!;
    socket.receive({ type: 'ready' });
    expect(store.status).toBe('open');
    const error = console.error;
    console.error = () => undefined;
    try {
      socket.receive({ type: 'chat.deleted', chat_id: 'c1' });
      socket.receive({ type: 'generation.delta', chat_id: 'c1', message_id: 'm1', data: { content: 'x', offset: 0 } });
      socket.receive({ type: 'mystery' });
      socket.onclose?.({ code: 1006 });
      expect(store.status).toBe('reconnecting');
      timers.shift()?.();
      await new Promise((r) => setTimeout(r, 0));
      sockets[1]!.receive({ type: 'ready' });
    } finally {
      console.error = error;
    }
    expect(a).toEqual([
      { type: 'chat.deleted', via: 'socket', chat_id: 'c1' },
      { type: 'generation.delta', via: 'socket', chat_id: 'c1', message_id: 'm1', content: 'x', offset: 0 },
      { type: 'resync', via: 'socket' },
    ]);
    expect(b).toEqual(['chat.deleted', 'generation.delta', 'resync']);
    offA();
    store.stop();
    expect(store.status).toBe('idle');
  });
});
