// Live events for the chat view, fed by App.svelte from the WebSocket (lib/live.ts).
//
// Read-only for components: `liveState` is reactive ($state), `onLiveEvent` is a plain
// callback subscription (cheaper for `generation.delta`, which arrives every 100 ms).
import type { LiveEvent } from './api/types';
import type { LiveStatus } from './live';

/** Message-level event types forwarded to the chat view. */
export const MESSAGE_EVENT_TYPES: ReadonlySet<string> = new Set([
  'message.created',
  'message.voted',
  'generation.started',
  'generation.delta',
  'generation.finished',
]);

const RECENT = 200;

export const liveState = $state({
  /** The connection: 'open' once the server said `ready`. */
  status: 'idle' as LiveStatus,
  /**
   * Bumped after a reconnect that may have lost events (4008, or any drop): the open chat's
   * messages should be reloaded when it changes (the sidebar list is reloaded by App.svelte).
   */
  resyncs: 0,
  /** The most recent message/generation events, oldest first (at most 200). */
  recent: [] as LiveEvent[],
});

type Listener = (event: LiveEvent) => void;
const listeners = new Set<Listener>();

/**
 * Calls `listener` for every message/generation event (optionally of one chat only).
 * Returns the unsubscribe function — call it from the component's cleanup.
 */
export function onLiveEvent(listener: Listener, chatId?: () => string | null): () => void {
  const wrapped: Listener = chatId ? (e) => (e.chat_id === chatId() ? listener(e) : undefined) : listener;
  listeners.add(wrapped);
  return () => listeners.delete(wrapped);
}

/** Used by App.svelte only. */
export function publishLiveEvent(event: LiveEvent): void {
  if (!MESSAGE_EVENT_TYPES.has(event.type)) return;
  // Deltas are not kept in the list (subscribe for them); everything else is.
  if (event.type !== 'generation.delta') {
    const next = [...liveState.recent, event];
    liveState.recent = next.length > RECENT ? next.slice(next.length - RECENT) : next;
  }
  for (const l of listeners) {
    try {
      l(event);
    } catch (e) {
      console.error(e);
    }
  }
}

export function setLiveStatus(status: LiveStatus): void {
  liveState.status = status;
}

export function bumpResync(): void {
  liveState.resyncs++;
}

export function resetLive(): void {
  liveState.status = 'idle';
  liveState.recent = [];
}
