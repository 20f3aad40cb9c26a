// The WebSocket connection (see the server's README, "Live events (WebSocket)"): single-use
// tickets, reconnects with backoff, the close codes (4001 session ended, 4008 fell behind, 1001
// server going away) and the browser's online/offline events. It hands on the frames it reads;
// what they mean is decided elsewhere (lib/live/events.ts, lib/live/live.svelte.ts).
import type { SocketFrame } from '../api/types';

/** The subset of the browser WebSocket this client uses (a fake one can stand in for tests). */
export interface SocketLike {
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason?: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  close(code?: number, reason?: string): void;
}

export type SocketFactory = (url: string) => SocketLike;

export type LiveStatus = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface LiveOptions {
  /** Fetches a single-use ticket (`POST /api/ws/ticket`). */
  getTicket: () => Promise<string>;
  /** Every frame but `ready`, parsed (an object with a string `type`). */
  onEvent: (frame: SocketFrame) => void;
  /** The socket fell behind (4008) and was reopened: reload the chat list and the open chat. */
  onResync?: () => void;
  /** The session ended (4001): sign out. */
  onSignedOut?: () => void;
  onStatus?: (status: LiveStatus) => void;
  /** Default: `ws(s)://<location.host>/api/ws`. */
  url?: string;
  socketFactory?: SocketFactory;
  /** Delays before reconnecting, in ms; the last one repeats. */
  backoff?: readonly number[];
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

export const CLOSE_SESSION_ENDED = 4001;
export const CLOSE_LAGGED = 4008;
export const CLOSE_GOING_AWAY = 1001;

export const DEFAULT_BACKOFF: readonly number[] = [500, 1000, 2000, 4000, 8000, 10000];

/** Parses one frame; null for anything that is not a JSON object with a string `type`. */
export function parseFrame(data: unknown): SocketFrame | null {
  if (typeof data !== 'string') return null;
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const v = value as Record<string, unknown>;
  if (typeof v.type !== 'string') return null;
  const event: SocketFrame = { type: v.type };
  if (typeof v.id === 'string') event.id = v.id;
  if (typeof v.at === 'string') event.at = v.at;
  if (typeof v.chat_id === 'string') event.chat_id = v.chat_id;
  if (typeof v.message_id === 'string') event.message_id = v.message_id;
  if ('data' in v) event.data = v.data;
  return event;
}

export function defaultLiveUrl(): string {
  return `${location.origin.replace(/^http/, 'ws')}/api/ws`;
}

/**
 * One live connection with reconnects. `start()` connects; `stop()` closes it for good
 * (sign-out). After an unexpected drop it reconnects with growing delays (reset once a
 * `ready` frame arrives); on 4008 it reconnects at once and calls `onResync` when ready.
 */
export class LiveConnection {
  private socket: SocketLike | null = null;
  private timer: unknown = null;
  private attempt = 0;
  private stopped = true;
  private resyncPending = false;
  private generation = 0;
  private readonly opts: LiveOptions;
  private readonly backoff: readonly number[];
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;
  status: LiveStatus = 'idle';

  constructor(options: LiveOptions) {
    this.opts = options;
    this.backoff = options.backoff && options.backoff.length > 0 ? options.backoff : DEFAULT_BACKOFF;
    this.setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = options.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.attempt = 0;
    void this.connect();
  }

  /** Closes the socket and cancels any reconnect (sign-out, unmount). */
  stop(): void {
    this.stopped = true;
    this.generation++;
    if (this.timer !== null) {
      this.clearTimer(this.timer);
      this.timer = null;
    }
    this.dropSocket('signed out');
    this.setStatus('closed');
  }

  /**
   * The browser went offline (`offline` event): the socket may linger half-dead, so drop it now
   * and show "reconnecting"; events missed meanwhile are caught up by a resync.
   */
  networkLost(): void {
    if (this.stopped) return;
    this.generation++;
    this.dropSocket('offline');
    if (this.timer !== null) {
      this.clearTimer(this.timer);
      this.timer = null;
    }
    this.resyncPending = true;
    this.scheduleReconnect();
  }

  /** The browser is back online (`online` event): reconnect at once instead of waiting. */
  networkBack(): void {
    if (this.stopped || this.socket !== null) return;
    if (this.timer !== null) {
      this.clearTimer(this.timer);
      this.timer = null;
    }
    this.attempt = 0;
    this.resyncPending = true;
    void this.connect();
  }

  /** Closes the current socket without hearing from it again. */
  private dropSocket(reason: string): void {
    const socket = this.socket;
    this.socket = null;
    if (!socket) return;
    socket.onopen = socket.onmessage = socket.onerror = null;
    socket.onclose = null;
    try {
      socket.close(1000, reason);
    } catch {
      // already closed
    }
  }

  /** The delay before reconnect attempt number `attempt` (0-based). */
  delay(attempt: number): number {
    return this.backoff[Math.min(attempt, this.backoff.length - 1)] ?? 10000;
  }

  private setStatus(status: LiveStatus): void {
    if (this.status === status) return;
    this.status = status;
    this.opts.onStatus?.(status);
  }

  private async connect(): Promise<void> {
    const gen = ++this.generation;
    this.setStatus(this.attempt === 0 && !this.resyncPending ? 'connecting' : 'reconnecting');
    let ticket: string;
    try {
      ticket = await this.opts.getTicket();
    } catch {
      if (gen === this.generation && !this.stopped) this.scheduleReconnect();
      return;
    }
    if (gen !== this.generation || this.stopped) return;
    const base = this.opts.url ?? defaultLiveUrl();
    const url = `${base}${base.includes('?') ? '&' : '?'}ticket=${encodeURIComponent(ticket)}`;
    let socket: SocketLike;
    try {
      socket = (this.opts.socketFactory ?? ((u: string) => new WebSocket(u) as unknown as SocketLike))(url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onmessage = (ev) => {
      if (this.socket !== socket) return;
      const event = parseFrame(ev.data);
      if (!event) return;
      if (event.type === 'ready') {
        this.attempt = 0;
        this.setStatus('open');
        if (this.resyncPending) {
          this.resyncPending = false;
          this.opts.onResync?.();
        }
        return;
      }
      this.opts.onEvent(event);
    };
    socket.onclose = (ev) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.closed(ev.code);
    };
    socket.onerror = () => {
      // onclose follows
    };
  }

  private closed(code: number): void {
    if (this.stopped) return;
    if (code === CLOSE_SESSION_ENDED) {
      this.stopped = true;
      this.setStatus('closed');
      this.opts.onSignedOut?.();
      return;
    }
    if (code === CLOSE_LAGGED) {
      // Events were lost: reconnect at once, then reload.
      this.resyncPending = true;
      this.attempt = 0;
      this.setStatus('reconnecting');
      void this.connect();
      return;
    }
    // Anything else (network drop, 1001 shutdown, 1006…): events may have been missed
    // while disconnected, so reload once the new socket is ready.
    this.resyncPending = true;
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    this.setStatus('reconnecting');
    const ms = this.delay(this.attempt);
    this.attempt++;
    const gen = this.generation;
    this.timer = this.setTimer(() => {
      this.timer = null;
      if (!this.stopped && gen === this.generation) void this.connect();
    }, ms);
  }
}

/**
 * Tells `connection` when the browser goes offline or comes back (`offline` / `online` events on
 * `target`, the window by default) until the returned function is called.
 */
export function watchNetwork(
  connection: Pick<LiveConnection, 'networkLost' | 'networkBack'>,
  target: EventTarget | undefined = typeof window === 'undefined' ? undefined : window,
): () => void {
  if (!target) return () => undefined;
  const lost = () => connection.networkLost();
  const back = () => connection.networkBack();
  target.addEventListener('offline', lost);
  target.addEventListener('online', back);
  return () => {
    target.removeEventListener('offline', lost);
    target.removeEventListener('online', back);
  };
}
