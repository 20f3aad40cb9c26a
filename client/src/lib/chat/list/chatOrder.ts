// The chat list's order (pinned first, then newest activity first) and the `chat.*` live events applied to it. Pure:
// the store (./chatList.svelte.ts) holds the list.
import type { Chat } from '../../api/types';
import type { LiveEvent } from '../../live/events';

/** Newest activity first; ties keep their order. */
function activityTime(chat: Chat): number {
  const t = Date.parse(chat.updated_at);
  return Number.isFinite(t) ? t : 0;
}

/** Whether `a` sorts before (or level with) `b`: pinned chats first, then newest activity. */
function sortsBefore(a: Chat, b: Chat): boolean {
  if (!!a.pinned !== !!b.pinned) return !!a.pinned;
  return activityTime(a) >= activityTime(b);
}

/** Inserts (or moves) `chat` into a list ordered as the server lists it, removing duplicates. */
export function upsertChat(chats: readonly Chat[], chat: Chat): Chat[] {
  const rest = chats.filter((c) => c.id !== chat.id);
  const at = rest.findIndex((c) => sortsBefore(chat, c));
  if (at === -1) return [...rest, chat];
  return [...rest.slice(0, at), chat, ...rest.slice(at)];
}

/** Removes duplicate ids (the first occurrence wins). */
export function dedupeChats(chats: readonly Chat[]): Chat[] {
  const seen = new Set<string>();
  return chats.filter((c) => (seen.has(c.id) ? false : (seen.add(c.id), true)));
}

export interface ApplyOptions {
  /**
   * Whether chats not in the list may be added (false while a search filters the list, or
   * when a chat older than the last loaded one would land past the end of a partial list).
   */
  insertNew?: boolean;
  /** Whether more pages exist: then a chat sorting after the last loaded one is left out. */
  hasMore?: boolean;
  /** Whether archived chats are listed (a search finds them); otherwise an archived chat leaves. */
  keepArchived?: boolean;
}

/**
 * Applies a `chat.created` / `chat.updated` / `chat.deleted` event to the list. Returns the
 * same array when nothing changed (any other event changes nothing).
 */
export function applyChatEvent(chats: Chat[], event: LiveEvent, options: ApplyOptions = {}): Chat[] {
  const insertNew = options.insertNew ?? true;
  switch (event.type) {
    case 'chat.deleted': {
      const id = event.chat_id;
      if (!chats.some((c) => c.id === id)) return chats;
      return chats.filter((c) => c.id !== id);
    }
    case 'chat.created':
    case 'chat.updated': {
      const chat = event.chat;
      const known = chats.some((c) => c.id === chat.id);
      if (chat.archived && !options.keepArchived) return known ? chats.filter((c) => c.id !== chat.id) : chats;
      if (!known) {
        if (!insertNew) return chats;
        const last = chats[chats.length - 1];
        if (options.hasMore && last && !sortsBefore(chat, last)) return chats;
      }
      return upsertChat(chats, chat);
    }
    default:
      return chats;
  }
}
