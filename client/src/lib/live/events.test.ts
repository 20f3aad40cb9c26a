import { describe, expect, it } from 'vitest';
import type { Message, StreamEvent } from '../api/types';
import { fromSocket, fromStream, streamReader } from './events';

const message = (over: Partial<Message> = {}): Message => ({
  id: 'a1',
  chat_id: 'c1',
  parent_id: null,
  role: 'assistant',
  content: '',
  status: 'streaming',
  created_at: '',
  vote: null,
  ...over,
});

describe('fromSocket', () => {
  it('types the socket’s frames', () => {
    expect(fromSocket({ type: 'generation.started', chat_id: 'c1', message_id: 'a1', data: message() })).toEqual({
      type: 'generation.started',
      via: 'socket',
      chat_id: 'c1',
      message: message(),
    });
    expect(fromSocket({ type: 'generation.delta', chat_id: 'c1', message_id: 'a1', data: { content: 'Hi', offset: 3 } })).toEqual({
      type: 'generation.delta',
      via: 'socket',
      chat_id: 'c1',
      message_id: 'a1',
      content: 'Hi',
      offset: 3,
    });
    expect(fromSocket({ type: 'message.voted', chat_id: 'c1', message_id: 'a1', data: { vote: 'up', reason: null } })).toMatchObject({ vote: 'up' });
    expect(fromSocket({ type: 'chat.deleted', chat_id: 'c1' })).toEqual({ type: 'chat.deleted', via: 'socket', chat_id: 'c1' });
  });

  it('carries the seq of a logged event; a delta has none', () => {
    expect(fromSocket({ type: 'chat.deleted', chat_id: 'c1', seq: 12 })).toEqual({ type: 'chat.deleted', via: 'socket', chat_id: 'c1', seq: 12 });
    expect(fromSocket({ type: 'generation.delta', chat_id: 'c1', message_id: 'a1', data: { content: 'x', offset: 0 } })).not.toHaveProperty('seq');
  });

  it('types session.ended (nothing to show, but an event like the others)', () => {
    expect(fromSocket({ type: 'session.ended', seq: 3, session_id: 's1' })).toEqual({
      type: 'session.ended',
      via: 'socket',
      session_id: 's1',
      seq: 3,
    });
    expect(fromSocket({ type: 'session.ended', seq: 3 })).toBeNull();
  });

  it('takes the chat id from the message when the envelope has none', () => {
    expect(fromSocket({ type: 'generation.finished', data: message({ status: 'complete' }) })).toMatchObject({ chat_id: 'c1' });
  });

  it('an unreadable event of a chat says so; anything else unknown is dropped', () => {
    expect(fromSocket({ type: 'generation.delta', chat_id: 'c1', message_id: 'a1', data: { content: 'x' } })).toEqual({
      type: 'unreadable',
      via: 'socket',
      chat_id: 'c1',
    });
    expect(fromSocket({ type: 'generation.started', data: { id: 'a1' } })).toBeNull();
    expect(fromSocket({ type: 'ready' })).toBeNull();
    expect(fromSocket({ type: 'resync', seq: 4 })).toBeNull();
    expect(fromSocket({ type: 'something.new', chat_id: 'c1' })).toBeNull();
  });
});

describe('fromSocket: folders', () => {
  const folder = { id: 'f1', name: 'Work', order: 0, created_at: '2026-01-01T00:00:00Z' };

  it('types the folder events, with their seq', () => {
    expect(fromSocket({ type: 'folder.created', folder_id: 'f1', data: folder, seq: 5 })).toEqual({
      type: 'folder.created',
      via: 'socket',
      folder_id: 'f1',
      folder,
      seq: 5,
    });
    expect(fromSocket({ type: 'folder.updated', folder_id: 'f1', data: { ...folder, name: 'Play' } })).toMatchObject({
      type: 'folder.updated',
      folder: { name: 'Play' },
    });
    expect(fromSocket({ type: 'folder.deleted', folder_id: 'f1' })).toEqual({ type: 'folder.deleted', via: 'socket', folder_id: 'f1' });
  });

  it('a folder event that cannot be read asks for the folders to be reloaded', () => {
    expect(fromSocket({ type: 'folder.created', folder_id: 'f1', data: { id: 'f1' } })).toEqual({ type: 'folder.unreadable', via: 'socket' });
    expect(fromSocket({ type: 'folder.deleted' })).toEqual({ type: 'folder.unreadable', via: 'socket' });
  });
});

describe('fromStream', () => {
  it('types a generation stream and stops it when the consumer stops', async () => {
    let cancelled = false;
    async function* sse(): AsyncGenerator<StreamEvent> {
      try {
        yield { type: 'user_message', message: message({ id: 'u1', role: 'user', content: 'Hi', status: 'complete' }) };
        yield { type: 'assistant_message', message: message() };
        yield { type: 'delta', content: 'Hel' };
        yield { type: 'delta', content: 'lo' };
        yield { type: 'done', message: message({ content: 'Hello', status: 'complete' }) };
      } finally {
        cancelled = true;
      }
    }
    const seen: string[] = [];
    for await (const e of fromStream('c1', sse())) {
      seen.push(e.type === 'generation.delta' ? `delta@${e.offset}:${e.content}` : `${e.type}/${e.via}`);
      if (e.type === 'generation.delta' && e.offset === 3) break;
    }
    expect(seen).toEqual(['message.created/own', 'generation.started/own', 'delta@0:Hel', 'delta@3:lo']);
    expect(cancelled).toBe(true);
  });
});

describe('streamReader of a reattach stream', () => {
  it('resuming this tab’s own answer: no opening, offsets from where it goes on, its failure this tab’s', () => {
    const read = streamReader('c1', { answer: 'a1', offset: 4 });
    expect(read({ type: 'user_message', message: message({ id: 'u1', role: 'user' }) })).toBeNull();
    expect(read({ type: 'assistant_message', message: message() })).toBeNull();
    expect(read({ type: 'delta', content: 'lo' })).toMatchObject({ via: 'own', message_id: 'a1', offset: 4 });
    // The server's offset wins over the count.
    expect(read({ type: 'delta', content: 'world', offset: 7 })).toMatchObject({ offset: 7 });
    expect(read({ type: 'delta', content: '!' })).toMatchObject({ offset: 12 });
    expect(read({ type: 'error', code: 'upstream_error', message: 'boom', assistant_message: null })).toMatchObject({
      type: 'generation.failed',
      via: 'own',
      error: 'boom',
    });
  });

  it('following another tab’s answer: its end is that answer’s state, or nothing to apply', () => {
    const read = streamReader('c1', { via: 'follow', answer: 'a1' });
    expect(read({ type: 'done', message: message({ status: 'complete' }) })).toMatchObject({ type: 'generation.finished', via: 'follow' });
    expect(read({ type: 'error', code: 'not_saved', message: 'x', assistant_message: null })).toBeNull();
  });
});
