import { describe, expect, it } from 'vitest';
import type { Message } from '../api/types';
import { branch, childrenMap, leafBelow, rememberPath, requestId, siblings, switchVersion, versionInfo, type Choices } from './tree';

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

describe('versions', () => {
  // u1 ─┬ a1 ─┬ u2 ─┬ a2
  //     │     │     └ a2c (regenerated, newest)
  //     │     └ u2b ─ a2b (edited)
  //     └ a1b ─ u3 ─ a3
  // u0 (an edited first message: a second root)
  const tree = [
    msg('a2c', 'u2', 10, 'assistant'), // out of order on purpose
    msg('u1', null, 1),
    msg('a1', 'u1', 2, 'assistant'),
    msg('u2', 'a1', 3),
    msg('a2', 'u2', 4, 'assistant'),
    msg('a1b', 'u1', 5, 'assistant'),
    msg('u3', 'a1b', 6),
    msg('a3', 'u3', 7, 'assistant'),
    msg('u2b', 'a1', 8),
    msg('a2b', 'u2b', 9, 'assistant'),
    msg('u0', null, 11),
  ];
  const ids = (list: { id: string }[]) => list.map((m) => m.id);

  it('lists siblings by created_at, roots included', () => {
    expect(ids(siblings(tree, 'a2'))).toEqual(['a2', 'a2c']);
    expect(ids(siblings(tree, 'u2b'))).toEqual(['u2', 'u2b']);
    expect(ids(siblings(tree, 'u1'))).toEqual(['u1', 'u0']);
    expect(ids(siblings(tree, 'a3'))).toEqual(['a3']);
    expect(siblings(tree, 'nope')).toEqual([]);
  });

  it('numbers versions from the children map', () => {
    const children = childrenMap(tree);
    const get = (id: string) => tree.find((m) => m.id === id)!;
    expect(versionInfo(children, get('a2c'))).toEqual({ index: 1, count: 2 });
    expect(versionInfo(children, get('a1'))).toEqual({ index: 0, count: 2 });
    expect(versionInfo(children, get('a3'))).toEqual({ index: 0, count: 1 });
  });

  it('builds the path from a leaf', () => {
    expect(ids(branch(tree, 'a2b'))).toEqual(['u1', 'a1', 'u2b', 'a2b']);
    expect(ids(branch(tree, 'a2c'))).toEqual(['u1', 'a1', 'u2', 'a2c']);
  });

  it('chooses the newest leaf below a node without remembered choices', () => {
    expect(leafBelow(tree, 'u1')).toBe('a3'); // a1b is newer than a1
    expect(leafBelow(tree, 'a1')).toBe('a2b'); // u2b is newer than u2
    expect(leafBelow(tree, 'u2')).toBe('a2c');
    expect(leafBelow(tree, 'a3')).toBe('a3');
  });

  it('follows remembered choices and ignores stale ones', () => {
    const choices: Choices = new Map([
      ['u1', 'a1'],
      ['a1', 'u2'],
      ['u2', 'a2'],
    ]);
    expect(leafBelow(tree, 'u1', choices)).toBe('a2');
    expect(leafBelow(tree, 'u1', new Map([['u1', 'deleted']]))).toBe('a3');
  });

  it('remembers the path on screen', () => {
    const choices = rememberPath(branch(tree, 'a2'), new Map());
    expect([...choices.entries()]).toEqual([
      ['', 'u1'],
      ['u1', 'a1'],
      ['a1', 'u2'],
      ['u2', 'a2'],
    ]);
  });

  it('switches versions and comes back to the remembered branch', () => {
    const choices: Choices = new Map();
    // On u1 ─ a1 ─ u2 ─ a2 (the older answer), switch the first answer to a1b.
    let leaf = switchVersion(tree, 'a2', 'a1', +1, choices);
    expect(leaf).toBe('a3');
    // Back to a1: the remembered u2 ─ a2, not the newest u2b ─ a2b.
    leaf = switchVersion(tree, leaf, 'a1b', -1, choices);
    expect(leaf).toBe('a2');
    // Next version of u2 is u2b, then back.
    leaf = switchVersion(tree, leaf, 'u2', +1, choices);
    expect(leaf).toBe('a2b');
    leaf = switchVersion(tree, leaf, 'u2b', -1, choices);
    expect(leaf).toBe('a2');
    // Roots switch too.
    expect(switchVersion(tree, leaf, 'u1', +1, choices)).toBe('u0');
  });

  it('returns null past the ends', () => {
    expect(switchVersion(tree, 'a2', 'a2', -1, new Map())).toBeNull();
    expect(switchVersion(tree, 'a2c', 'a2c', +1, new Map())).toBeNull();
    expect(switchVersion(tree, 'a3', 'a3', +1, new Map())).toBeNull();
  });
});

describe('requestId', () => {
  it('is 32 hex characters and unique', () => {
    const a = requestId();
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(requestId()).not.toBe(a);
  });
});
