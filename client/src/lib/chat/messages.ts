// The one reducer of a chat's messages: applies a `LiveEvent` (lib/live/events.ts) to the list on
// screen, whichever transport brought it — this tab's own generation stream or the socket. Pure
// (it changes the list in place and says what happened), no runes, no DOM.
//
// The rules:
// - An answer's text only grows. Its deltas are written at UTF-16 offsets, and every copy of it
//   (a snapshot, a stream, the socket) is a prefix of one text, so what is shown is the longest:
//   nothing is shown twice, nothing shrinks.
// - An answer whose text a stream of this tab carries — its own generation, or the reattach
//   stream that follows an answer it did not start from where its text ends — takes its text
//   from that stream alone: the socket's deltas for it are ignored. They still apply to an
//   answer no stream carries (its reattach stream gave up): the fallback.
// - An answer that ended (complete, stopped, failed) never goes back to streaming — unless it
//   is continued (`POST …/continue`): then its start (`generation.started`, whoever reports it)
//   carries the answer as it ended, text included, and takes the same message back to streaming
//   where it is (its branch and version stay); its deltas go on after that text. A late start of
//   an earlier run is told apart by its text or its count of continuations (`restarts`).
// - A message is kept once, however many times it is announced.
// - A message that continues the branch on screen extends it; so does whatever this tab asked
//   for itself (its send, edit or regenerate, wherever that branches).
import type { Message } from '../api/types';
import type { LiveEvent } from '../live/events';

export interface LiveOutcome {
  /** The event changed the list (or a message in it). */
  changed: boolean;
  /** Events were missed (a delta beyond the text we have, an unknown answer): reload the list. */
  gap: boolean;
  /** The branch on screen grew: this message now ends it. */
  follow: string | null;
}

const NOTHING: LiveOutcome = { changed: false, gap: false, follow: null };
const CHANGED: LiveOutcome = { changed: true, gap: false, follow: null };

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

const runs = (m: Message): number => m.continuations?.length ?? 0;

/**
 * Whether the streaming snapshot `incoming` of an answer shown ended (`current`) is that answer
 * being continued rather than a late copy of an earlier run: it has more continuations, or as
 * many and exactly the text shown (a continuation starts from the text the answer ended with; a
 * late start of the first run has none). With `growing` (a reloaded list, whose copy may have
 * text saved since), more text that starts with the text shown also counts. An empty answer's
 * start is ambiguous and not taken (its end comes anyway); this tab's own continuation is taken
 * regardless (`ApplyContext.continuing`).
 */
export function restarts(current: Message, incoming: Message, growing = false): boolean {
  if (current.status === 'streaming' || incoming.status !== 'streaming') return false;
  if (runs(incoming) !== runs(current)) return runs(incoming) > runs(current);
  if (growing) return incoming.content.length > current.content.length && incoming.content.startsWith(current.content);
  return current.content !== '' && incoming.content === current.content;
}

/**
 * Inserts or replaces `incoming` in `messages` (in place). While an answer streams, its text
 * never goes backwards: a snapshot older than what is on screen keeps the screen's text. A
 * streaming snapshot of an answer that ended is taken only when it `restarts` it (or `restart`
 * says this tab asked for it: its own continuation).
 */
export function upsertMessage(messages: Message[], incoming: Message, restart = false): boolean {
  const i = messages.findIndex((m) => m.id === incoming.id);
  if (i < 0) {
    messages.push(incoming);
    return true;
  }
  const current = messages[i]!;
  if (incoming.status === 'streaming') {
    if (current.status !== 'streaming') {
      // A late snapshot of a finished answer, unless it is being continued.
      if (!restart && !restarts(current, incoming)) return false;
      messages[i] = { ...incoming, vote: incoming.vote ?? current.vote };
      return true;
    }
    messages[i] = { ...incoming, content: longer(current.content, incoming.content), vote: current.vote };
    return true;
  }
  messages[i] = { ...incoming, vote: incoming.vote ?? current.vote };
  return true;
}

