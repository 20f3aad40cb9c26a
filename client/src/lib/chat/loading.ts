// Which answers of the open chat wait for their model to be loaded into memory: the server says
// so (`generation.loading`: SSE `loading` on this tab's stream, the socket's frame for every tab)
// before the answer's first text. The answer shows "Loading <model>…" until its first text
// arrives or it ends. Pure (no runes, no DOM): the session hands it a reactive map.
import type { LiveEvent } from '../live/events';

export class ModelLoading {
  /** Answer id → the id of the model being loaded for it. */
  readonly #answers: Map<string, string>;
  /**
   * Answers whose text has started (or that ended): a late `generation.loading` for one of them
   * (the socket's copy of what this tab's stream said, arriving after the stream's text) is
   * ignored. A new run of the answer (continued) takes it back.
   */
  readonly #past = new Set<string>();

  /** `answers`: the map to keep the state in (a reactive one, for components). */
  constructor(answers: Map<string, string> = new Map()) {
    this.#answers = answers;
  }

  /** The id of the model being loaded for answer `id`, if it waits for one. */
  model(id: string): string | undefined {
    return this.#answers.get(id);
  }

  /**
   * Applies one live event of the open chat. True when an answer starts waiting for its model
   * (to announce); repeats of what is known, and the first text or the end, say false.
   */
  apply(event: LiveEvent): boolean {
    switch (event.type) {
      case 'generation.loading': {
        const id = event.message_id;
        if (this.#past.has(id) || this.#answers.get(id) === event.model) return false;
        this.#answers.set(id, event.model);
        return true;
      }
      case 'generation.started': {
        // A continued answer starts again (with its text so far, or its runs): it may load again.
        const message = event.message;
        if (message.content !== '' || (message.continuations?.length ?? 0) > 0) this.#past.delete(message.id);
        return false;
      }
      case 'generation.delta':
        if (event.content !== '') this.#end(event.message_id);
        return false;
      case 'generation.finished':
        this.#end(event.message.id);
        return false;
      case 'generation.failed':
        if (event.message) this.#end(event.message.id);
        return false;
      default:
        return false;
    }
  }

  /** Forgets everything (the chat is left). */
  clear(): void {
    this.#answers.clear();
    this.#past.clear();
  }

  #end(id: string): void {
    this.#past.add(id);
    this.#answers.delete(id);
  }
}
