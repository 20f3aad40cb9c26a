// Numbers, limits and dates as the settings and administration pages show them. `locale`
// undefined: the browser's.

export function formatCount(n: number, locale?: string): string {
  return new Intl.NumberFormat(locale).format(n);
}

/** A limit: null (none set) and 0 (switched off) are both "No limit". */
export function formatLimit(n: number | null, locale?: string): string {
  return n === null || n === 0 ? 'No limit' : formatCount(n, locale);
}

/** "Mar 5, 2025, 2:07 PM"; "—" for none; the text itself when it is not a date. */
export function formatDateTime(iso: string | null, locale?: string): string {
  if (!iso) return '—';
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' }).format(at);
}

/** `YYYY-MM-DD` of a date in UTC (the server's days). */
export function isoDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/** The days `days` back from `to` (both included), as `{ from, to }` in `YYYY-MM-DD`. */
export function lastDays(days: number, to = new Date()): { from: string; to: string } {
  const from = new Date(to.getTime() - (days - 1) * 86_400_000);
  return { from: isoDay(from), to: isoDay(to) };
}
