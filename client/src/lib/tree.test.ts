import { describe, expect, it } from 'vitest';
import type { Message } from './api/types';
import { branch, requestId } from './tree';

function msg(id: string, parent: string | null, at: number, role: Message['role'] = 'user'): Message {
  return {
    id,
    chat_id: 'c',
    parent_id: parent,
    role,
    content: id,
    status: 'complete',
    created_at: new Date(Date.UTC(2024, 0, 1, 0, 0, at)).toISOString(),
    vote: null,
  };
}

describe('branch', () => {
  // u1 ─ a1 ─ u2 ─ a2
  //    └ a1b ─ u3 ─ a3
  const tree = [
    msg('u1', null, 1),
    msg('a1', 'u1', 2, 'assistant'),
    msg('u2', 'a1', 3),
    msg('a2', 'u2', 4, 'assistant'),
    msg('a1b', 'u1', 5, 'assistant'),
    msg('u3', 'a1b', 6),
    msg('a3', 'u3', 7, 'assistant'),
  ];

  it('follows the leaf up through parent_id, root first', () => {
    expect(branch(tree, 'a2').map((m) => m.id)).toEqual(['u1', 'a1', 'u2', 'a2']);
    expect(branch(tree, 'a3').map((m) => m.id)).toEqual(['u1', 'a1b', 'u3', 'a3']);
  });

  it('falls back to the newest message without a known leaf', () => {
    expect(branch(tree, null).map((m) => m.id)).toEqual(['u1', 'a1b', 'u3', 'a3']);
    expect(branch(tree, 'gone').at(-1)?.id).toBe('a3');
    expect(branch([], null)).toEqual([]);
  });

  it('survives a cycle', () => {
    const cyclic = [msg('x', 'y', 1), msg('y', 'x', 2)];
    expect(branch(cyclic, 'x').map((m) => m.id)).toEqual(['y', 'x']);
  });
});

describe('requestId', () => {
  it('is 32 hex characters and unique', () => {
    const a = requestId();
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(requestId()).not.toBe(a);
  });
});
