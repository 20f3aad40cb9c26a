// The live store: the one dispatcher of the socket's events. It owns the connection while signed
// in (lib/live/connection.ts), turns each frame into a typed `LiveEvent` (lib/live/events.ts) and
// hands it to every subscriber — the chat list, the open chat, the "generating" indicator — each
// of which applies what concerns it. After a reconnect the server replays what was missed (the
// connection asks for it and drops what was applied already); when it cannot, `resync` is
// dispatched too, and each subscriber reloads what it shows.
import type { SocketFrame } from '../api/types';
import { LiveConnection, watchNetwork, type LiveOptions, type LiveStatus } from './connection';
import { fromSocket, type LiveEvent } from './events';

export type LiveListener = (event: LiveEvent) => void;

/** What `start` needs: a ticket source and what to do when the session ends (4001). */
export type StartOptions = Pick<LiveOptions, 'getTicket' | 'onSignedOut'> &
  Partial<Pick<LiveOptions, 'url' | 'socketFactory' | 'backoff' | 'setTimer' | 'clearTimer'>> & {
    /** Where `online` / `offline` are heard (default: the window). */
    network?: EventTarget;
  };

export class LiveStore {
  /** The connection: 'open' once the server said `ready`; 'reconnecting' while it is lost. */
  status = $state<LiveStatus>('idle');

  readonly #listeners = new Set<LiveListener>();
  #connection: LiveConnection | null = null;
  #unwatch: (() => void) | null = null;

  /** Calls `listener` with every live event until the returned function is called. */
  subscribe(listener: LiveListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Hands `event` to every subscriber (one failing does not stop the others). */
  dispatch(event: LiveEvent): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch (e) {
        console.error(e);
      }
    }
  }

  /** The socket's edge: a frame becomes a typed event (or is dropped) and is dispatched. */
  receive(frame: SocketFrame): void {
    const event = fromSocket(frame);
    if (event) this.dispatch(event);
  }

  /** Connects (once signed in); does nothing while already started. */
  start(options: StartOptions): void {
    if (this.#connection) return;
    const { network, ...rest } = options;
    const connection = new LiveConnection({
      ...rest,
      onEvent: (frame) => this.receive(frame),
      onResync: () => this.dispatch({ type: 'resync', via: 'socket' }),
      onStatus: (status) => (this.status = status),
    });
    this.#connection = connection;
    this.#unwatch = watchNetwork(connection, network);
    connection.start();
  }

  /** Closes the connection for good (sign-out, session ended, page left). */
  stop(): void {
    this.#unwatch?.();
    this.#unwatch = null;
    this.#connection?.stop();
    this.#connection = null;
    this.status = 'idle';
  }
}

/** The page's live store. */
export const live = new LiveStore();
