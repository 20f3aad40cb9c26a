import type { Message } from './api/types';

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

/** A random id for `client_request_id` (crypto.randomUUID needs a secure context). */
export function requestId(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
