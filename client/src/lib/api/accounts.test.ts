// The issue-13 routes of the API client: registration modes, password reset, the account's own
// sessions, password, deletion and usage, and the admin routes. fetch is mocked: each test checks
// the method, path, query and body sent, and what the answer becomes.
import { describe, expect, it } from 'vitest';
import { isPending } from './client';
import { ApiError, describeError } from './errors';
import { json, recording } from './testing';
import type { Limits } from './types';

const noContent = () => new Response(null, { status: 204 });

const user = {
  id: 'u1',
  username: 'ann',
  email: 'ann@example.com',
  created_at: '2024-01-01T00:00:00Z',
  role: 'user',
  status: 'active',
};

const limits: Limits = { messages_per_minute: null, concurrent_generations: 2, daily_tokens: null, monthly_tokens: 100000 };

describe('registration and password reset', () => {
  it('reads who may sign up', async () => {
    const { client, calls } = recording(() => json(200, { mode: 'invite', allowed_domains: ['example.org'] }));
    expect(await client.registration()).toEqual({ mode: 'invite', allowed_domains: ['example.org'] });
    expect(calls[0]).toMatchObject({ method: 'GET', url: '/api/auth/registration' });
  });

  it('registers with an invite code and is signed in (201)', async () => {
    const { client, calls } = recording(() =>
      json(201, { access_token: 'new', token_type: 'Bearer', expires_in: 900, user }),
    );
    client.setToken(null);
    const result = await client.register({ username: 'ann', email: 'ann@example.com', password: 'password1', invite: 'ABC' });
    expect(isPending(result)).toBe(false);
    expect(client.token).toBe('new');
    expect(calls[0]).toMatchObject({
      method: 'POST',
      url: '/api/auth/register',
      body: { username: 'ann', email: 'ann@example.com', password: 'password1', invite: 'ABC' },
    });
  });

  it('a registration that awaits approval (202) is pending and signs nobody in', async () => {
    const { client } = recording(() => json(202, { status: 'pending', user: { ...user, status: 'pending' } }));
    client.setToken(null);
    const result = await client.register({ username: 'ann', email: 'ann@example.com', password: 'password1' });
    expect(isPending(result)).toBe(true);
    expect(result.user.status).toBe('pending');
    expect(client.token).toBeNull();
  });

  it('a refused registration or sign-in keeps its code, and pending or disabled accounts say why', async () => {
    const { client, calls } = recording((call) =>
      call.url === '/api/auth/register'
        ? json(403, { error: { code: 'invite_invalid', message: 'this invite is not valid' } })
        : json(403, { error: { code: 'account_pending', message: 'pending' } }),
    );
    const refused = (await client.register({ username: 'a', email: 'a@b.c', password: 'x' }).catch((e: unknown) => e)) as ApiError;
    expect(refused).toMatchObject({ status: 403, code: 'invite_invalid' });
    expect(describeError(refused)).toBe('this invite is not valid');
    const pending = (await client.login({ email: 'a', password: 'b' }).catch((e: unknown) => e)) as ApiError;
    expect(pending.code).toBe('account_pending');
    expect(describeError(pending)).toMatch(/awaits approval by an admin/);
    expect(describeError(new ApiError(403, 'account_disabled', 'x'))).toMatch(/has been disabled/);
    // A 403 is not an expired token: no refresh was tried.
    expect(calls.map((c) => c.url)).toEqual(['/api/auth/register', '/api/auth/login']);
  });

  it('resets a password with a code; a bad code is refused (403), not a refresh', async () => {
    const { client, calls } = recording((call) =>
      call.body && (call.body as { code: string }).code === 'good'
        ? noContent()
        : json(403, { error: { code: 'reset_code_invalid', message: 'invalid' } }),
    );
    await client.resetPassword({ login: 'ann', code: 'good', new_password: 'new password' });
    expect(calls[0]).toMatchObject({
      method: 'POST',
      url: '/api/auth/reset-password',
      body: { login: 'ann', code: 'good', new_password: 'new password' },
    });
    const bad = (await client.resetPassword({ login: 'ann', code: 'bad', new_password: 'x' }).catch((e: unknown) => e)) as ApiError;
    expect([bad.status, bad.code]).toEqual([403, 'reset_code_invalid']);
    expect(calls).toHaveLength(2);
  });
});

