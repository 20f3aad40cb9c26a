// Following an answer over its reattach stream (`GET /api/chats/{chat}/messages/{id}/stream`,
// lib/api/client.ts `streamAnswer`): from where the tab's text ends (`from`, UTF-16 units), so
// no text comes twice and none is missing, whichever server process answers. The one mechanism
// for the text of an answer this tab did not start (opened or reloaded mid-answer, another
// tab's answer) and for resuming this tab's own stream when it broke. A stream that breaks
// (network drop, server restart; or the browser goes offline, as a stream may hang half-dead
// rather than fail) is opened again from the text shown by then, after a back-off that the
// browser's `online` event cuts short; a run of failed attempts that bring no text gives up
// (the last error is thrown), and so does an answer that is gone (404).
import { ApiError, isAbortError, isTransient } from '../api/errors';
import type { StreamEvent } from '../api/types';
import { streamReader, type LiveEvent } from './events';

/** Delays before each new attempt, in ms; as many attempts in a row may bring no text. */
export const REATTACH_BACKOFF: readonly number[] = [500, 1000, 2000, 4000, 8000];
/** While the browser says it is offline, an attempt waits this long for `online` at most. */
export const OFFLINE_WAIT_MS = 30_000;

export interface ReattachTiming {
  backoff?: readonly number[];
  /** Where `online` and `offline` are heard (default: the window). */
  network?: EventTarget;
  /** Whether the browser thinks it is online (default: `navigator.onLine`). */
  online?: () => boolean;
  offlineWaitMs?: number;
}

export interface ReattachOptions extends ReattachTiming {
  chatId: string;
  /** The answer followed (the tab shows it already). */
  answer: string;
  /** `own`: this tab's generation, resumed; `follow`: an answer this tab did not start. */
  via: 'own' | 'follow';
  /** Opens the stream from `from` (ApiClient.streamAnswer). */
  open: (from: number, signal: AbortSignal) => AsyncIterable<StreamEvent>;
  /** The length of the answer's text the tab shows now (UTF-16 units): where to go on from. */
  shown: () => number;
  /** Aborting ends it (the user stopped, or the chat was left): the generator throws AbortError. */
  signal: AbortSignal;
}

/** The error that ends a stream that stopped before the answer did. */
export const streamEnded = (): ApiError => new ApiError(0, 'stream_ended', 'The answer stream ended before the answer did.');

/**
 * The answer's events from the text shown on, as `LiveEvent`s, until its end (`done` or
 * `error`, given as the stream reader gives them): across breaks, as the header says.
 */
export async function* reattach(options: ReattachOptions): AsyncGenerator<LiveEvent> {
  const { chatId, answer, via, signal } = options;
  const backoff = options.backoff ?? REATTACH_BACKOFF;
  let failures = 0;
  // Offline already (the stream broke as the network went): wait to be back before the first try.
  if (!isOnline(options)) await pause(0, options);
  for (;;) {
    if (signal.aborted) throw abortError();
    const from = options.shown();
    const read = streamReader(chatId, { via, answer, offset: from });
    const attempt = attemptSignal(signal, options.network);
    let error: unknown;
    try {
      for await (const event of options.open(from, attempt.signal)) {
        const live = read(event);
        if (live) yield live;
        if (event.type === 'done' || event.type === 'error') return;
      }
      error = streamEnded();
    } catch (e) {
      if (signal.aborted) throw isAbortError(e) ? e : abortError();
      if (attempt.dropped()) error = connectionLost();
      else if (isAbortError(e) || !isTransient(e)) throw e;
      else error = e;
    } finally {
      attempt.dispose();
    }
    if (options.shown() > from) failures = 0; // it brought text: a new run of attempts
    if (failures >= backoff.length) throw error;
    await pause(backoff[failures] ?? 0, options);
    failures++;
  }
}

/** The error of a stream dropped because the browser went offline. */
export const connectionLost = (): ApiError => new ApiError(0, 'network_error', 'The connection was lost.');

export interface Attempt {
  /** Aborted with the caller's signal, or when the browser goes offline. */
  signal: AbortSignal;
  /** It was aborted because the browser went offline: a break, not a stop. */
  dropped: () => boolean;
  /** Stops listening. */
  dispose: () => void;
}

/**
 * The signal of one attempt to read a stream: `signal`'s abort (a stop), or an `offline` event
 * on `network` (while `when()` holds) — a dropped connection, which is worth resuming.
 */
export function attemptSignal(signal: AbortSignal, network: EventTarget | undefined = defaultNetwork(), when: () => boolean = () => true): Attempt {
  const ctrl = new AbortController();
  let dropped = false;
  const stop = (): void => ctrl.abort(signal.reason);
  const offline = (): void => {
    if (!when() || ctrl.signal.aborted) return;
    dropped = true;
    ctrl.abort(connectionLost());
  };
  signal.addEventListener('abort', stop);
  network?.addEventListener('offline', offline);
  if (signal.aborted) stop();
  return {
    signal: ctrl.signal,
    dropped: () => dropped,
    dispose: () => {
      signal.removeEventListener('abort', stop);
      network?.removeEventListener('offline', offline);
    },
  };
}

function isOnline(options: ReattachTiming): boolean {
  if (options.online) return options.online();
  return typeof navigator === 'undefined' || navigator.onLine !== false;
}

function defaultNetwork(): EventTarget | undefined {
  return typeof window === 'undefined' ? undefined : window;
}

function abortError(): DOMException {
  return new DOMException('The stream was aborted.', 'AbortError');
}

/**
 * Waits `ms` before the next attempt — while the browser is offline, until it is back (at most
 * `offlineWaitMs`); an `online` event ends any wait at once. Rejects with AbortError on abort.
 */
function pause(ms: number, options: ReattachOptions): Promise<void> {
  const network = options.network ?? defaultNetwork();
  const wait = isOnline(options) ? ms : Math.max(ms, options.offlineWaitMs ?? OFFLINE_WAIT_MS);
  const { signal } = options;
  return new Promise((resolve, reject) => {
    const end = (): void => {
      clearTimeout(timer);
      network?.removeEventListener('online', back);
      signal.removeEventListener('abort', aborted);
    };
    const back = (): void => {
      end();
      resolve();
    };
    const aborted = (): void => {
      end();
      reject(abortError());
    };
    const timer = setTimeout(back, wait);
    network?.addEventListener('online', back);
    signal.addEventListener('abort', aborted);
    if (signal.aborted) aborted();
  });
}
