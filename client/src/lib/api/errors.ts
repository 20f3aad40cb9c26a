import type { ErrorBody } from './types';

/** An error answered by the API (or a transport failure, with status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields: Record<string, string>;

  constructor(status: number, code: string, message: string, fields: Record<string, string> = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.fields = fields;
  }
}

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
      return new ApiError(response.status, body.error.code, body.error.message, fields);
    }
  } catch {
    // not JSON
  }
  return new ApiError(
    response.status,
    'http_error',
    response.statusText ? `${response.status} ${response.statusText}` : `HTTP ${response.status}`,
  );
}

export function isAbortError(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { name?: unknown }).name === 'AbortError'
  );
}

/** A short, human message for any error. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 429) return 'Too many attempts. Please wait a moment and try again.';
    return error.message;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}
