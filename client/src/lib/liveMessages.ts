// Applying the open chat's live events (another tab, another device) to its message list.
//
// Two sources can report the same answer's text: this tab's own SSE stream and the WebSocket's
// `generation.delta` events (which carry a UTF-16 offset). Both are prefixes of one growing
// text, so a streaming answer only ever takes the longer of what it has and what arrives:
// nothing is shown twice, nothing shrinks, and a tab that loaded mid-stream picks up where
// its snapshot ended.
import type { LiveEvent, Message, Vote } from './api/types';

export interface LiveOutcome {
  /** The event changed the list (or a message in it). */
  changed: boolean;
  /** Events were missed (a delta beyond the text we have, an unknown answer): reload the list. */
  gap: boolean;
  /** The branch on screen grew: this message now ends it. */
  follow: string | null;
}

const NOTHING: LiveOutcome = { changed: false, gap: false, follow: null };

function isMessage(value: unknown): value is Message {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Partial<Message>;
  return typeof m.id === 'string' && typeof m.content === 'string' && (m.role === 'user' || m.role === 'assistant');
}

/**
 * `text` extended by `delta` written at UTF-16 `offset`, or null when the delta does not
 * continue it (a gap: text is missing between the two). A delta wholly inside `text` leaves it.
 */
export function extendText(text: string, offset: number, delta: string): string | null {
  if (!Number.isInteger(offset) || offset < 0 || offset > text.length) return null;
  const end = offset + delta.length;
  if (end <= text.length) return text;
  return text.slice(0, offset) + delta;
}

/** The longer of two versions of a streaming text (both prefixes of the same answer). */
export function longer(current: string, incoming: string): string {
  return incoming.length > current.length ? incoming : current;
}

/**
 * Inserts or replaces `incoming` in `messages` (in place). While an answer streams, its text
 * never goes backwards: a snapshot older than what is on screen keeps the screen's text.
 */
export function upsertMessage(messages: Message[], incoming: Message): boolean {
  const i = messages.findIndex((m) => m.id === incoming.id);
  if (i < 0) {
    messages.push(incoming);
    return true;
  }
  const current = messages[i]!;
  if (incoming.status === 'streaming') {
    if (current.status !== 'streaming') return false; // a late snapshot of a finished answer
    messages[i] = { ...incoming, content: longer(current.content, incoming.content), vote: current.vote };
    return true;
  }
  messages[i] = { ...incoming, vote: incoming.vote ?? current.vote };
  return true;
}

export interface ApplyContext {
  /** The last message of the branch on screen. */
  leafId: string | null;
  /** The answer this tab is streaming itself over SSE (its end comes on that stream). */
  ownStreamId: string | null;
}

/**
 * Applies one message/generation event of the open chat to `messages` (in place).
 * A new message whose parent ends the branch on screen extends it (`follow`); messages on
 * other branches only add a version (‹ 1/2 ›) without moving the view.
 */
export function applyMessageEvent(messages: Message[], event: LiveEvent, context: ApplyContext): LiveOutcome {
  switch (event.type) {
    case 'message.created':
    case 'generation.started': {
      if (!isMessage(event.data)) return { ...NOTHING, gap: true };
      const message = event.data;
      const known = messages.some((m) => m.id === message.id);
      const changed = upsertMessage(messages, message);
      const extendsBranch =
        !known && (message.parent_id === context.leafId || (message.parent_id === null && messages.length === 1));
      return { changed, gap: false, follow: extendsBranch ? message.id : null };
    }
    case 'generation.delta': {
      const id = event.message_id;
      const data = event.data as { content?: unknown; offset?: unknown } | undefined;
      if (!id || typeof data?.content !== 'string' || typeof data.offset !== 'number') return NOTHING;
      const target = messages.find((m) => m.id === id);
      if (!target) return { ...NOTHING, gap: true };
      if (target.status !== 'streaming') return NOTHING;
      const next = extendText(target.content, data.offset, data.content);
      if (next === null) return { ...NOTHING, gap: id !== context.ownStreamId };
      if (next === target.content) return NOTHING;
      target.content = next;
      return { changed: true, gap: false, follow: null };
    }
    case 'generation.finished': {
      if (!isMessage(event.data)) return { ...NOTHING, gap: true };
      // This tab's own stream ends with its `done` event (same message): leave it to that.
      if (event.data.id === context.ownStreamId) return NOTHING;
      return { changed: upsertMessage(messages, event.data), gap: false, follow: null };
    }
    case 'message.voted': {
      const target = messages.find((m) => m.id === event.message_id);
      if (!target) return NOTHING;
      const raw = (event.data as { vote?: unknown } | undefined)?.vote;
      const vote: Vote | null = raw === 'up' || raw === 'down' ? raw : null;
      if (target.vote === vote) return NOTHING;
      target.vote = vote;
      return { changed: true, gap: false, follow: null };
    }
    default:
      return NOTHING;
  }
}

/**
 * A freshly loaded list merged with what is on screen: the server's list wins, except that a
 * streaming answer keeps the longer text and an answer that ended stays ended.
 */
export function mergeReloaded(current: readonly Message[], loaded: Message[]): Message[] {
  const byId = new Map(current.map((m) => [m.id, m]));
  return loaded.map((m) => {
    const mine = byId.get(m.id);
    if (mine && m.status === 'streaming') {
      // An answer that ended on screen never goes back to streaming (a reload that raced
      // its `generation.finished` event is older than what we have).
      if (mine.status !== 'streaming') return mine;
      return { ...m, content: longer(mine.content, m.content) };
    }
    return m;
  });
}
