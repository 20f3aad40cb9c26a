// Groups the chat list by its last activity (`updated_at`), in the viewer's local time:
// Today / Yesterday / Previous 7 days / Previous 30 days / "October" (this year) /
// "October 2023" (earlier years). Pure: the clock is a parameter.

export interface Dated {
  id: string;
  updated_at: string;
}

export interface DateGroup<T extends Dated> {
  /** Stable across renders (a keyed `{#each}` key, an element id suffix). */
  key: string;
  /** The heading shown above the group. */
  label: string;
  chats: T[];
}

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
] as const;

interface Bucket {
  key: string;
  label: string;
  /** Orders the groups: newer buckets have a larger rank. */
  rank: number;
}

/** Local midnight `days` days before the day of `now` (DST-safe: calendar arithmetic). */
function midnight(now: Date, days = 0): number {
  return new Date(now.getFullYear(), now.getMonth(), now.getDate() - days).getTime();
}

/**
 * Where a chat last active at `time` goes, seen at `now`. Calendar days, not 24-hour spans:
 * anything since local midnight is "Today", the day before is "Yesterday", 2–7 days ago is
 * "Previous 7 days", 8–30 days ago "Previous 30 days", then one group per month.
 */
function bucketOf(time: number, now: Date): Bucket {
  if (!Number.isFinite(time)) return { key: 'older', label: 'Older', rank: -Infinity };
  // A timestamp slightly ahead of this device's clock is still "now".
  const today = midnight(now);
  if (time >= today) return { key: 'today', label: 'Today', rank: today };
  const yesterday = midnight(now, 1);
  if (time >= yesterday) return { key: 'yesterday', label: 'Yesterday', rank: yesterday };
  const week = midnight(now, 7);
  if (time >= week) return { key: 'week', label: 'Previous 7 days', rank: week };
  const month = midnight(now, 30);
  if (time >= month) return { key: 'month', label: 'Previous 30 days', rank: month };
  const at = new Date(time);
  const year = at.getFullYear();
  const m = at.getMonth();
  const name = MONTHS[m] ?? '';
  return {
    key: `${year}-${String(m + 1).padStart(2, '0')}`,
    label: year === now.getFullYear() ? name : `${name} ${year}`,
    rank: new Date(year, m, 1).getTime(),
  };
}

/**
 * Splits `chats` into date groups, newest group first. Within a group the input order is kept
 * (the list comes ordered by `updated_at`, newest first). A repeated id keeps its first
 * occurrence only; an unparsable `updated_at` lands in a final "Older" group.
 */
export function groupChatsByDate<T extends Dated>(chats: readonly T[], now: Date = new Date()): DateGroup<T>[] {
  const groups = new Map<string, DateGroup<T> & { rank: number }>();
  const seen = new Set<string>();
  for (const chat of chats) {
    if (seen.has(chat.id)) continue;
    seen.add(chat.id);
    const bucket = bucketOf(Date.parse(chat.updated_at), now);
    let group = groups.get(bucket.key);
    if (!group) {
      group = { key: bucket.key, label: bucket.label, rank: bucket.rank, chats: [] };
      groups.set(bucket.key, group);
    }
    group.chats.push(chat);
  }
  return [...groups.values()]
    .sort((a, b) => b.rank - a.rank)
    .map(({ key, label, chats: members }) => ({ key, label, chats: members }));
}

/** Milliseconds from `now` until the next local midnight (when "Today" becomes "Yesterday"). */
export function msUntilMidnight(now: Date = new Date()): number {
  return new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1).getTime() - now.getTime();
}