describe('the account', () => {
  it('lists, revokes one and revokes the other sessions', async () => {
    const sessions = [
      { id: 's1', created_at: '', last_used_at: '', device: 'Firefox on Linux', address: '10.0.0.1', current: true },
    ];
    const { client, calls } = recording((call) =>
      call.method === 'GET' ? json(200, sessions) : call.method === 'DELETE' ? noContent() : json(200, { revoked: 3 }),
    );
    expect(await client.sessions()).toEqual(sessions);
    await client.revokeSession('s/2');
    expect(await client.revokeOtherSessions()).toBe(3);
    expect(calls.map((c) => `${c.method} ${c.url}`)).toEqual([
      'GET /api/users/me/sessions',
      'DELETE /api/users/me/sessions/s%2F2',
      'POST /api/users/me/sessions/revoke-others',
    ]);
    expect(calls.every((c) => c.auth === 'Bearer tok')).toBe(true);
  });

  it('changes the password', async () => {
    const { client, calls } = recording(() => noContent());
    await client.changePassword('old one', 'new one!');
    expect(calls[0]).toMatchObject({
      method: 'PUT',
      url: '/api/users/me/password',
      body: { current_password: 'old one', new_password: 'new one!' },
    });
  });

  it('deletes the account with its password and forgets the token; a wrong password keeps it', async () => {
    let ok = false;
    const { client, calls } = recording(() =>
      ok ? noContent() : json(403, { error: { code: 'wrong_password', message: 'x' } }),
    );
    const wrong = (await client.deleteAccount('nope').catch((e: unknown) => e)) as ApiError;
    expect([wrong.status, wrong.code]).toEqual([403, 'wrong_password']);
    expect(client.token).toBe('tok');
    ok = true;
    await client.deleteAccount('right');
    expect(calls[1]).toMatchObject({ method: 'DELETE', url: '/api/users/me', body: { password: 'right' } });
    expect(client.token).toBeNull();
  });

  it('reads the usage', async () => {
    const period = { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3, by_model: [] };
    const usage = { today: period, month: period, limits, remaining: { daily_tokens: null, monthly_tokens: 99997 } };
    const { client, calls } = recording(() => json(200, usage));
    expect(await client.myUsage()).toEqual(usage);
    expect(calls[0]!.url).toBe('/api/users/me/usage');
  });
});

