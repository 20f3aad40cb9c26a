import { describe, expect, it, vi } from 'vitest';
import type { Chat } from '../api';
import { chatAt } from '../chat/fixtures';
import { announceChatsChanged } from '../chat/list/chatsChanged';
import type { LiveEvent } from '../live/events';
import { forking } from './fork.svelte';
import { Organiser } from './organiser';

const flush = () => new Promise((r) => setTimeout(r, 0));

function setup() {
  const calls: string[] = [];
  const listeners = new Set<(e: LiveEvent) => void>();
  const chats = {
    client: {
      json: vi.fn(async (method: string, path: string) => {
        calls.push(`${method} ${path}`);
        if (path === '/api/folders') return { folders: [{ id: 'f1', name: 'Work', order: 0, created_at: '' }] };
        return { ...chatAt(path.endsWith('/fork') ? 'forked' : 'c1', '2026-01-01T00:00:00Z'), folder_id: 'f1' } satisfies Chat;
      }),
    },
    changed: vi.fn(),
    added: vi.fn(),
    load: vi.fn(async () => undefined),
  };
  const live = {
    subscribe: (listener: (e: LiveEvent) => void) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  const open = vi.fn();
  const events = new EventTarget();
  const organiser = new Organiser({ chats: chats as never, live, open, events });
  const send = (e: LiveEvent) => listeners.forEach((l) => l(e));
  return { organiser, chats, calls, listeners, send, open, events };
}

describe('Organiser', () => {
  it('while started: loads the folders, applies their live events, and reloads all on confab:chats-changed', async () => {
    const { organiser, chats, calls, listeners, send, events } = setup();
    const stop = organiser.start();
    await flush();
    expect(organiser.folders.folders.map((f) => f.name)).toEqual(['Work']);
    send({ type: 'folder.created', via: 'socket', folder_id: 'f2', folder: { id: 'f2', name: 'Play', order: 1, created_at: '' } });
    expect(organiser.folders.folders.map((f) => f.name)).toEqual(['Work', 'Play']);

    const version = organiser.folders.version;
    announceChatsChanged(events);
    await flush();
    expect(chats.load).toHaveBeenCalledOnce();
    expect(calls.filter((c) => c === 'GET /api/folders')).toHaveLength(2);
    expect(organiser.folders.version).toBe(version + 1);

    stop();
    expect(listeners.size).toBe(0);
    expect(forking.handler).toBeNull();
    announceChatsChanged(events);
    expect(chats.load).toHaveBeenCalledOnce();
  });

  it('moving a chat has expanded folders reload; pinning does not', async () => {
    const { organiser, chats, calls } = setup();
    await organiser.change('c1', { folder_id: 'f1' });
    expect(calls).toEqual(['PATCH /api/chats/c1']);
    expect(chats.changed).toHaveBeenCalledWith(expect.objectContaining({ id: 'c1', folder_id: 'f1' }));
    expect(organiser.folders.version).toBe(1);
    await organiser.change('c1', { pinned: true });
    expect(organiser.folders.version).toBe(1);
    await organiser.change('c1', { archived: true });
    expect(organiser.folders.version).toBe(2);
  });

  it('forks through the message actions’ handler: the new chat is listed and opened', async () => {
    const { organiser, chats, calls, open } = setup();
    const stop = organiser.start();
    await forking.handler!('c1', 'm/1');
    expect(calls).toContain('POST /api/chats/c1/messages/m%2F1/fork');
    expect(chats.added).toHaveBeenCalledWith(expect.objectContaining({ id: 'forked' }));
    expect(open).toHaveBeenCalledWith('forked');
    stop();
  });
});
