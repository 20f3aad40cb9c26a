import { describe, expect, it } from 'vitest';
import { CHAT_DRAG_TYPE, draggedChatId, groupWithPinned, sortFolders, startChatDrag } from './organise';

const now = new Date('2026-03-10T12:00:00');
const chat = (id: string, updated_at: string, pinned = false) => ({ id, updated_at, pinned });

describe('groupWithPinned', () => {
  it('puts pinned chats in a first "Pinned" group, whatever their date', () => {
    const groups = groupWithPinned([chat('old', '2025-01-01T00:00:00', true), chat('a', '2026-03-10T11:00:00'), chat('b', '2026-03-09T11:00:00')], now);
    expect(groups.map((g) => [g.label, g.chats.map((c) => c.id)])).toEqual([
      ['Pinned', ['old']],
      ['Today', ['a']],
      ['Yesterday', ['b']],
    ]);
  });

  it('has no "Pinned" group when nothing is pinned', () => {
    expect(groupWithPinned([chat('a', '2026-03-10T11:00:00')], now).map((g) => g.key)).not.toContain('pinned');
  });
});

describe('sortFolders', () => {
  it('orders by order, then by name ignoring case', () => {
    const folders = [
      { name: 'b', order: 1 },
      { name: 'C', order: 0 },
      { name: 'a', order: 1 },
    ];
    expect(sortFolders(folders).map((f) => f.name)).toEqual(['C', 'a', 'b']);
  });
});

describe('draggedChatId', () => {
  it('reads the chat id of a chat drag only', () => {
    expect(draggedChatId([CHAT_DRAG_TYPE, 'text/plain'], () => ' c1 ')).toBe('c1');
    expect(draggedChatId(['text/plain'], () => 'c1')).toBeNull();
    expect(draggedChatId([CHAT_DRAG_TYPE], () => '')).toBeNull();
  });
});

describe('startChatDrag', () => {
  it('carries the chat id for a folder and the title for anything else, as a move', () => {
    const set: Record<string, string> = {};
    const data = { effectAllowed: 'all' as DataTransfer['effectAllowed'], setData: (type: string, value: string) => void (set[type] = value) };
    startChatDrag(data, 'c1', 'Cats');
    expect(set).toEqual({ [CHAT_DRAG_TYPE]: 'c1', 'text/plain': 'Cats' });
    expect(data.effectAllowed).toBe('move');
    expect(draggedChatId(Object.keys(set), (t) => set[t]!)).toBe('c1');
    startChatDrag(null, 'c1', 'Cats');
  });
});
