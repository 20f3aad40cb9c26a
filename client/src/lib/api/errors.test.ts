import { describe, expect, it } from 'vitest';
import { ApiError, describeError, errorFromResponse, formatWait, isTransient, parseRetryAfter } from './errors';

describe('Retry-After', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('30')).toBe(30);
    expect(parseRetryAfter(' 5 ')).toBe(5);
    const now = Date.parse('2026-11-23T10:00:00Z');
    expect(parseRetryAfter('Mon, 23 Nov 2026 10:01:00 GMT', now)).toBe(60);
    expect(parseRetryAfter('Mon, 23 Nov 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(null)).toBeNull();
    expect(parseRetryAfter('soon')).toBeNull();
  });

  it('formats waits for people', () => {
    expect(formatWait(0)).toBe('1 s');
    expect(formatWait(42)).toBe('42 s');
    expect(formatWait(600)).toBe('10 min');
    expect(formatWait(3900)).toBe('65 min');
    expect(formatWait(7500)).toBe('2 h 5 min');
    expect(formatWait(7200)).toBe('2 h');
    expect(formatWait(47 * 3600)).toBe('47 h');
    expect(formatWait(12 * 86400)).toBe('12 days');
  });

  it('is kept on the error built from a response', async () => {
    const response = new Response(JSON.stringify({ error: { code: 'too_many_requests', message: 'slow down' } }), {
      status: 429,
      headers: { 'retry-after': '42', 'content-type': 'application/json' },
    });
    const error = await errorFromResponse(response);
    expect(error.retryAfter).toBe(42);
    expect(describeError(error)).toBe('Too many requests. Try again in 42 s.');
  });
});

describe('describeError', () => {
  it('says when the server cannot be reached', () => {
    expect(describeError(new ApiError(0, 'network_error', 'x'))).toMatch(/Cannot reach the Confab server/);
  });
  it('rate limits without a wait still say what to do', () => {
    expect(describeError(new ApiError(429, 'too_many_requests', 'x'))).toMatch(/^Too many requests\. Please wait/);
  });
  it('too many answers at once says what to do about it', () => {
    expect(describeError(new ApiError(429, 'too_many_generations', 'x', {}, 5))).toMatch(
      /^Too many answers are being generated for you at once\. Wait for one to finish, or stop one/,
    );
  });
  it('an unavailable server gives its wait', () => {
    expect(describeError(new ApiError(503, 'unavailable', 'x', {}, 5))).toBe(
      'The server is temporarily unavailable. Try again in 5 s.',
    );
  });
  it('other errors keep the server’s message', () => {
    expect(describeError(new ApiError(422, 'validation', 'content is too long'))).toBe('content is too long');
    expect(describeError(new Error('boom'))).toBe('boom');
    expect(describeError('plain')).toBe('plain');
  });
  it('what is worth trying again: an unreachable server, a broken stream, 408, 429, 5xx — not an abort or another 4xx', () => {
    expect(isTransient(new ApiError(0, 'network_error', 'x'))).toBe(true);
    expect(isTransient(new TypeError('network error'))).toBe(true);
    expect(isTransient(new ApiError(503, 'unavailable', 'x'))).toBe(true);
    expect(isTransient(new ApiError(429, 'too_many_requests', 'x'))).toBe(true);
    expect(isTransient(new ApiError(404, 'not_found', 'x'))).toBe(false);
    expect(isTransient(new ApiError(401, 'unauthorized', 'x'))).toBe(false);
    expect(isTransient(new DOMException('stopped', 'AbortError'))).toBe(false);
  });
});
