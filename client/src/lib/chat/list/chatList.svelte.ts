// The chat list of the sidebar: pages loaded by cursor, the search, rename and delete, and the
// `chat.*` live events, which it applies itself (./chatOrder.ts).
import { describeError, type ApiClient, type Chat } from '../../api';
import type { LiveEvent } from '../../live/events';
import { applyChatEvent, dedupeChats, upsertChat } from './chatOrder';

const PAGE = 30;
/** A deletion's live event may come after the answer to it; the id is remembered this long. */
const DELETING_MEMORY_MS = 5000;

export interface ChatListOptions {
  /** `json` also serves the folders, archive and fork requests (../../folders/). */
  api: Pick<ApiClient, 'listChats' | 'updateChat' | 'deleteChat' | 'json'>;
  /** A chat was deleted by another tab or device (not here). */
  onDeletedElsewhere?: (id: string) => void;
  pageSize?: number;
}

export class ChatList {
  chats = $state.raw<Chat[]>([]);
  nextCursor = $state<string | null>(null);
  loading = $state(false);
  error = $state<string | null>(null);
  /** The search applied to `chats` ('' for none). */
  query = $state('');

  readonly #options: ChatListOptions;
  /** Chats this tab is deleting: their `chat.deleted` event is not "from another tab". */
  readonly #deletingHere = new Set<string>();
  #request = 0;

  constructor(options: ChatListOptions) {
    this.#options = options;
  }

  /** The API client, for the sidebar's folder and archive requests. */
  get client(): Pick<ApiClient, 'json'> {
    return this.#options.api;
  }

  get hasMore(): boolean {
    return this.nextCursor !== null;
  }

  find(id: string): Chat | undefined {
    return this.chats.find((c) => c.id === id);
  }

  /** A live event: `chat.*` changes the list; `resync` reloads it. */
  receive(event: LiveEvent): void {
    switch (event.type) {
      case 'chat.created':
      case 'chat.updated':
      case 'chat.deleted':
        this.chats = applyChatEvent(this.chats, event, { insertNew: this.query === '', hasMore: this.hasMore, keepArchived: this.query !== '' });
        if (event.type === 'chat.deleted' && !this.#deletingHere.has(event.chat_id)) {
          this.#options.onDeletedElsewhere?.(event.chat_id);
        }
        break;
      case 'resync':
        void this.load();
        break;
    }
  }

  /** Loads the first page (or, with `more`, the next one). A newer request wins over one in flight. */
  async load(more = false): Promise<void> {
    if (more && (this.loading || this.nextCursor === null)) return;
    const request = ++this.#request;
    this.loading = true;
    try {
      const q = this.query;
      const page = await this.#options.api.listChats({
        limit: this.#options.pageSize ?? PAGE,
        cursor: more ? this.nextCursor : null,
        ...(q ? { q } : {}),
      });
      if (request !== this.#request) return;
      this.chats = dedupeChats(more ? [...this.chats, ...page.chats] : page.chats);
      this.nextCursor = page.next_cursor;
      this.error = null;
    } catch (e) {
      if (request === this.#request) this.error = describeError(e);
    } finally {
      if (request === this.#request) this.loading = false;
    }
  }

  /** Searches ('' clears the search). */
  search(q: string): void {
    this.query = q;
    this.nextCursor = null;
    this.chats = [];
    void this.load();
  }

  async rename(id: string, title: string): Promise<Chat> {
    const chat = await this.#options.api.updateChat(id, { title });
    this.put(chat);
    return chat;
  }

  async remove(id: string): Promise<void> {
    this.#deletingHere.add(id);
    try {
      await this.#options.api.deleteChat(id);
      this.chats = this.chats.filter((c) => c.id !== id);
    } finally {
      setTimeout(() => this.#deletingHere.delete(id), DELETING_MEMORY_MS);
    }
  }

  /** A fresher copy of a listed chat, in its place. */
  put(chat: Chat): void {
    if (this.find(chat.id)) this.chats = this.chats.map((c) => (c.id === chat.id ? chat : c));
  }

  /** A chat changed here (pinned, archived, moved): applied as its live event will be. */
  changed(chat: Chat): void {
    this.receive({ type: 'chat.updated', via: 'socket', chat_id: chat.id, chat });
  }

  /** A chat created here: listed at once, at its place. */
  added(chat: Chat): void {
    this.chats = upsertChat(this.chats, chat);
  }

  /** A chat with new activity moves to the top (unless a search would not list it). */
  touched(chat: Chat): void {
    if (this.query === '' || this.find(chat.id)) this.chats = upsertChat(this.chats, chat);
  }

  /** Forgets everything (sign-out). */
  reset(): void {
    this.#request++;
    this.chats = [];
    this.nextCursor = null;
    this.query = '';
    this.loading = false;
    this.error = null;
  }
}