describe('administration', () => {
  const adminUser = {
    ...user,
    last_active_at: null,
    tokens_this_month: 12,
    limits: { messages_per_minute: null, concurrent_generations: null, daily_tokens: null, monthly_tokens: null },
    effective_limits: limits,
  };

  it('lists users with a search and a cursor, leaving out what is not set', async () => {
    const { client, calls } = recording(() => json(200, { users: [adminUser], next_cursor: 'c2' }));
    expect((await client.adminUsers()).next_cursor).toBe('c2');
    await client.adminUsers({ q: 'an n', cursor: 'c2', limit: 50 });
    await client.adminUsers({ q: '', cursor: null });
    expect(calls.map((c) => c.url)).toEqual([
      '/api/admin/users',
      '/api/admin/users?q=an+n&cursor=c2&limit=50',
      '/api/admin/users',
    ]);
  });

  it('updates a user (null limits go back to the default) and deletes one', async () => {
    const { client, calls } = recording((call) => (call.method === 'PATCH' ? json(200, adminUser) : noContent()));
    await client.adminUpdateUser('u1', { status: 'active', limits: { daily_tokens: 500, monthly_tokens: null } });
    await client.adminDeleteUser('u1');
    expect(calls[0]).toMatchObject({
      method: 'PATCH',
      url: '/api/admin/users/u1',
      body: { status: 'active', limits: { daily_tokens: 500, monthly_tokens: null } },
    });
    expect(calls[1]).toMatchObject({ method: 'DELETE', url: '/api/admin/users/u1' });
  });

  it('the last admin cannot be demoted: 409 last_admin with the server’s message', async () => {
    const { client } = recording(() => json(409, { error: { code: 'last_admin', message: 'the last admin must stay' } }));
    const error = (await client.adminUpdateUser('u1', { role: 'user' }).catch((e: unknown) => e)) as ApiError;
    expect(error).toMatchObject({ status: 409, code: 'last_admin' });
    expect(describeError(error)).toBe('the last admin must stay');
  });

  it('creates, lists and revokes invites', async () => {
    const invite = { id: 'i1', prefix: 'AbC', uses: 2, used: 0, expires_at: null, role: 'user', created_at: '' };
    const { client, calls } = recording((call) =>
      call.method === 'POST'
        ? json(201, { ...invite, code: 'AbCdef', url: 'https://confab.example/?invite=AbCdef' })
        : call.method === 'GET'
          ? json(200, { invites: [invite] })
          : noContent(),
    );
    const created = await client.createInvite({ uses: 2, expires_in_hours: 48, role: 'user' });
    expect(created.url).toBe('https://confab.example/?invite=AbCdef');
    expect(await client.listInvites()).toEqual([invite]);
    await client.revokeInvite('i1');
    expect(calls.map((c) => `${c.method} ${c.url}`)).toEqual([
      'POST /api/admin/invites',
      'GET /api/admin/invites',
      'DELETE /api/admin/invites/i1',
    ]);
    expect(calls[0]!.body).toEqual({ uses: 2, expires_in_hours: 48, role: 'user' });
  });

  it('reads usage between two days, grouped, and the audit log by pages', async () => {
    const { client, calls } = recording((call) =>
      call.url.startsWith('/api/admin/usage')
        ? json(200, { group_by: 'day', from: '2024-05-01', to: '2024-05-31', rows: [] })
        : json(200, { entries: [], next_cursor: null }),
    );
    await client.adminUsage({ from: '2024-05-01', to: '2024-05-31', group_by: 'day' });
    await client.audit();
    await client.audit({ cursor: 'next', limit: 25 });
    expect(calls.map((c) => c.url)).toEqual([
      '/api/admin/usage?from=2024-05-01&to=2024-05-31&group_by=day',
      '/api/admin/audit',
      '/api/admin/audit?cursor=next&limit=25',
    ]);
  });

  it('a non-admin is refused with 403 forbidden', async () => {
    const { client } = recording(() => json(403, { error: { code: 'forbidden', message: 'admins only' } }));
    await expect(client.listInvites()).rejects.toMatchObject({ status: 403, code: 'forbidden' });
  });
});

describe('limits', () => {
  const limited = (code: string, retryAfter: number | null) => new ApiError(429, code, 'x', {}, retryAfter);

  it('a rate limit says how long to wait', () => {
    expect(describeError(limited('rate_limited', 42))).toBe('Too many requests. Try again in 42 s.');
  });

  it('too many answers at once gives the wait as well', () => {
    expect(describeError(limited('too_many_generations', 5))).toMatch(/then send again \(or try again in 5 s\); your text is kept/);
  });

  it('a spent quota says when it comes back: tomorrow or next month', () => {
    expect(describeError(limited('quota_exceeded', 5 * 3600))).toBe(
      'You have used all the tokens your quota allows. You can send again tomorrow (in 5 h); your text is kept.',
    );
    expect(describeError(limited('quota_exceeded', 12 * 86400))).toMatch(/send again next month \(in 12 days\)/);
    expect(describeError(limited('quota_exceeded', null))).toMatch(/send again when your quota resets/);
  });

  it('a quota error read from a response keeps its Retry-After', async () => {
    const { client } = recording(() =>
      json(429, { error: { code: 'quota_exceeded', message: 'daily quota' } }, { 'Retry-After': '3600', 'RateLimit-Remaining': '0' }),
    );
    const error = (await client.createChat().catch((e: unknown) => e)) as ApiError;
    expect(error.retryAfter).toBe(3600);
    expect(describeError(error)).toMatch(/tomorrow \(in 60 min\)/);
  });
});
