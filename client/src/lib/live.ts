// Live events over the WebSocket (see the server's README, "Live events (WebSocket)").
import type { Chat, LiveEvent } from './api/types';

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
  onEvent: (event: LiveEvent) => void;
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
export function parseLiveEvent(data: unknown): LiveEvent | null {
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
  const event: LiveEvent = { type: v.type };
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
      const event = parseLiveEvent(ev.data);
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

// ---- applying chat events to the sidebar list ------------------------------------------------


function isChat(value: unknown): value is Chat {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.id === 'string' && typeof v.updated_at === 'string';
}

/** Newest activity first; ties keep their order. */
function activityTime(chat: Chat): number {
  const t = Date.parse(chat.updated_at);
  return Number.isFinite(t) ? t : 0;
}

/** Inserts (or moves) `chat` into a list ordered by newest activity, removing duplicates. */
export function upsertChat(chats: readonly Chat[], chat: Chat): Chat[] {
  const rest = chats.filter((c) => c.id !== chat.id);
  const t = activityTime(chat);
  const at = rest.findIndex((c) => activityTime(c) <= t);
  if (at === -1) return [...rest, chat];
  return [...rest.slice(0, at), chat, ...rest.slice(at)];
}

/** Removes duplicate ids (the first occurrence wins). */
export function dedupeChats(chats: readonly Chat[]): Chat[] {
  const seen = new Set<string>();
  return chats.filter((c) => (seen.has(c.id) ? false : (seen.add(c.id), true)));
}

export interface ApplyOptions {
  /**
   * Whether chats not in the list may be added (false while a search filters the list, or
   * when a chat older than the last loaded one would land past the end of a partial list).
   */
  insertNew?: boolean;
  /** Whether more pages exist: then a chat sorting after the last loaded one is left out. */
  hasMore?: boolean;
}

/**
 * Applies a `chat.created` / `chat.updated` / `chat.deleted` event to the list. Returns the
 * same array when nothing changed.
 */
export function applyChatEvent(chats: Chat[], event: LiveEvent, options: ApplyOptions = {}): Chat[] {
  const insertNew = options.insertNew ?? true;
  switch (event.type) {
    case 'chat.deleted': {
      const id = event.chat_id;
      if (!id || !chats.some((c) => c.id === id)) return chats;
      return chats.filter((c) => c.id !== id);
    }
    case 'chat.created':
    case 'chat.updated': {
      if (!isChat(event.data)) return chats;
      const chat = event.data;
      const known = chats.some((c) => c.id === chat.id);
      if (!known) {
        if (!insertNew) return chats;
        const last = chats[chats.length - 1];
        if (options.hasMore && last && activityTime(chat) < activityTime(last)) return chats;
      }
      return upsertChat(chats, chat);
    }
    default:
      return chats;
  }
}
