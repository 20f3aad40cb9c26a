import { describe, expect, it } from 'vitest';
import { groupChatsByDate, msUntilMidnight, type Dated } from './dateGroups';

// Dates are built in local time, so the tests hold in any time zone.
const local = (y: number, m: number, d: number, h = 0, min = 0, s = 0, ms = 0) => new Date(y, m - 1, d, h, min, s, ms);
const chat = (id: string, at: Date | string): Dated => ({ id, updated_at: typeof at === 'string' ? at : at.toISOString() });

/** `[label, ids]` per group: easy to compare. */
const shape = (chats: Dated[], now: Date) => groupChatsByDate(chats, now).map((g) => [g.label, g.chats.map((c) => c.id)]);

const NOW = local(2025, 10, 15, 14, 30); // Wednesday 15 October 2025, 14:30

describe('groupChatsByDate', () => {
  it('returns no groups for an empty list', () => {
    expect(groupChatsByDate([], NOW)).toEqual([]);
  });

  it('puts everything since local midnight in Today, the day before in Yesterday', () => {
    const chats = [
      chat('now', NOW),
      chat('midnight', local(2025, 10, 15, 0, 0, 0, 0)),
      chat('just-before-midnight', local(2025, 10, 14, 23, 59, 59, 999)),
      chat('yesterday-start', local(2025, 10, 14, 0, 0, 0, 0)),
      chat('two-days', local(2025, 10, 13, 23, 59, 59, 999)),
    ];
    expect(shape(chats, NOW)).toEqual([
      ['Today', ['now', 'midnight']],
      ['Yesterday', ['just-before-midnight', 'yesterday-start']],
      ['Previous 7 days', ['two-days']],
    ]);
  });

  it('at 00:00:00 today has just begun', () => {
    const now = local(2025, 10, 15, 0, 0, 0, 0);
    expect(shape([chat('a', now), chat('b', local(2025, 10, 14, 23, 59))], now)).toEqual([
      ['Today', ['a']],
      ['Yesterday', ['b']],
    ]);
  });

  it('counts calendar days: exactly 7 days ago is in Previous 7 days, the day before is not', () => {
    const chats = [
      chat('7-days-same-time', local(2025, 10, 8, 14, 30)),
      chat('7-days-midnight', local(2025, 10, 8, 0, 0)),
      chat('8-days', local(2025, 10, 7, 23, 59, 59, 999)),
    ];
    expect(shape(chats, NOW)).toEqual([
      ['Previous 7 days', ['7-days-same-time', '7-days-midnight']],
      ['Previous 30 days', ['8-days']],
    ]);
  });

  it('counts calendar days: exactly 30 days ago is in Previous 30 days, the day before is a month', () => {
    const chats = [
      chat('30-days', local(2025, 9, 15, 0, 0)), // 15 September
      chat('31-days', local(2025, 9, 14, 23, 59, 59, 999)),
      chat('early-september', local(2025, 9, 1, 8)),
    ];
    expect(shape(chats, NOW)).toEqual([
      ['Previous 30 days', ['30-days']],
      ['September', ['31-days', 'early-september']],
    ]);
  });

  it('counts calendar days across a daylight-saving change (run with TZ=America/New_York)', () => {
    const now = local(2025, 3, 10, 1); // the day after the US spring-forward
    const chats = [chat('7-days', local(2025, 3, 3, 0, 30)), chat('8-days', local(2025, 3, 2, 23, 30))];
    expect(shape(chats, now)).toEqual([
      ['Previous 7 days', ['7-days']],
      ['Previous 30 days', ['8-days']],
    ]);
  });

  it('names months of this year, and month and year before it', () => {
    const chats = [
      chat('aug', local(2025, 8, 20)),
      chat('jan', local(2025, 1, 1, 0, 0)),
      chat('dec', local(2024, 12, 31, 23, 59)),
      chat('old', local(2019, 3, 3)),
    ];
    const groups = groupChatsByDate(chats, NOW);
    expect(groups.map((g) => [g.key, g.label])).toEqual([
      ['2025-08', 'August'],
      ['2025-01', 'January'],
      ['2024-12', 'December 2024'],
      ['2019-03', 'March 2019'],
    ]);
  });

  it('early in January, last December is a month of another year', () => {
    const now = local(2026, 1, 3, 9);
    const chats = [chat('new-year', local(2026, 1, 1)), chat('xmas', local(2025, 12, 25)), chat('nov', local(2025, 11, 20))];
    expect(shape(chats, now)).toEqual([
      ['Previous 7 days', ['new-year']],
      ['Previous 30 days', ['xmas']],
      ['November 2025', ['nov']],
    ]);
  });

  it('keeps the first occurrence of a repeated id', () => {
    const chats = [chat('a', NOW), chat('b', local(2025, 10, 14, 9)), chat('a', local(2025, 10, 14, 8)), chat('b', NOW)];
    expect(shape(chats, NOW)).toEqual([
      ['Today', ['a']],
      ['Yesterday', ['b']],
    ]);
    const ids = groupChatsByDate(chats, NOW).flatMap((g) => g.chats.map((c) => c.id));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('orders groups newest first even when the input is out of order, keeping order within a group', () => {
    const chats = [
      chat('old', local(2024, 5, 1)),
      chat('today-1', local(2025, 10, 15, 9)),
      chat('yesterday', local(2025, 10, 14, 9)),
      chat('today-2', local(2025, 10, 15, 13)),
    ];
    expect(shape(chats, NOW)).toEqual([
      ['Today', ['today-1', 'today-2']],
      ['Yesterday', ['yesterday']],
      ['May 2024', ['old']],
    ]);
  });

  it('treats a time slightly ahead of the clock as today, and an unparsable one as older', () => {
    const chats = [chat('bad', 'not a date'), chat('future', new Date(NOW.getTime() + 5_000))];
    expect(shape(chats, NOW)).toEqual([
      ['Today', ['future']],
      ['Older', ['bad']],
    ]);
  });

  it('keeps the chat objects themselves', () => {
    const c = { id: 'x', updated_at: NOW.toISOString(), title: 'kept' };
    expect(groupChatsByDate([c], NOW)[0]?.chats[0]).toBe(c);
  });
});

describe('msUntilMidnight', () => {
  it('counts to the next local midnight', () => {
    expect(msUntilMidnight(local(2025, 10, 15, 23, 59, 59, 0))).toBe(1000);
    expect(msUntilMidnight(local(2025, 10, 15, 0, 0))).toBe(local(2025, 10, 16).getTime() - local(2025, 10, 15).getTime());
  });
});
