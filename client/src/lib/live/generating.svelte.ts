// Which chats have an answer being generated right now — in this tab, another tab or another
// device (the server sends generation events to every socket of the user). Drives the
// sidebar's "Generating" indicator.
//
// `GenerationTracker` is the plain logic (no runes, no DOM); `generating` is its reactive face,
// fed from the live store by `trackGenerations()` (call it from one component's `$effect`).
import type { LiveEvent } from './events';
import { live, type LiveStore } from './live.svelte';

/** How many finished answer ids are remembered, so a late event cannot revive them. */
const FINISHED_MEMORY = 500;

/**
 * Running generations keyed by answer message id (two answers of one chat, e.g. a regeneration
 * in another tab, are tracked separately: the chat stops "generating" when both are done).
 */
export class GenerationTracker {
  /** Answer message id → chat id. */
  readonly #running = new Map<string, string>();
  /** Recently finished answer ids, oldest first (insertion order). */
  readonly #finished = new Set<string>();

  /** Applies one live event; true when the set of generating chats may have changed. */
  apply(event: LiveEvent): boolean {
    switch (event.type) {
      case 'generation.started':
        // A finished answer starting again with the text it had is being continued (a first
        // run starts with none): it runs again.
        if (event.message.content !== '' || (event.message.continuations?.length ?? 0) > 0) this.#finished.delete(event.message.id);
        return this.#start(event.message.id, event.chat_id);
      // A delta (or a model load) for an answer we do not know: it started before this tab
      // listened (page load) or before a reset (`resync`). Either way it is running now.
      case 'generation.delta':
      case 'generation.loading':
        return this.#start(event.message_id, event.chat_id);
      case 'message.created':
        return event.message.status === 'streaming' ? this.#start(event.message.id, event.chat_id) : false;
      case 'generation.finished':
        return this.#finish(event.message.id);
      // Events may have been lost (a `generation.finished` among them): forget; running
      // generations come back with their next delta.
      case 'resync':
        return this.reset();
      default:
        return false;
    }
  }

  /** Whether an answer is being generated in `chatId`. */
  has(chatId: string): boolean {
    for (const c of this.#running.values()) if (c === chatId) return true;
    return false;
  }

  /** The chats with at least one running generation. */
  chatIds(): Set<string> {
    return new Set(this.#running.values());
  }

  /** Forgets everything (events may have been lost: a reconnect, a sign-out). */
  reset(): boolean {
    const changed = this.#running.size > 0;
    this.#running.clear();
    this.#finished.clear();
    return changed;
  }

  #start(messageId: string, chatId: string): boolean {
    if (this.#finished.has(messageId) || this.#running.get(messageId) === chatId) return false;
    this.#running.set(messageId, chatId);
    return true;
  }

  #finish(messageId: string): boolean {
    this.#finished.add(messageId);
    if (this.#finished.size > FINISHED_MEMORY) {
      const oldest = this.#finished.values().next().value;
      if (oldest !== undefined) this.#finished.delete(oldest);
    }
    return this.#running.delete(messageId);
  }
}

/** The reactive set of generating chats, for components. */
export class GeneratingStore {
  readonly #tracker = new GenerationTracker();
  /** Replaced (never mutated) on every change, so reading it is reactive. */
  #chats = $state.raw<ReadonlySet<string>>(new Set());

  /** Reactive: whether an answer is being generated in `chatId`. */
  has(chatId: string): boolean {
    return this.#chats.has(chatId);
  }

  /** Reactive: how many chats are generating. */
  get size(): number {
    return this.#chats.size;
  }

  handle(event: LiveEvent): void {
    if (this.#tracker.apply(event)) this.#publish();
  }

  reset(): void {
    if (this.#tracker.reset()) this.#publish();
  }

  #publish(): void {
    const next = this.#tracker.chatIds();
    const prev = this.#chats;
    if (next.size === prev.size && [...next].every((id) => prev.has(id))) return;
    this.#chats = next;
  }
}

export const generating = new GeneratingStore();

/**
 * Feeds `generating` from the live events until the returned function is called (which also
 * clears it). Meant for a component's `$effect(() => trackGenerations())`: one subscriber at a time.
 */
export function trackGenerations(store: GeneratingStore = generating, source: LiveStore = live): () => void {
  const off = source.subscribe((event) => store.handle(event));
  return () => {
    off();
    store.reset();
  };
}
