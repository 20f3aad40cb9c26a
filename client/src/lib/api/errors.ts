import type { ErrorBody } from './types';

/** An error answered by the API (or a transport failure, with status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields: Record<string, string>;
  /** Seconds to wait before trying again (from `Retry-After`), when the server said. */
  readonly retryAfter: number | null;

  constructor(
    status: number,
    code: string,
    message: string,
    fields: Record<string, string> = {},
    retryAfter: number | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.fields = fields;
    this.retryAfter = retryAfter;
  }
}

/** `Retry-After` in seconds (delta-seconds or an HTTP date), or null. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return null;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

/** "5 s", "2 min", "1 h 5 min", "3 days". */
export function formatWait(seconds: number): string {
  const s = Math.max(1, Math.round(seconds));
  if (s < 90) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 90) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h >= 48) return `${Math.round(h / 24)} days`;
  return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
}

const DAY_SECONDS = 24 * 60 * 60;

/** When a spent token quota comes back: "tomorrow (in 5 h)", "next month (in 12 days)". */
function quotaReset(retryAfter: number | null): string {
  if (retryAfter === null) return 'when your quota resets';
  const when = retryAfter <= DAY_SECONDS ? 'tomorrow' : 'next month';
  return `${when} (in ${formatWait(retryAfter)})`;
}

/** Messages of our own for codes whose server message may be terse. */
const MESSAGES: Record<string, string> = {
  account_pending: 'Your account awaits approval by an admin. You can sign in once it is approved.',
  account_disabled: 'Your account has been disabled. Contact an admin if you think this is a mistake.',
};

function isErrorBody(value: unknown): value is ErrorBody {
  if (typeof value !== 'object' || value === null || !('error' in value)) return false;
  const error = (value as { error: unknown }).error;
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { code?: unknown }).code === 'string' &&
    typeof (error as { message?: unknown }).message === 'string'
  );
}

/** Builds an ApiError from a non-2xx response, whatever its body. */
export async function errorFromResponse(response: Response): Promise<ApiError> {
  const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
  let text = '';
  try {
    text = await response.text();
  } catch {
    // the body could not be read: fall through to a generic error
  }
  try {
    const body: unknown = JSON.parse(text);
    if (isErrorBody(body)) {
      const fields: Record<string, string> = {};
      for (const [k, v] of Object.entries(body.error.fields ?? {})) {
        if (typeof v === 'string') fields[k] = v;
      }
      return new ApiError(response.status, body.error.code, body.error.message, fields, retryAfter);
    }
  } catch {
    // not JSON
  }
  return new ApiError(
    response.status,
    'http_error',
    response.statusText ? `${response.status} ${response.statusText}` : `HTTP ${response.status}`,
    {},
    retryAfter,
  );
}

export function isAbortError(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { name?: unknown }).name === 'AbortError'
  );
}

/**
 * Whether trying again later may work: the server could not be reached, the stream broke
 * (a body that failed mid-read is a `TypeError`, not an ApiError), or it answered 408, 429 or
 * 5xx. An abort is not (the user stopped, or the page moved on); nor is any other 4xx (404: the
 * chat or answer is gone, or not the user's).
 */
export function isTransient(error: unknown): boolean {
  if (isAbortError(error)) return false;
  if (!(error instanceof ApiError)) return true;
  return error.status === 0 || error.status === 408 || error.status === 429 || error.status >= 500;
}

/** A short, human message for any error. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    const wait = error.retryAfter !== null ? ` Try again in ${formatWait(error.retryAfter)}.` : '';
    if (error.status === 0) {
      return 'Cannot reach the Confab server. Check your connection; your text is kept, so you can try again.';
    }
    if (error.status === 429 && error.code === 'too_many_generations') {
      const after = error.retryAfter !== null ? ` (or try again in ${formatWait(error.retryAfter)})` : '';
      return `Too many answers are being generated for you at once. Wait for one to finish, or stop one, then send again${after}; your text is kept.`;
    }
    if (error.status === 429 && error.code === 'quota_exceeded') {
      return `You have used all the tokens your quota allows. You can send again ${quotaReset(error.retryAfter)}; your text is kept.`;
    }
    if (error.status === 429) {
      return `Too many requests.${wait || ' Please wait a moment and try again.'}`;
    }
    if (error.status === 503) {
      return `The server is temporarily unavailable.${wait || ' Please try again shortly.'}`;
    }
    if (error.status >= 500) return `The server had a problem (${error.status}). Please try again.`;
    return MESSAGES[error.code] ?? error.message;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}
