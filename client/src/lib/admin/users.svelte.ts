// The administration's user list: pages by cursor, a search (a new search drops the answers of
// older ones), and rows replaced or removed as the admin changes them.
import type { AdminUser, AdminUserUpdate, ApiClient } from '../api';
import { describeError } from '../api';

const PAGE_SIZE = 50;

export class AdminUsers {
  users = $state<AdminUser[]>([]);
  query = $state('');
  loading = $state(false);
  error = $state<string | null>(null);
  #cursor: string | null = null;
  hasMore = $state(false);
  /** Counts requests: only the latest one's answer is shown. */
  #request = 0;

  readonly #api: Pick<ApiClient, 'adminUsers' | 'adminUpdateUser' | 'adminDeleteUser'>;

  constructor(api: Pick<ApiClient, 'adminUsers' | 'adminUpdateUser' | 'adminDeleteUser'>) {
    this.#api = api;
  }

  /** The first page (or, with `more`, the next one) of the current search. */
  async load(more = false): Promise<void> {
    if (more && !this.hasMore) return;
    const request = ++this.#request;
    this.loading = true;
    this.error = null;
    try {
      const page = await this.#api.adminUsers({
        q: this.query,
        cursor: more ? this.#cursor : null,
        limit: PAGE_SIZE,
      });
      if (request !== this.#request) return;
      this.users = more ? [...this.users, ...page.users.filter((u) => !this.users.some((v) => v.id === u.id))] : page.users;
      this.#cursor = page.next_cursor;
      this.hasMore = page.next_cursor !== null;
    } catch (e) {
      if (request === this.#request) this.error = describeError(e);
    } finally {
      if (request === this.#request) this.loading = false;
    }
  }

  /** A new search: the list starts again. */
  search(q: string): Promise<void> {
    this.query = q.trim();
    return this.load();
  }

  /** Changes a user; the row becomes the server's answer. Rejects (unchanged) when refused. */
  async update(id: string, change: AdminUserUpdate): Promise<AdminUser> {
    const updated = await this.#api.adminUpdateUser(id, change);
    this.users = this.users.map((u) => (u.id === id ? updated : u));
    return updated;
  }

  async remove(id: string): Promise<void> {
    await this.#api.adminDeleteUser(id);
    this.users = this.users.filter((u) => u.id !== id);
  }
}
