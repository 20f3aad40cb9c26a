// The administration's model list, kept fresh while it is on screen: asked for again every 2 s
// while a model loads or just after a load or unload, else every 10 s; not while the page is
// hidden (asked for at once when it shows again); never once stopped. An action's answer replaces
// its row; a poll that was under way meanwhile is dropped (it may predate the action). What
// changes is said in `announcement`.
import { SvelteMap, SvelteSet } from 'svelte/reactivity';
import { describeError, type AdminModel, type ApiClient } from '../api';
import { actionError, pollDelay, stateChanges, type ModelAction } from './models';

type ModelsApi = Pick<ApiClient, 'adminModels' | 'adminModelAction'>;

/** Timers, the clock and the page's visibility (the browser's by default; tests bring their own). */
export interface PollEnv {
  setTimer: (fn: () => void, ms: number) => unknown;
  clearTimer: (handle: unknown) => void;
  now: () => number;
  hidden: () => boolean;
  /** Calls `listener` when the page is shown or hidden, until the returned function is called. */
  onVisibility: (listener: () => void) => () => void;
}

const browserEnv: PollEnv = {
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  now: () => Date.now(),
  hidden: () => typeof document !== 'undefined' && document.visibilityState === 'hidden',
  onVisibility: (listener) => {
    if (typeof document === 'undefined') return () => undefined;
    document.addEventListener('visibilitychange', listener);
    return () => document.removeEventListener('visibilitychange', listener);
  },
};

export class AdminModels {
  models = $state<AdminModel[]>([]);
  /** The first answer came. */
  loaded = $state(false);
  /** Why the list could not be fetched (the last attempt). */
  error = $state<string | null>(null);
  /** Why a model's last load or unload was refused, by model id. */
  readonly rowErrors = new SvelteMap<string, string>();
  /** Models with a load or unload under way. */
  readonly busy = new SvelteSet<string>();
  /** The last changes in words, for the status region. */
  announcement = $state('');

  readonly #api: ModelsApi;
  readonly #env: PollEnv;
  #timer: unknown = null;
  #running = false;
  #fetching = false;
  /** Bumped by every action's answer: a poll begun before it is dropped. */
  #version = 0;
  #lastAction = -Infinity;

  constructor(api: ModelsApi, env: Partial<PollEnv> = {}) {
    this.#api = api;
    this.#env = { ...browserEnv, ...env };
  }

  /** Fetches the list now; an answer older than an action's is dropped. */
  async refresh(): Promise<void> {
    if (this.#fetching) return;
    this.#fetching = true;
    const version = this.#version;
    try {
      const models = await this.#api.adminModels();
      if (version !== this.#version) return;
      this.#take(models);
      this.error = null;
    } catch (e) {
      this.error = describeError(e);
    } finally {
      this.#fetching = false;
      this.loaded = true;
    }
  }

  /** Asks for a load or an unload of model `id`; a refusal is kept in `rowErrors`. */
  async act(id: string, action: ModelAction): Promise<void> {
    if (this.busy.has(id)) return;
    this.busy.add(id);
    this.rowErrors.delete(id);
    try {
      const updated = await this.#api.adminModelAction(id, action);
      this.#version++;
      this.#take(this.models.map((m) => (m.id === updated.id ? updated : m)));
    } catch (e) {
      this.rowErrors.set(id, actionError(e));
    } finally {
      this.busy.delete(id);
      this.#lastAction = this.#env.now();
      if (this.#running) this.#schedule();
    }
  }

  /** Keeps the list fresh until the returned function is called (the page is left). */
  start(): () => void {
    if (this.#running) return () => this.stop();
    this.#running = true;
    const off = this.#env.onVisibility(() => {
      if (!this.#running) return;
      if (this.#env.hidden()) this.#cancel();
      else void this.#poll();
    });
    void this.#poll();
    return () => {
      off();
      this.stop();
    };
  }

  stop(): void {
    this.#running = false;
    this.#cancel();
  }

  #take(models: AdminModel[]): void {
    const said = stateChanges(this.models, models);
    if (said.length) this.announcement = said.join('. ');
    this.models = models;
  }

  async #poll(): Promise<void> {
    this.#cancel();
    if (!this.#running || this.#env.hidden()) return;
    await this.refresh();
    if (this.#running && this.#timer === null) this.#schedule();
  }

  #schedule(): void {
    this.#cancel();
    if (this.#env.hidden()) return;
    const delay = pollDelay(this.models, this.#env.now() - this.#lastAction);
    this.#timer = this.#env.setTimer(() => {
      this.#timer = null;
      void this.#poll();
    }, delay);
  }

  #cancel(): void {
    if (this.#timer !== null) this.#env.clearTimer(this.#timer);
    this.#timer = null;
  }
}
