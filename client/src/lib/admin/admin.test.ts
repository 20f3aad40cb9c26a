import { describe, expect, it } from 'vitest';
import type { AdminUser, AdminUserPage, ApiClient, Limits, UsageRow } from '../api';
import { limitsForm, parseLimits } from './limits';
import { bars, withEveryDay } from './usage';
import { AdminUsers } from './users.svelte';

const none: Limits = { messages_per_minute: null, concurrent_generations: null, daily_tokens: null, monthly_tokens: null };

function user(id: string, extra: Partial<AdminUser> = {}): AdminUser {
  return {
    id,
    username: id,
    email: `${id}@example.org`,
    role: 'user',
    status: 'active',
    created_at: '',
    last_active_at: null,
    tokens_this_month: 0,
    limits: none,
    effective_limits: none,
    ...extra,
  };
}

describe('limits', () => {
  it('empty fields are the default (null), numbers are overrides, 0 included', () => {
    const form = limitsForm({ ...none, daily_tokens: 5000 });
    expect(form).toEqual({ messages_per_minute: '', concurrent_generations: '', daily_tokens: '5000', monthly_tokens: '' });
    expect(parseLimits({ ...form, messages_per_minute: ' 0 ', daily_tokens: '' })).toEqual({
      ok: true,
      limits: { ...none, messages_per_minute: 0 },
    });
  });

  it('anything but a whole number is refused, field by field', () => {
    const parsed = parseLimits({ messages_per_minute: '-1', concurrent_generations: '1.5', daily_tokens: 'lots', monthly_tokens: '7' });
    expect(parsed.ok).toBe(false);
    expect(Object.keys(parsed.ok ? {} : parsed.errors).sort()).toEqual(['concurrent_generations', 'daily_tokens', 'messages_per_minute']);
  });
});

describe('usage chart', () => {
  const row = (key: string, total: number): UsageRow => ({
    key,
    label: key,
    prompt_tokens: 0,
    completion_tokens: total,
    total_tokens: total,
    answers: 1,
  });

  it('bars are relative to the largest; all zero is no bar', () => {
    expect(bars([row('a', 50), row('b', 200)]).map((b) => b.percent)).toEqual([25, 100]);
    expect(bars([row('a', 0)]).map((b) => b.percent)).toEqual([0]);
    expect(bars([])).toEqual([]);
  });

  it('a report by day has every day, the missing ones at zero', () => {
    const report = { group_by: 'day' as const, from: '2025-02-27', to: '2025-03-02', rows: [row('2025-03-01', 9)] };
    const rows = withEveryDay(report);
    expect(rows.map((r) => `${r.key}:${r.total_tokens}`)).toEqual([
      '2025-02-27:0',
      '2025-02-28:0',
      '2025-03-01:9',
      '2025-03-02:0',
    ]);
    // Other groupings and odd ranges are left as they came.
    expect(withEveryDay({ ...report, group_by: 'model' })).toEqual(report.rows);
    expect(withEveryDay({ ...report, from: 'x' })).toEqual(report.rows);
    expect(withEveryDay({ ...report, from: '2020-01-01' })).toEqual(report.rows);
  });
});

describe('AdminUsers', () => {
  function fakeApi(pages: Record<string, AdminUserPage | Promise<AdminUserPage>>) {
    const asked: string[] = [];
    const api = {
      adminUsers: async (p: { q?: string; cursor?: string | null }) => {
        const key = `${p.q ?? ''}|${p.cursor ?? ''}`;
        asked.push(key);
        const page = pages[key];
        if (!page) throw new Error(`no page ${key}`);
        return page;
      },
      adminUpdateUser: async (id: string, change: { status?: string }) =>
        change.status === 'disabled' && id === 'last'
          ? Promise.reject(new Error('the last admin'))
          : user(id, change as Partial<AdminUser>),
      adminDeleteUser: async () => undefined,
    } as unknown as Pick<ApiClient, 'adminUsers' | 'adminUpdateUser' | 'adminDeleteUser'>;
    return { api, asked };
  }

  it('loads pages by cursor without duplicates', async () => {
    const { api, asked } = fakeApi({
      '|': { users: [user('a'), user('b')], next_cursor: 'c1' },
      '|c1': { users: [user('b'), user('c')], next_cursor: null },
    });
    const list = new AdminUsers(api);
    await list.load();
    expect(list.hasMore).toBe(true);
    await list.load(true);
    expect(list.users.map((u) => u.id)).toEqual(['a', 'b', 'c']);
    expect(list.hasMore).toBe(false);
    await list.load(true);
    expect(asked).toEqual(['|', '|c1']);
  });

  it('a search starts again, and an older search’s late answer is dropped', async () => {
    let release: (page: AdminUserPage) => void = () => undefined;
    const slow = new Promise<AdminUserPage>((r) => (release = r));
    const { api } = fakeApi({ 'an|': slow, 'ann|': { users: [user('ann')], next_cursor: null } });
    const list = new AdminUsers(api);
    const first = list.search('an');
    await list.search(' ann ');
    release({ users: [user('andy')], next_cursor: null });
    await first;
    expect(list.query).toBe('ann');
    expect(list.users.map((u) => u.id)).toEqual(['ann']);
    expect(list.loading).toBe(false);
  });

  it('a change replaces the row; a refused one leaves it; a deleted user goes', async () => {
    const { api } = fakeApi({ '|': { users: [user('a'), user('last', { role: 'admin' })], next_cursor: null } });
    const list = new AdminUsers(api);
    await list.load();
    await list.update('a', { status: 'disabled' });
    expect(list.users[0]!.status).toBe('disabled');
    await expect(list.update('last', { status: 'disabled' })).rejects.toThrow('the last admin');
    expect(list.users[1]!.status).toBe('active');
    await list.remove('a');
    expect(list.users.map((u) => u.id)).toEqual(['last']);
  });

  it('a failed load says why', async () => {
    const { api } = fakeApi({});
    const list = new AdminUsers(api);
    await list.load();
    expect(list.error).toBe('no page |');
    expect(list.loading).toBe(false);
  });
});
