// The usage chart's bars: each row's share of the largest, and the days without answers filled
// in when the report is by day (the server lists only days that have some).
import type { UsageReport, UsageRow } from '../api';

export interface Bar {
  key: string;
  label: string;
  value: number;
  /** 0–100: the bar's length, relative to the largest value. */
  percent: number;
}

export function bars(rows: UsageRow[]): Bar[] {
  const max = Math.max(0, ...rows.map((r) => r.total_tokens));
  return rows.map((r) => ({
    key: r.key,
    label: r.label,
    value: r.total_tokens,
    percent: max > 0 ? (r.total_tokens / max) * 100 : 0,
  }));
}

/** Reports by day longer than this are left as they came (no filled-in days). */
const MAX_FILLED_DAYS = 366;

/** A report by day with one row for each day from `from` to `to`, in order. */
export function withEveryDay(report: UsageReport): UsageRow[] {
  if (report.group_by !== 'day') return report.rows;
  const start = Date.parse(`${report.from}T00:00:00Z`);
  const end = Date.parse(`${report.to}T00:00:00Z`);
  if (Number.isNaN(start) || Number.isNaN(end) || end < start || (end - start) / 86_400_000 >= MAX_FILLED_DAYS) {
    return report.rows;
  }
  const byDay = new Map(report.rows.map((r) => [r.key, r]));
  const rows: UsageRow[] = [];
  for (let t = start; t <= end; t += 86_400_000) {
    const day = new Date(t).toISOString().slice(0, 10);
    rows.push(
      byDay.get(day) ?? { key: day, label: day, prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, answers: 0 },
    );
  }
  return rows;
}
