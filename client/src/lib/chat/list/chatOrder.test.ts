import { describe, expect, it } from 'vitest';
import type { Chat, Message } from '../../api/types';
import { fromSocket, type LiveEvent } from '../../live/events';
import { chatAt } from '../fixtures';
import { applyChatEvent, dedupeChats } from './chatOrder';

const created = (chat: Chat): LiveEvent => ({ type: 'chat.created', via: 'socket', chat_id: chat.id, chat });
const updated = (chat: Chat): LiveEvent => ({ type: 'chat.updated', via: 'socket', chat_id: chat.id, chat });
const deleted = (id: string): LiveEvent => ({ type: 'chat.deleted', via: 'socket', chat_id: id });
const msg = (id: string): Message => ({
  id,
  chat_id: 'a',
  parent_id: null,
  role: 'user',
  content: 'hi',
  status: 'complete',
  created_at: '2026-01-01T00:00:00Z',
  vote: null,
});

describe('applyChatEvent', () => {
  const chat = chatAt;
  const list = [chat('c', '2026-01-03T00:00:00Z'), chat('b', '2026-01-02T00:00:00Z'), chat('a', '2026-01-01T00:00:00Z')];

  it('adds a created chat at the top, without duplicates', () => {
    const d = chat('d', '2026-01-04T00:00:00Z');
    const once = applyChatEvent(list, created(d));
    expect(once.map((c) => c.id)).toEqual(['d', 'c', 'b', 'a']);
    const twice = applyChatEvent(once, created(d));
    expect(twice.map((c) => c.id)).toEqual(['d', 'c', 'b', 'a']);
  });

  it('moves an updated chat by its activity and takes the new title', () => {
    const out = applyChatEvent(list, updated(chat('a', '2026-01-05T00:00:00Z', 'New')));
    expect(out.map((c) => c.id)).toEqual(['a', 'c', 'b']);
    expect(out[0]!.title).toBe('New');
    const renamed = applyChatEvent(list, updated(chat('b', '2026-01-02T00:00:00Z', 'B')));
    expect(renamed.map((c) => c.title)).toEqual(['c', 'B', 'a']);
  });

  it('removes a deleted chat', () => {
    expect(applyChatEvent(list, deleted('b')).map((c) => c.id)).toEqual(['c', 'a']);
    expect(applyChatEvent(list, deleted('zz'))).toBe(list);
  });

  it('does not add unknown chats while searching or past the end of a partial list', () => {
    const d = chat('d', '2026-01-04T00:00:00Z');
    expect(applyChatEvent(list, created(d), { insertNew: false })).toBe(list);
    const old = chat('z', '2025-01-01T00:00:00Z');
    expect(applyChatEvent(list, updated(old), { hasMore: true })).toBe(list);
    expect(applyChatEvent(list, updated(old)).map((c) => c.id)).toEqual(['c', 'b', 'a', 'z']);
  });

  it('ignores malformed data and other events', () => {
    // Malformed frames are turned into `unreadable` (or dropped) at the socket's edge.
    expect(applyChatEvent(list, fromSocket({ type: 'chat.updated', chat_id: 'a', data: { nope: 1 } })!)).toBe(list);
    expect(fromSocket({ type: 'chat.updated', data: { nope: 1 } })).toBeNull();
    expect(applyChatEvent(list, fromSocket({ type: 'message.created', chat_id: 'a', data: msg('m1') })!)).toBe(list);
  });

  it('keeps pinned chats first, each part by activity', () => {
    const pinned = applyChatEvent(list, updated({ ...chat('a', '2026-01-01T00:00:00Z'), pinned: true }));
    expect(pinned.map((c) => c.id)).toEqual(['a', 'c', 'b']);
    const newer = applyChatEvent(pinned, created(chat('d', '2026-01-04T00:00:00Z')));
    expect(newer.map((c) => c.id)).toEqual(['a', 'd', 'c', 'b']);
    const unpinned = applyChatEvent(newer, updated({ ...chat('a', '2026-01-01T00:00:00Z'), pinned: false }));
    expect(unpinned.map((c) => c.id)).toEqual(['d', 'c', 'b', 'a']);
  });

  it('removes an archived chat unless archived chats are listed (a search)', () => {
    const archived = { ...chat('b', '2026-01-02T00:00:00Z'), archived: true };
    expect(applyChatEvent(list, updated(archived)).map((c) => c.id)).toEqual(['c', 'a']);
    expect(applyChatEvent(list, updated(archived), { keepArchived: true }).map((c) => c.id)).toEqual(['c', 'b', 'a']);
    expect(applyChatEvent([], created(archived))).toEqual([]);
  });

  it('dedupeChats keeps the first', () => {
    expect(dedupeChats([...list, chat('b', '2020-01-01T00:00:00Z')]).map((c) => c.id)).toEqual(['c', 'b', 'a']);
  });
});
