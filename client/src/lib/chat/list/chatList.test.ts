import { describe, expect, it, vi } from 'vitest';
import type { Chat, ChatPage } from '../../api/types';
import type { LiveEvent } from '../../live/events';
import { chatAt } from '../fixtures';
import { ChatList } from './chatList.svelte';

const chat = chatAt;
const page = (chats: Chat[], next_cursor: string | null = null): ChatPage => ({ chats, next_cursor });

function setup(pages: ChatPage[]) {
  const onDeletedElsewhere = vi.fn();
  const api = {
    listChats: vi.fn(async () => pages.shift() ?? page([])),
    updateChat: vi.fn(async (id: string, body: { title?: string | null }) => ({ ...chat(id, '2026-01-01T00:00:00Z'), title: body.title ?? null })),
    deleteChat: vi.fn(async () => undefined),
    json: vi.fn(async () => undefined as never),
  };
  return { list: new ChatList({ api, onDeletedElsewhere }), api, onDeletedElsewhere };
}

describe('ChatList', () => {
  it('loads pages by cursor without duplicates', async () => {
    const { list, api } = setup([
      page([chat('b', '2026-01-02T00:00:00Z'), chat('a', '2026-01-01T00:00:00Z')], 'next'),
      page([chat('a', '2026-01-01T00:00:00Z'), chat('z', '2025-01-01T00:00:00Z')]),
    ]);
    await list.load();
    expect(list.hasMore).toBe(true);
    await list.load(true);
    expect(api.listChats).toHaveBeenLastCalledWith({ limit: 30, cursor: 'next' });
    expect(list.chats.map((c) => c.id)).toEqual(['b', 'a', 'z']);
    expect(list.hasMore).toBe(false);
  });

  it('applies the chat events itself; a deletion from elsewhere is reported, its own is not', async () => {
    const { list, onDeletedElsewhere } = setup([page([chat('a', '2026-01-01T00:00:00Z'), chat('b', '2025-12-01T00:00:00Z')])]);
    await list.load();
    const created: LiveEvent = { type: 'chat.created', via: 'socket', chat_id: 'c', chat: chat('c', '2026-01-03T00:00:00Z') };
    list.receive(created);
    expect(list.chats.map((c) => c.id)).toEqual(['c', 'a', 'b']);
    await list.remove('a');
    list.receive({ type: 'chat.deleted', via: 'socket', chat_id: 'a' });
    list.receive({ type: 'chat.deleted', via: 'socket', chat_id: 'b' });
    expect(list.chats.map((c) => c.id)).toEqual(['c']);
    expect(onDeletedElsewhere.mock.calls).toEqual([['b']]);
  });

  it('while searching, new chats are not added; a resync reloads', async () => {
    const { list, api } = setup([page([]), page([chat('x', '2026-01-01T00:00:00Z')])]);
    list.search('otters');
    await Promise.resolve();
    list.receive({ type: 'chat.created', via: 'socket', chat_id: 'c', chat: chat('c', '2026-01-03T00:00:00Z') });
    expect(list.chats).toEqual([]);
    list.receive({ type: 'resync', via: 'socket' });
    await new Promise((r) => setTimeout(r, 0));
    expect(api.listChats).toHaveBeenLastCalledWith({ limit: 30, cursor: null, q: 'otters' });
    expect(list.chats.map((c) => c.id)).toEqual(['x']);
  });

  it('rename replaces the chat in its place; touched moves it to the top', async () => {
    const { list } = setup([page([chat('a', '2026-01-02T00:00:00Z'), chat('b', '2026-01-01T00:00:00Z')])]);
    await list.load();
    await list.rename('b', 'Otter saga');
    expect(list.chats.map((c) => c.title)).toEqual(['a', 'Otter saga']);
    list.touched(chat('b', '2026-01-05T00:00:00Z', 'B'));
    expect(list.chats.map((c) => c.id)).toEqual(['b', 'a']);
  });
});
