// What a screen reader hears of the open chat's live events. The transcript is not a live region
// (it would read every delta); one status region says when an answer starts, ends or fails.
import type { MessageStatus } from '../api/types';
import type { LiveEvent } from '../live/events';
import type { LiveOutcome } from './messages';

/** An answer that is complete on screen but not stored yet (SSE `error` with code `not_saved`). */
export function isNotSaved(event: LiveEvent): boolean {
  return event.type === 'generation.failed' && event.code === 'not_saved' && event.message !== null;
}

/**
 * The announcement for `event` once applied (`outcome`), or null for none. `before`: the status of
 * the event's message before it. This tab's own generation is announced as it goes; another tab's
 * or device's only when it grows the branch on screen, and its end only once.
 */
export function announcement(event: LiveEvent, outcome: LiveOutcome, before: MessageStatus | undefined): string | null {
  switch (event.type) {
    case 'generation.started':
      // An answer that had ended and starts again is being continued.
      if (event.via === 'own') return before !== undefined && before !== 'streaming' ? 'Continuing the answer…' : 'Generating an answer…';
      return outcome.changed && outcome.follow ? 'Generating an answer…' : null;
    case 'generation.finished':
      if (event.via === 'own') return event.message.status === 'stopped' ? 'Answer stopped.' : 'Answer complete.';
      return outcome.changed && before === 'streaming' ? 'Answer complete.' : null;
    case 'generation.failed':
      return isNotSaved(event) ? 'The answer is complete but could not be saved yet.' : `The answer failed: ${event.error}`;
    default:
      return null;
  }
}