export interface ApplyContext {
  /** The last message of the branch on screen. */
  leafId: string | null;
  /**
   * The answer this tab is streaming itself, if any. Its own stream carries all of its text and
   * its end: the socket's deltas for it are ignored, and its `generation.finished` is left to
   * the stream's own (with the same message).
   */
  streamedHere: string | null;
  /**
   * Answers this tab follows over a reattach stream: the socket's deltas for them are ignored
   * (the stream carries their text); the socket's `generation.finished` still applies.
   */
  followed?: { has(id: string): boolean };
  /**
   * The answer this tab asked to continue, while it runs: its own stream's start takes it back
   * to streaming whatever it shows.
   */
  continuing?: string | null;
}

/**
 * Applies one live event of the open chat to `messages` (in place). A new message whose parent
 * ends the branch on screen extends it (`follow`); messages on other branches only add a version
 * (‹ 1/2 ›) without moving the view — unless this tab asked for them. Events about the chat
 * itself (`chat.*`) change nothing here.
 */
export function applyLiveEvent(messages: Message[], event: LiveEvent, context: ApplyContext): LiveOutcome {
  switch (event.type) {
    case 'message.created':
    case 'generation.started': {
      const message = event.message;
      const known = messages.some((m) => m.id === message.id);
      const ownContinuation = event.via === 'own' && event.type === 'generation.started' && message.id === context.continuing;
      const changed = upsertMessage(messages, message, ownContinuation);
      const extendsBranch =
        !known && (message.parent_id === context.leafId || (message.parent_id === null && messages.length === 1));
      return { changed, gap: false, follow: extendsBranch || event.via === 'own' ? message.id : null };
    }
    case 'generation.delta': {
      if (event.via === 'socket' && (event.message_id === context.streamedHere || context.followed?.has(event.message_id))) {
        return NOTHING;
      }
      const target = messages.find((m) => m.id === event.message_id);
      if (!target) return { ...NOTHING, gap: true };
      if (target.status !== 'streaming') return NOTHING;
      const next = extendText(target.content, event.offset, event.content);
      if (next === null) return { ...NOTHING, gap: event.message_id !== context.streamedHere };
      if (next === target.content) return NOTHING;
      target.content = next;
      return CHANGED;
    }
    case 'generation.finished':
      if (event.via === 'socket' && event.message.id === context.streamedHere) return NOTHING;
      return { ...NOTHING, changed: upsertMessage(messages, event.message) };
    case 'generation.failed':
      return event.message ? { ...NOTHING, changed: upsertMessage(messages, event.message) } : NOTHING;
    case 'message.voted': {
      const target = messages.find((m) => m.id === event.message_id);
      if (!target || target.vote === event.vote) return NOTHING;
      target.vote = event.vote;
      return CHANGED;
    }
    case 'unreadable':
    case 'resync':
      return { ...NOTHING, gap: true };
    default:
      return NOTHING;
  }
}

/**
 * A freshly loaded list merged with what is on screen: the server's list wins, except that a
 * streaming answer keeps the longer text and an answer that ended stays ended (unless the
 * server's copy shows it continued).
 */
export function mergeReloaded(current: readonly Message[], loaded: Message[]): Message[] {
  const byId = new Map(current.map((m) => [m.id, m]));
  return loaded.map((m) => {
    const mine = byId.get(m.id);
    if (mine && m.status === 'streaming') {
      // An answer that ended on screen never goes back to streaming (a reload that raced
      // its `generation.finished` event is older than what we have) — unless it is being
      // continued: more runs, or more text after the text it ended with.
      if (mine.status !== 'streaming') return restarts(mine, m, true) ? { ...m, vote: m.vote ?? mine.vote } : mine;
      return { ...m, content: longer(mine.content, m.content) };
    }
    return m;
  });
}

type Delta = Extract<LiveEvent, { type: 'generation.delta' }>;

/**
 * Two deltas of one answer from one transport as one (to apply a frame's worth at once), or null
 * when they do not join up (another answer or transport — the socket's may be ignored where a
 * stream's are not —, or text missing between them): then apply the first, hold the second.
 */
export function joinDeltas(first: Delta, next: Delta): Delta | null {
  if (first.message_id !== next.message_id || first.via !== next.via) return null;
  const content = extendText(first.content, next.offset - first.offset, next.content);
  return content === null ? null : { ...first, content };
}
