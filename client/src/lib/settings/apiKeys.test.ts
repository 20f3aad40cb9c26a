// API keys: the three routes through the client's request helper (fetch mocked: method, path,
// body, bearer token, errors), and what the section shows of a key.
import { describe, expect, it } from 'vitest';
import { ApiError, describeError } from '../api';
import { json, recording } from '../api/testing';
import {
  baseUrl,
  createApiKey,
  createRequest,
  describeKeyError,
  expiresText,
  isExpired,
  lastUsedText,
  listApiKeys,
  listed,
  nameProblem,
  revokeApiKey,
  type ApiKey,
  type CreatedApiKey,
} from './apiKeys';

const key: ApiKey = {
  id: 'k1',
  name: 'script',
  prefix: 'cfk_AbCdEfGh',
  created_at: '2025-03-01T10:00:00Z',
  expires_at: null,
  last_used_at: null,
};
const created: CreatedApiKey = { ...key, key: 'cfk_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789' };

describe('the API key routes', () => {
  it('lists the keys with the access token', async () => {
    const { client, calls } = recording(() => json(200, { api_keys: [key] }));
    expect(await listApiKeys(client)).toEqual([key]);
    expect(calls).toEqual([{ method: 'GET', url: '/api/users/me/api-keys', body: undefined, auth: 'Bearer tok' }]);
  });

  it('creates a key (201) and gets its full text once', async () => {
    const { client, calls } = recording(() => json(201, created));
    expect(await createApiKey(client, { name: 'script', expires_in_days: 30 })).toEqual(created);
    expect(calls[0]).toMatchObject({ method: 'POST', url: '/api/users/me/api-keys', body: { name: 'script', expires_in_days: 30 } });
  });

  it('revokes a key (204), its id escaped', async () => {
    const { client, calls } = recording(() => new Response(null, { status: 204 }));
    await revokeApiKey(client, 'k/1');
    expect(calls[0]).toMatchObject({ method: 'DELETE', url: '/api/users/me/api-keys/k%2F1', body: undefined });
  });

  it('a refused name is an ApiError with its field (422); the key limit says what to do (409)', async () => {
    const { client } = recording((call) =>
      (call.body as { name: string }).name === 'x'
        ? json(422, { error: { code: 'invalid_input', message: 'invalid input', fields: { name: 'too long' } } })
        : json(409, { error: { code: 'too_many_api_keys', message: 'too many keys' } }),
    );
    const refused = (await createApiKey(client, { name: 'x' }).catch((e: unknown) => e)) as ApiError;
    expect(refused).toBeInstanceOf(ApiError);
    expect([refused.status, refused.code, refused.fields]).toEqual([422, 'invalid_input', { name: 'too long' }]);
    expect(describeKeyError(refused)).toBe(describeError(refused));
    const full = await createApiKey(client, { name: 'y' }).catch((e: unknown) => e);
    expect(describeKeyError(full)).toMatch(/Revoke one/);
  });

  it('an expired access token is refreshed once and the request sent again', async () => {
    let refreshed = false;
    const { client, calls } = recording((call) => {
      if (call.url === '/api/auth/refresh') {
        refreshed = true;
        return json(200, { access_token: 'fresh', token_type: 'Bearer', expires_in: 900 });
      }
      return refreshed ? json(200, { api_keys: [] }) : json(401, { error: { code: 'unauthorized', message: 'expired' } });
    });
    expect(await listApiKeys(client)).toEqual([]);
    expect(calls.map((c) => `${c.method} ${c.url} ${c.auth ?? '-'}`)).toEqual([
      'GET /api/users/me/api-keys Bearer tok',
      'POST /api/auth/refresh -',
      'GET /api/users/me/api-keys Bearer fresh',
    ]);
  });
});

describe('the create form', () => {
  it('sends the trimmed name, and the expiry only when one is chosen', () => {
    expect(createRequest('  script ', '')).toEqual({ name: 'script' });
    expect(createRequest('script', '90')).toEqual({ name: 'script', expires_in_days: 90 });
  });

  it('a blank or too long name is refused before it is sent', () => {
    expect(nameProblem('   ')).toMatch(/Enter a name/);
    expect(nameProblem('x'.repeat(101))).toMatch(/At most 100/);
    expect(nameProblem(` ${'x'.repeat(100)} `)).toBeNull();
  });
});

describe('what the list shows', () => {
  const now = Date.parse('2025-06-01T12:00:00Z');

  it('the base URL is the origin’s /v1', () => {
    expect(baseUrl('https://chat.example.org')).toBe('https://chat.example.org/v1');
    expect(baseUrl('http://127.0.0.1:8080/')).toBe('http://127.0.0.1:8080/v1');
  });

  it('a listed key has no secret', () => {
    expect(listed(created)).toEqual(key);
    expect('key' in listed(created)).toBe(false);
  });

  it('last used: "Never" when null, else the date', () => {
    expect(lastUsedText(key)).toBe('Never');
    expect(lastUsedText({ last_used_at: '2025-03-05T14:07:00Z' }, 'en-US')).toMatch(/Mar 5, 2025/);
  });

  it('expires: "Never", the date, or "Expired" once past', () => {
    expect(expiresText({ expires_at: null }, now)).toBe('Never');
    expect(expiresText({ expires_at: '2025-09-01T12:00:00Z' }, now, 'en-US')).toMatch(/Sep 1, 2025/);
    expect(expiresText({ expires_at: '2025-05-31T12:00:00Z' }, now)).toBe('Expired');
    expect(isExpired({ expires_at: '2025-06-01T12:00:00Z' }, now)).toBe(true);
    expect(isExpired({ expires_at: null }, now)).toBe(false);
  });
});
