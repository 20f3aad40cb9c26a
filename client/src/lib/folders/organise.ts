// Pure helpers of the sidebar's organising: the "Pinned" group above the date groups, the
// folders' order, and the chat id carried by a drag.
import { groupChatsByDate, type DateGroup, type Dated } from '../chat/list/dateGroups';

export interface Pinnable extends Dated {
  pinned?: boolean;
}

/** A "Pinned" group (when any chat is pinned), then the other chats grouped by date. */
export function groupWithPinned<T extends Pinnable>(chats: readonly T[], now: Date): DateGroup<T>[] {
  const pinned = chats.filter((c) => c.pinned);
  const rest = groupChatsByDate(
    chats.filter((c) => !c.pinned),
    now,
  );
  return pinned.length ? [{ key: 'pinned', label: 'Pinned', chats: pinned }, ...rest] : rest;
}

/** Folders by `order`, then name (case-insensitive). */
export function sortFolders<T extends { name: string; order: number }>(folders: readonly T[]): T[] {
  return [...folders].sort((a, b) => a.order - b.order || a.name.localeCompare(b.name, undefined, { sensitivity: 'base' }));
}

/** The drag data type of a chat row. */
export const CHAT_DRAG_TYPE = 'application/x-confab-chat';

/** A chat row's drag: its id for the folders, its title for anywhere else; a move. */
export function startChatDrag(data: Pick<DataTransfer, 'setData' | 'effectAllowed'> | null, id: string, title: string): void {
  if (!data) return;
  data.setData(CHAT_DRAG_TYPE, id);
  data.setData('text/plain', title);
  data.effectAllowed = 'move';
}

/** The chat id a drop carries, or null (another kind of drag). */
export function draggedChatId(types: readonly string[], read: (type: string) => string): string | null {
  if (!types.includes(CHAT_DRAG_TYPE)) return null;
  const id = read(CHAT_DRAG_TYPE).trim();
  return id || null;
}
