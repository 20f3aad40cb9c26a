// A settings list of the account's records that can be revoked (share links, API keys): the
// records (null until loaded), the error, a polite status, and the record whose Revoke awaits
// confirmation. Revoked, a record leaves the list; one already revoked elsewhere (404) too.
import { ApiError, describeError } from '../api';

export interface RevocableOptions<T> {
  /** Lists the records (on `load`). */
  list: () => Promise<T[]>;
  revoke: (item: T) => Promise<void>;
  /** The status once `item` is revoked… */
  revoked: (item: T) => string;
  /** …or when it already was. */
  alreadyRevoked: (item: T) => string;
}

export class RevocableList<T extends { id: string }> {
  items = $state<T[] | null>(null);
  error = $state<string | null>(null);
  status = $state('');
  /** The record whose Revoke awaits confirmation (its dialog is open). */
  revoking = $state<T | null>(null);

  readonly #options: RevocableOptions<T>;

  constructor(options: RevocableOptions<T>) {
    this.#options = options;
  }

  async load(): Promise<void> {
    try {
      this.items = await this.#options.list();
    } catch (e) {
      this.error = describeError(e);
    }
  }

  /**
   * Revokes the record awaiting confirmation. True when its row went (the caller moves the
   * focus, since its buttons went with it); false when nothing awaited or it failed (`error`).
   */
  async confirmRevoke(): Promise<boolean> {
    const item = this.revoking;
    this.revoking = null;
    if (!item) return false;
    this.error = null;
    try {
      await this.#options.revoke(item);
      this.status = this.#options.revoked(item);
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404)) {
        this.error = describeError(e);
        return false;
      }
      this.status = this.#options.alreadyRevoked(item);
    }
    this.items = this.items?.filter((i) => i.id !== item.id) ?? null;
    return true;
  }
}
