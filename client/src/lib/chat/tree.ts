import type { Message } from '../api/types';

/** The key of a fork: the parent's id, or ROOT for the top-level messages. */
export const ROOT = '';

export function forkKey(message: Pick<Message, 'parent_id'>): string {
  return message.parent_id ?? ROOT;
}

/** Remembered choices: for each fork (parent key), the child that was last on screen. */
export type Choices = Map<string, string>;

function byAge(a: Message, b: Message): number {
  if (a.created_at !== b.created_at) return a.created_at < b.created_at ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Children of every node (key: parent id, ROOT for the roots), oldest first. */
export function childrenMap(messages: readonly Message[]): Map<string, Message[]> {
  const map = new Map<string, Message[]>();
  for (const m of messages) {
    const key = forkKey(m);
    const list = map.get(key);
    if (list) list.push(m);
    else map.set(key, [m]);
  }
  for (const list of map.values()) list.sort(byAge);
  return map;
}

/** The versions of a message: the messages with the same parent (itself included), oldest first. */
export function siblings(messages: readonly Message[], id: string): Message[] {
  const message = messages.find((m) => m.id === id);
  if (!message) return [];
  const key = forkKey(message);
  return messages.filter((m) => forkKey(m) === key).sort(byAge);
}

/**
 * The branch on screen: from `leafId` up to the root through `parent_id`, root first.
 * Without a (known) leaf, the newest message is taken as the leaf.
 */
export function branch(messages: readonly Message[], leafId: string | null | undefined): Message[] {
  if (messages.length === 0) return [];
  const byId = new Map(messages.map((m) => [m.id, m]));
  let leaf = leafId ? byId.get(leafId) : undefined;
  if (!leaf) {
    leaf = messages.reduce((a, b) => (b.created_at > a.created_at ? b : a));
  }
  const path: Message[] = [];
  const seen = new Set<string>();
  let node: Message | undefined = leaf;
  while (node && !seen.has(node.id)) {
    seen.add(node.id);
    path.push(node);
    node = node.parent_id ? byId.get(node.parent_id) : undefined;
  }
  return path.reverse();
}

/** Records, for every fork along `path`, the child on it. Returns `choices` (mutated). */
export function rememberPath(path: readonly Message[], choices: Choices): Choices {
  for (const m of path) choices.set(forkKey(m), m.id);
  return choices;
}

/**
 * The leaf reached from `nodeId` going down: at each fork the remembered child if there is
 * one (and it still exists), else the newest child.
 */
export function leafBelow(
  messages: readonly Message[],
  nodeId: string,
  choices: Choices = new Map(),
  children: Map<string, Message[]> = childrenMap(messages),
): string {
  let current = nodeId;
  const seen = new Set<string>([current]);
  for (;;) {
    const kids = children.get(current);
    if (!kids || kids.length === 0) return current;
    const chosen = choices.get(current);
    const next = (chosen && kids.find((k) => k.id === chosen)) || kids[kids.length - 1]!;
    if (seen.has(next.id)) return current;
    seen.add(next.id);
    current = next.id;
  }
}

/** Position of a message among its versions: `index` is 0-based. */
export interface VersionInfo {
  index: number;
  count: number;
}

export function versionInfo(children: Map<string, Message[]>, message: Message): VersionInfo {
  const list = children.get(forkKey(message)) ?? [];
  const index = list.findIndex((m) => m.id === message.id);
  return { index: Math.max(index, 0), count: Math.max(list.length, 1) };
}

/**
 * Switches `messageId` to its previous (`delta` -1) or next (+1) version. The current branch
 * (`leafId`) is remembered first, so coming back restores it. Returns the new leaf, or null
 * when there is no such version.
 */
export function switchVersion(
  messages: readonly Message[],
  leafId: string | null,
  messageId: string,
  delta: number,
  choices: Choices,
): string | null {
  const versions = siblings(messages, messageId);
  const index = versions.findIndex((m) => m.id === messageId);
  const target = versions[index + delta];
  if (index < 0 || !target) return null;
  rememberPath(branch(messages, leafId), choices);
  choices.set(forkKey(target), target.id);
  return leafBelow(messages, target.id, choices);
}

/** A random id for `client_request_id` (crypto.randomUUID needs a secure context). */
export function requestId(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
