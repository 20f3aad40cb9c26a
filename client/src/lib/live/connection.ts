// The WebSocket connection (see the server's README, "Live events (WebSocket)"): single-use
// tickets, reconnects with backoff, the close codes (4001 session ended, 4008 fell behind, 1001
// server going away, 1012 event feed cut), the browser's online/offline events, and the place in
// the user's event log: it keeps the `seq` of the last event this tab applied, reconnects with
// `since=<seq>` so the server replays what was missed, and drops an event applied already. It
// hands on the frames it reads; what they mean is decided elsewhere (lib/live/events.ts,
// lib/live/live.svelte.ts).
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
  /**
   * Every event frame, parsed (an object with a string `type`), once: not `ready` and `resync`
   * (the connection's own), nor a logged event whose `seq` is not past the last one applied.
   */
  onEvent: (frame: SocketFrame) => void;
  /**
   * Events were lost beyond what the server can replay (its `resync` frame, or a reconnect that
   * had no `seq` to resume from): reload the chat list and the open chat.
   */
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
/** The server's feed of the event log was cut: reconnect at once and catch up with `since`. */
export const CLOSE_SERVICE_RESTART = 1012;

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
  if (typeof v.seq === 'number' && Number.isSafeInteger(v.seq) && v.seq >= 0) event.seq = v.seq;
  if (typeof v.session_id === 'string') event.session_id = v.session_id;
  if (typeof v.folder_id === 'string') event.folder_id = v.folder_id;
  return event;
}

export function defaultLiveUrl(): string {
  return `${location.origin.replace(/^http/, 'ws')}/api/ws`;
}

/** What one socket has seen so far. */
interface SocketState {
  /** The `since` it was opened with (null: none). */
  since: number | null;
  /** Another socket was opened before it since `start()`. */
  reconnect: boolean;
  /** The server said `ready` (with the end of its log, `readySeq`). */
  ready: boolean;
  readySeq: number | null;
  /** Its `ready` already caused a reload: the `resync` that may follow it needs none. */
  reloaded: boolean;
}

/**
 * One live connection with reconnects. `start()` connects; `stop()` closes it for good
 * (sign-out). After an unexpected drop it reconnects with growing delays (reset once a `ready`
 * frame arrives); on 4008, and on 1001 or 1012 from a socket that was ready, at once. A
 * reconnect asks for the events after the last one applied (`since`); the server replays them
 * or, when it cannot, says `resync`, and `onResync` reloads.
 */
export class LiveConnection {
  private socket: SocketLike | null = null;
  private timer: unknown = null;
  private attempt = 0;
  private stopped = true;
  /** A socket was opened since `start()`: the next one is a reconnect. */
  private opened = false;
  /** The `seq` of the last logged event applied (or of the log's end at `ready`/`resync`). */
  private applied: number | null = null;
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

  /** The `seq` this tab has applied up to: a reconnect asks for the events after it. */
  get seq(): number | null {
    return this.applied;
  }

  /** Connects, as a page load does: without `since` (the caller has just loaded everything). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.attempt = 0;
    this.opened = false;
    this.applied = null;
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
   * and show "reconnecting"; events missed meanwhile are replayed after reconnecting.
   */
  networkLost(): void {
    if (this.stopped) return;
    this.generation++;
    this.dropSocket('offline');
    if (this.timer !== null) {
      this.clearTimer(this.timer);
      this.timer = null;
    }
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
    this.setStatus(this.opened || this.attempt > 0 ? 'reconnecting' : 'connecting');
    let ticket: string;
    try {
      ticket = await this.opts.getTicket();
    } catch {
      if (gen === this.generation && !this.stopped) this.scheduleReconnect();
      return;
    }
    if (gen !== this.generation || this.stopped) return;
    const base = this.opts.url ?? defaultLiveUrl();
    const since = this.applied;
    let url = `${base}${base.includes('?') ? '&' : '?'}ticket=${encodeURIComponent(ticket)}`;
    if (since !== null) url += `&since=${since}`;
    let socket: SocketLike;
    try {
      socket = (this.opts.socketFactory ?? ((u: string) => new WebSocket(u) as unknown as SocketLike))(url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    const state: SocketState = { since, reconnect: this.opened, ready: false, readySeq: null, reloaded: false };
    this.opened = true;
    socket.onmessage = (ev) => {
      if (this.socket !== socket) return;
      const frame = parseFrame(ev.data);
      if (frame) this.receive(frame, state);
    };
    socket.onclose = (ev) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.closed(ev.code, state.ready);
    };
    socket.onerror = () => {
      // onclose follows
    };
  }

  /** One frame of the socket whose state is `state`. */
  private receive(frame: SocketFrame, state: SocketState): void {
    const reloaded = state.reloaded;
    state.reloaded = false;
    switch (frame.type) {
      case 'ready':
        this.ready(frame.seq ?? null, state);
        return;
      case 'resync':
        // Events were lost beyond what the server keeps: reload, and go on from its log's end.
        this.applied = frame.seq ?? state.readySeq ?? this.applied;
        if (!reloaded) this.opts.onResync?.();
        return;
    }
    if (frame.seq !== undefined) {
      if (this.applied !== null && frame.seq <= this.applied) return; // applied already
      this.applied = frame.seq;
    }
    this.opts.onEvent(frame);
  }

  /** The server's `ready`; `seq` is the end of its log (null: it keeps none). */
  private ready(seq: number | null, state: SocketState): void {
    this.attempt = 0;
    state.ready = true;
    state.readySeq = seq;
    this.setStatus('open');
    // Opened with `since` and the log reaches it: the events after it follow, replayed.
    if (state.since !== null && seq !== null && seq >= state.since) return;
    // Otherwise start from the log's end. The first socket of a page needs no reload (the page
    // has just loaded what it shows); a later one does: opened without `since` (no `ready` had
    // come yet), or the server kept no log, or its log went backwards (it was replaced).
    this.applied = seq;
    if (!state.reconnect) return;
    state.reloaded = true;
    this.opts.onResync?.();
  }

  private closed(code: number, wasReady: boolean): void {
    if (this.stopped) return;
    if (code === CLOSE_SESSION_ENDED) {
      this.stopped = true;
      this.setStatus('closed');
      this.opts.onSignedOut?.();
      return;
    }
    // Fell behind (4008), the server is shutting down and another process takes over (1001), or
    // its feed of the log was cut (1012): reconnect at once; the events missed are replayed. A
    // socket that closes with 1001 or 1012 before it was ready is retried with the backoff, so a
    // server refusing sockets is not hammered.
    const atOnce = code === CLOSE_GOING_AWAY || code === CLOSE_SERVICE_RESTART;
    if (code === CLOSE_LAGGED || (atOnce && wasReady)) {
      this.attempt = 0;
      this.setStatus('reconnecting');
      void this.connect();
      return;
    }
    // Anything else (network drop, 1006…): retry with the backoff.
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
