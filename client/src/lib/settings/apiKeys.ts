// The account's API keys (Settings › API keys): their types, the three routes, and what the
// section shows of a key. A key works only on the OpenAI-compatible API (`/v1/models`,
// `/v1/chat/completions`), never on `/api`; its full text is in the creation answer only.
import { ApiError, describeError, type ApiClient } from '../api';
import { formatDateTime } from '../ui/format';

export type { ApiKey, CreatedApiKey, CreateApiKeyRequest } from '../api/types';
import type { ApiKey, CreatedApiKey, CreateApiKeyRequest } from '../api/types';

export const NAME_MAX = 100;

/** The expiry choices of the create form; null is "Never". */
export const EXPIRY_CHOICES: readonly { days: number | null; label: string }[] = [
  { days: null, label: 'Never' },
  { days: 30, label: 'In 30 days' },
  { days: 90, label: 'In 90 days' },
  { days: 365, label: 'In 365 days' },
];

/** The user's keys, newest first. */
export async function listApiKeys(api: ApiClient): Promise<ApiKey[]> {
  return api.listApiKeys();
}

/** 422 `invalid_input` (fields `name`, `expires_in_days`); 409 `too_many_api_keys` at 25 keys. */
export function createApiKey(api: ApiClient, body: CreateApiKeyRequest): Promise<CreatedApiKey> {
  return api.createApiKey(body);
}

/** 404 for a key that is not the user's (or is gone). */
export async function revokeApiKey(api: ApiClient, id: string): Promise<void> {
  await api.revokeApiKey(id);
}

/** The request for a name and an expiry choice (`''`: never). */
export function createRequest(name: string, expiry: string): CreateApiKeyRequest {
  const days = Number(expiry);
  return expiry && Number.isInteger(days) ? { name: name.trim(), expires_in_days: days } : { name: name.trim() };
}

/** What is wrong with a name before it is sent, or null. */
export function nameProblem(name: string): string | null {
  const trimmed = name.trim();
  if (!trimmed) return 'Enter a name for the key.';
  if (trimmed.length > NAME_MAX) return `At most ${NAME_MAX} characters.`;
  return null;
}

/** A create error's message; the key limit says what to do. */
export function describeKeyError(error: unknown): string {
  if (error instanceof ApiError && error.code === 'too_many_api_keys') {
    return 'You have as many API keys as an account may have. Revoke one you no longer use, then create the new one.';
  }
  return describeError(error);
}

/** The base URL OpenAI-compatible tools are given, e.g. `https://host/v1`. */
export function baseUrl(origin: string): string {
  return `${origin.replace(/\/+$/, '')}/v1`;
}

/** The list as shown: one key without its secret. */
export function listed({ id, name, prefix, created_at, expires_at, last_used_at }: ApiKey): ApiKey {
  return { id, name, prefix, created_at, expires_at, last_used_at };
}

/** Whether the key has expired at `now` (ms since the epoch). */
export function isExpired(key: Pick<ApiKey, 'expires_at'>, now = Date.now()): boolean {
  if (!key.expires_at) return false;
  const at = Date.parse(key.expires_at);
  return !Number.isNaN(at) && at <= now;
}

/** "Never", "Expired", or the date and time it expires. */
export function expiresText(key: Pick<ApiKey, 'expires_at'>, now = Date.now(), locale?: string): string {
  if (!key.expires_at) return 'Never';
  return isExpired(key, now) ? 'Expired' : formatDateTime(key.expires_at, locale);
}

/** "Never" or when it was last used. */
export function lastUsedText(key: Pick<ApiKey, 'last_used_at'>, locale?: string): string {
  return key.last_used_at ? formatDateTime(key.last_used_at, locale) : 'Never';
}
