// The signed-in account, and what a session starts and ends: resuming it when the page loads,
// signing in and out, and the stores that live as long as it does — the socket, the chat list,
// the model catalog and the open chat.
import type { ApiClient, User } from '../api';
import type { ChatList } from '../chat/list/chatList.svelte';
import type { ChatSession } from '../chat/session.svelte';
import type { LiveStore } from '../live/live.svelte';
import type { Catalog } from '../params/catalog.svelte';
import type { Route } from '../ui/route.svelte';

export interface AccountParts {
  api: Pick<ApiClient, 'resume' | 'logout' | 'setToken' | 'wsTicket' | 'models'>;
  live: Pick<LiveStore, 'start' | 'stop'>;
  chats: Pick<ChatList, 'load' | 'reset'>;
  catalog: Pick<Catalog, 'load' | 'reset'>;
  session: Pick<ChatSession, 'close'>;
  route: Pick<Route, 'chatId' | 'navigate'>;
  /** Starts loading chat `id` at once (the chat in the address, while the session resumes). */
  prefetch?: (id: string) => Promise<unknown>;
  /** The session ended: whatever else the page shows of it is cleared. */
  onEnded?: () => void;
}

export class Account {
  user = $state<User | null>(null);
  /** Until the page knows whether a session can be resumed. */
  booting = $state(true);

  readonly #parts: AccountParts;

  constructor(parts: AccountParts) {
    this.#parts = parts;
  }

  /** Resumes the session if the refresh cookie allows (page load). */
  async boot(): Promise<void> {
    const { api, route, prefetch } = this.#parts;
    try {
      const resumed = await api.resume();
      if (resumed) {
        const id = route.chatId;
        const opening = id && prefetch ? prefetch(id) : undefined;
        // Show the app (and start loading the open chat) while the chat list and models load.
        const loaded = this.signedIn(resumed, opening);
        this.booting = false;
        await loaded;
      }
    } catch {
      // not signed in
    } finally {
      this.booting = false;
    }
  }

  /** `opening`: the chat being opened loads first (the list, models and socket wait for it). */
  async signedIn(user: User, opening?: Promise<unknown>): Promise<void> {
    const { api, live, chats, catalog, session } = this.#parts;
    session.close();
    chats.reset();
    this.user = user;
    if (opening) await opening.catch(() => undefined);
    live.start({ getTicket: () => api.wsTicket(), onSignedOut: () => this.end() });
    await Promise.all([chats.load(), catalog.load(api)]);
  }

  /** The session expired (its refresh was refused): back to the sign-in form. */
  expired(): void {
    this.#parts.live.stop();
    this.user = null;
  }

  async signOut(): Promise<void> {
    this.#parts.live.stop();
    try {
      await this.#parts.api.logout();
    } catch {
      // the token is forgotten anyway
    }
    this.end();
  }

  /** Forgets everything of the session (signed out here, or the session ended elsewhere: 4001). */
  end(): void {
    const { api, live, chats, catalog, session, route } = this.#parts;
    live.stop();
    api.setToken(null);
    this.user = null;
    chats.reset();
    catalog.reset();
    session.close();
    route.navigate(null, true);
    this.#parts.onEnded?.();
  }
}
