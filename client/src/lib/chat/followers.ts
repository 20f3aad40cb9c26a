// The reattach streams of the open chat (lib/live/reattach.ts), kept apart from the session
// store (./session.svelte.ts) that calls them. The text of an answer comes by one stream of this
// tab: its own generation's (resumed over the reattach stream if it breaks), or, for an answer
// this tab did not start (streaming when the chat was opened or reloaded, or started by another
// tab or device), the reattach stream from where the text on screen ends. The socket still says
// when answers start and end; its deltas only stand in for a reattach stream that gave up.
//
// The session calls `sync` whenever its messages change, `own` to read its generation, `resync`
// when the socket resyncs, `leave` when the chat is left; the reducer asks `has` which answers
// are followed (the socket's deltas for them are skipped).
import { describeError, isAbortError, isTransient, type ApiClient, type Message, type StreamEvent } from '../api';
import { fromStream, type LiveEvent } from '../live/events';
import { attemptSignal, reattach, type ReattachTiming } from '../live/reattach';

/** This tab's answer could not be followed back after its stream broke (the server goes on). */
export const ANSWER_LOST =
  'The connection was lost while the answer was being written. The server carries on: reload the chat once you are back online.';

/** What the session needs to lend: its API, the open chat and how events reach it. */
export interface FollowHost {
  api: Pick<ApiClient, 'streamAnswer'>;
  /** How reattach streams retry (default: lib/live/reattach.ts). */
  timing?: ReattachTiming;
  /** The chat open now (null: none or a new one). */
  chatId: () => string | null;
  /** Message `id` of the open chat as it is now. */
  message: (id: string) => Message | undefined;
  /** Applies the deltas waiting for the next frame now. */
  flush: () => void;
  /** Applies an event of the open chat. */
  apply: (event: LiveEvent) => void;
  /** Text was missed: reloads the open chat soon. */
  reload: () => void;
}

export class Followers {
  readonly #host: FollowHost;
  /** The reattach streams following answers of the open chat this tab did not start, by answer. */
  readonly #followers = new Map<string, AbortController>();
  /**
   * Answers of the open chat not to follow again: `gone` (404: for good), `failed` (their stream
   * gave up: until the socket resyncs, which tries again).
   */
  readonly #unfollowed = new Map<string, 'gone' | 'failed'>();

  constructor(host: FollowHost) {
    this.#host = host;
  }

  /** Answer `id` is being followed over its reattach stream. */
  has(id: string): boolean {
    return this.#followers.has(id);
  }

  /**
   * Follows every answer of `messages` (the open chat `chatId`'s) that is streaming and is not
   * `own` (this tab's), each over its reattach stream; stops following those that ended (or
   * went). While `naming` (this tab's stream has not named its answer yet) none is started: an
   * answer the socket announces may be it.
   */
  sync(chatId: string, messages: readonly Message[], own: string | null, naming: boolean): void {
    const streaming = new Set(messages.filter((m) => m.status === 'streaming').map((m) => m.id));
    for (const [answer, ctrl] of this.#followers) {
      if (streaming.has(answer) && answer !== own) continue;
      this.#followers.delete(answer);
      ctrl.abort();
    }
    if (naming) return;
    for (const answer of streaming) {
      if (answer !== own && !this.#followers.has(answer) && !this.#unfollowed.has(answer)) this.#follow(chatId, answer);
    }
  }

  /**
   * Reads this tab's generation of chat `chatId` while it is open, applying its events: those of
   * the stream `start` opens, then, if it breaks once it has named its answer (a network error,
   * an early end, the browser going offline; not a stop), those of the reattach stream from the
   * text received. `named` hears its answer once named, and null once it ended. Resolves to
   * whether the server accepted it (any event came) and the error to show if it ended in one
   * (not a stop); an answer it leaves streaming on screen is not followed again until the
   * socket resyncs.
   */
  async own(
    chatId: string,
    start: (signal: AbortSignal) => AsyncIterable<StreamEvent>,
    signal: AbortSignal,
    named: (answer: string | null) => void,
  ): Promise<{ started: boolean; error: string | null }> {
    const own = { started: false, answer: null as string | null, ended: false };
    const read = async (events: AsyncIterable<LiveEvent>): Promise<void> => {
      for await (const event of events) {
        if (this.#host.chatId() !== chatId) break;
        own.started = true;
        if (event.type === 'generation.started') named((own.answer = event.message.id));
        else if (event.type === 'generation.finished' || event.type === 'generation.failed') {
          own.ended = true;
          named(null);
        }
        this.#host.apply(event);
      }
    };
    // Going offline drops the stream once it has named its answer (it may hang half-dead).
    const first = attemptSignal(signal, this.#host.timing?.network, () => own.answer !== null);
    let error: string | null = null;
    try {
      try {
        await read(fromStream(chatId, start(first.signal)));
      } catch (e) {
        // A break once the answer is named is resumed below; anything else is the error shown.
        if (signal.aborted || own.answer === null || !(first.dropped() || isTransient(e))) throw e;
      } finally {
        first.dispose();
      }
      const answer = own.answer;
      if (answer !== null && !own.ended && this.#host.chatId() === chatId && !signal.aborted) {
        await read(this.#reattach(chatId, answer, 'own', signal));
      }
    } catch (e) {
      if (!isAbortError(e)) {
        const lost = own.ended ? null : own.answer;
        error = lost !== null && isTransient(e) ? ANSWER_LOST : describeError(e);
        // Still streaming on screen: not followed again until the socket resyncs.
        if (lost !== null) this.#unfollowed.set(lost, 'failed');
      }
    }
    return { started: own.started, error };
  }

  /** Back after a long loss: follows again the answers whose stream gave up meanwhile. */
  resync(): void {
    for (const [answer, why] of this.#unfollowed) if (why === 'failed') this.#unfollowed.delete(answer);
  }

  /** The chat is left: closes its reattach streams and forgets its answers. */
  leave(): void {
    for (const ctrl of this.#followers.values()) ctrl.abort();
    this.#followers.clear();
    this.#unfollowed.clear();
  }

  #follow(chatId: string, answer: string): void {
    const ctrl = new AbortController();
    this.#followers.set(answer, ctrl);
    void (async () => {
      let stopped: unknown = null;
      try {
        for await (const event of this.#reattach(chatId, answer, 'follow', ctrl.signal)) {
          if (ctrl.signal.aborted) break;
          this.#host.apply(event);
        }
      } catch (e) {
        stopped = e;
      } finally {
        if (this.#followers.get(answer) === ctrl) this.#followers.delete(answer);
      }
      if (ctrl.signal.aborted || this.#host.chatId() !== chatId || isAbortError(stopped)) return;
      // It gave up, or ended without a final state: the socket's deltas stand in, and a reload
      // fetches what the stream did not bring.
      if (this.#host.message(answer)?.status !== 'streaming') return;
      this.#unfollowed.set(answer, stopped !== null && !isTransient(stopped) ? 'gone' : 'failed');
      this.#host.reload();
    })();
  }

  /** The reattach stream of `answer` of chat `chatId`, from the text shown on. */
  #reattach(chatId: string, answer: string, via: 'own' | 'follow', signal: AbortSignal): AsyncGenerator<LiveEvent> {
    return reattach({
      ...this.#host.timing,
      chatId,
      answer,
      via,
      signal,
      open: (from, s) => this.#host.api.streamAnswer(chatId, answer, from, s),
      shown: () => {
        this.#host.flush();
        return this.#host.message(answer)?.content.length ?? 0;
      },
    });
  }
}
