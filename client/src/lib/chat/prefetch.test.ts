import { describe, expect, it, vi } from 'vitest';
import type { Chat, Message } from '../api';
import { prefetchChat, takePrefetched } from './prefetch';

const chat = { id: 'c1' } as Chat;
const messages = [{ id: 'm1' }] as Message[];

describe('prefetch', () => {
  it('starts the load once and hands it out once', async () => {
    const api = { getChat: vi.fn(async () => chat), listMessages: vi.fn(async () => messages) };
    prefetchChat(api, 'c1');
    prefetchChat(api, 'c1');
    expect(api.getChat).toHaveBeenCalledTimes(1);
    expect(api.listMessages).toHaveBeenCalledTimes(1);
    await expect(takePrefetched('c1')).resolves.toEqual([chat, messages]);
    expect(takePrefetched('c1')).toBeUndefined();
    expect(takePrefetched('other')).toBeUndefined();
  });

  it('a failed load reaches whoever takes it', async () => {
    const api = { getChat: vi.fn(async () => Promise.reject(new Error('gone'))), listMessages: vi.fn(async () => messages) };
    prefetchChat(api, 'c2');
    await new Promise((r) => setTimeout(r, 0)); // no unhandled rejection meanwhile
    await expect(takePrefetched('c2')).rejects.toThrow('gone');
  });
});
