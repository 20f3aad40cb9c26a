import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Folder } from '../api';
import type { LiveEvent } from '../live/events';
import { Folders } from './folders.svelte';

const folder = (id: string, name = id, order = 0): Folder => ({ id, name, order, created_at: '2026-01-01T00:00:00Z' });
const names = (folders: Folders) => folders.folders.map((f) => f.name);

/** A JSON client answering GET /api/folders with `lists` in turn (each when the test says). */
function setup(...lists: Folder[][]) {
  const answers: ((folders: Folder[]) => void)[] = [];
  const calls: [string, string, unknown][] = [];
  const api = {
    json: vi.fn((method: string, path: string, options?: { body?: { name?: string } }) => {
      calls.push([method, path, options?.body]);
      if (method === 'GET') return new Promise((resolve) => answers.push((folders) => resolve({ folders })));
      if (method === 'DELETE') return Promise.resolve(undefined);
      const id = method === 'POST' ? 'new' : path.split('/').pop()!;
      return Promise.resolve(folder(id, options?.body?.name));
    }),
  };
  const folders = new Folders(api as never);
  /** Answers the oldest pending GET with the next list. */
  const answer = async () => {
    answers.shift()?.(lists.shift() ?? []);
    await new Promise((r) => setTimeout(r, 0));
  };
  return { folders, api, calls, answer };
}

const created = (f: Folder): LiveEvent => ({ type: 'folder.created', via: 'socket', folder_id: f.id, folder: f });
const updated = (f: Folder): LiveEvent => ({ type: 'folder.updated', via: 'socket', folder_id: f.id, folder: f });
const deleted = (id: string): LiveEvent => ({ type: 'folder.deleted', via: 'socket', folder_id: id });

describe('Folders: live events', () => {
  afterEach(() => vi.useRealTimers());

  it('a folder made, renamed or deleted in another tab shows at once, in order', async () => {
    const { folders, answer } = setup([folder('a', 'Beta', 1)]);
    const loading = folders.load();
    await answer();
    await loading;
    folders.receive(created(folder('b', 'Alpha', 1)));
    expect(names(folders)).toEqual(['Alpha', 'Beta']);
    folders.receive(updated(folder('b', 'Zulu', 1)));
    expect(names(folders)).toEqual(['Beta', 'Zulu']);
    folders.receive(updated(folder('b', 'Zulu', 0)));
    expect(names(folders)).toEqual(['Zulu', 'Beta']);
    folders.receive(deleted('a'));
    expect(names(folders)).toEqual(['Zulu']);
    // The event of a change made here changes nothing more.
    folders.receive(deleted('a'));
    folders.receive(created(folder('b', 'Zulu', 0)));
    expect(names(folders)).toEqual(['Zulu']);
  });

  it('an event during a load is kept when the load’s answer predates it', async () => {
    const { folders, answer } = setup([folder('a', 'Old'), folder('gone')]);
    const loading = folders.load();
    folders.receive(updated(folder('a', 'New')));
    folders.receive(created(folder('b', 'Born')));
    folders.receive(deleted('gone'));
    await answer();
    await loading;
    expect(names(folders)).toEqual(['Born', 'New']);
    // Once loaded, the next load starts afresh.
    folders.receive(created(folder('c', 'Later')));
    expect(names(folders)).toEqual(['Born', 'Later', 'New']);
  });

  it('resync reloads the folders, then expanded folders reload their chats; an unreadable event reloads', async () => {
    const { folders, answer, api } = setup([folder('a', 'Fresh')], [folder('a', 'Fresher')]);
    folders.receive({ type: 'resync', via: 'socket' });
    expect(api.json).toHaveBeenCalledWith('GET', '/api/folders');
    expect(folders.version).toBe(0);
    await answer();
    expect(names(folders)).toEqual(['Fresh']);
    expect(folders.version).toBe(1);
    folders.receive({ type: 'folder.unreadable', via: 'socket' });
    await answer();
    expect(names(folders)).toEqual(['Fresher']);
  });

  it('a burst of chat events has expanded folders reload once', () => {
    vi.useFakeTimers();
    const { folders } = setup();
    const chat = { id: 'c', title: null, parameters: {}, current_message_id: null, created_at: '', updated_at: '', folder_id: null };
    folders.receive({ type: 'chat.updated', via: 'socket', chat_id: 'c', chat });
    folders.receive({ type: 'chat.deleted', via: 'socket', chat_id: 'd' });
    folders.receive({ type: 'message.voted', via: 'socket', chat_id: 'c', message_id: 'm', vote: 'up' });
    expect(folders.version).toBe(0);
    vi.runAllTimers();
    expect(folders.version).toBe(1);
    folders.receive({ type: 'chat.created', via: 'socket', chat_id: 'c', chat });
    folders.stop();
    vi.runAllTimers();
    expect(folders.version).toBe(1);
  });
});

describe('Folders: changes made here', () => {
  it('are applied from the server’s answer, without a reload', async () => {
    const { folders, calls } = setup();
    await folders.create('Work');
    expect(names(folders)).toEqual(['Work']);
    await folders.rename('new', 'Play');
    expect(names(folders)).toEqual(['Play']);
    const version = folders.version;
    await folders.remove('new');
    expect(folders.folders).toEqual([]);
    expect(folders.version).toBe(version + 1);
    expect(calls).toEqual([
      ['POST', '/api/folders', { name: 'Work' }],
      ['PATCH', '/api/folders/new', { name: 'Play' }],
      ['DELETE', '/api/folders/new', undefined],
    ]);
  });

  it('a failed load says why, and the newer of two loads wins', async () => {
    const api = { json: vi.fn().mockRejectedValueOnce(new Error('Offline.')) };
    const folders = new Folders(api as never);
    await folders.load();
    expect(folders.error).toBe('Offline.');
    const { folders: racing, answer } = setup([folder('old')], [folder('new')]);
    const first = racing.load();
    const second = racing.load();
    await answer();
    await answer();
    await Promise.all([first, second]);
    expect(names(racing)).toEqual(['new']);
  });
});
