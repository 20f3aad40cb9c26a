// The address: `/` is a new chat, `/c/<id>` an existing one. Back and forward are followed.

export function chatIdFromPath(path: string): string | null {
  const m = /^\/c\/([^/]+)$/.exec(path);
  return m?.[1] ? decodeURIComponent(m[1]) : null;
}

export function pathOf(chatId: string | null): string {
  return chatId ? `/c/${encodeURIComponent(chatId)}` : '/';
}

export class Route {
  /** The chat in the address; null for a new chat. */
  chatId = $state<string | null>(typeof location === 'undefined' ? null : chatIdFromPath(location.pathname));

  /** Shows chat `id` (null: a new chat), as a new history entry unless `replace`. */
  navigate(id: string | null, replace = false): void {
    this.chatId = id;
    const path = pathOf(id);
    if (typeof location === 'undefined' || location.pathname === path) return;
    if (replace) history.replaceState(null, '', path);
    else history.pushState(null, '', path);
  }

  /** Follows back/forward until the returned function is called. */
  listen(): () => void {
    const onPop = () => (this.chatId = chatIdFromPath(location.pathname));
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }
}
