// The address: `/` is a new chat, `/c/<id>` an existing one, `/settings` the account's settings,
// `/admin` the administration, `/s/<token>` a shared chat (read-only, outside the app), and
// `/s/<token>?sign-in` the sign-in form a signed-out viewer of it asked for ("Sign in to
// continue"), after which the shared chat shows again. Back and forward are followed.
import { shareTokenOf } from '../share/shares';

export type Page = 'chat' | 'settings' | 'admin';

/** Where the address points: a page, and for the chat page the chat (null: a new one). */
export interface Place {
  page: Page;
  chatId: string | null;
}

export function placeOf(path: string): Place {
  if (/^\/settings\/?$/.test(path)) return { page: 'settings', chatId: null };
  if (/^\/admin\/?$/.test(path)) return { page: 'admin', chatId: null };
  return { page: 'chat', chatId: chatIdFromPath(path) };
}

export function chatIdFromPath(path: string): string | null {
  const m = /^\/c\/([^/]+)$/.exec(path);
  return m?.[1] ? decodeURIComponent(m[1]) : null;
}

export function pathOf(chatId: string | null): string {
  return chatId ? `/c/${encodeURIComponent(chatId)}` : '/';
}

export function pagePath(page: Page, chatId: string | null = null): string {
  return page === 'chat' ? pathOf(chatId) : `/${page}`;
}

/** Whether a share page's address asks for the sign-in form first (`?sign-in`). */
export function signInStepOf(search: string | undefined): boolean {
  return new URLSearchParams(search ?? '').has('sign-in');
}

/** Where the page's address points now. */
function here(): Place {
  return typeof location === 'undefined' ? { page: 'chat', chatId: null } : placeOf(location.pathname);
}

export class Route {
  /** The page in the address. */
  page = $state<Page>(here().page);
  /** The chat in the address; null for a new chat (and on the other pages). */
  chatId = $state<string | null>(here().chatId);
  /** The token of a shared chat's page (`/s/<token>`), shown instead of the app; else null. */
  shareToken = $state<string | null>(typeof location === 'undefined' ? null : shareTokenOf(location.pathname));
  /** On a share page: the viewer asked to sign in first (the sign-in form shows if signed out). */
  signingIn = $state(typeof location !== 'undefined' && shareTokenOf(location.pathname) !== null && signInStepOf(location.search));

  /** Shows chat `id` (null: a new chat), as a new history entry unless `replace`. */
  navigate(id: string | null, replace = false): void {
    this.#go({ page: 'chat', chatId: id }, replace);
  }

  /** Shows the settings or the administration page. */
  open(page: Exclude<Page, 'chat'>, replace = false): void {
    this.#go({ page, chatId: null }, replace);
  }

  /** A share page's "Sign in to continue": the sign-in form, as a new history entry. */
  signInToContinue(): void {
    if (this.shareToken === null || this.signingIn) return;
    this.signingIn = true;
    if (typeof location !== 'undefined') history.pushState(null, '', `${location.pathname}?sign-in`);
  }

  /** Signed in (or given up): the share page again, in place of the sign-in form's entry. */
  backToShare(): void {
    if (!this.signingIn) return;
    this.signingIn = false;
    if (typeof location !== 'undefined') history.replaceState(null, '', location.pathname);
  }

  #go(place: Place, replace: boolean): void {
    this.page = place.page;
    this.chatId = place.chatId;
    this.shareToken = null;
    this.signingIn = false;
    const path = pagePath(place.page, place.chatId);
    if (typeof location === 'undefined' || location.pathname === path) return;
    if (replace) history.replaceState(null, '', path);
    else history.pushState(null, '', path);
  }

  /** Follows back/forward until the returned function is called. */
  listen(): () => void {
    const onPop = () => {
      const place = placeOf(location.pathname);
      this.page = place.page;
      this.chatId = place.chatId;
      this.shareToken = shareTokenOf(location.pathname);
      this.signingIn = this.shareToken !== null && signInStepOf(location.search);
    };
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }
}
