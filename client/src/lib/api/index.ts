export { ApiClient, isPending, toStreamEvent } from './client';
export type { ApiClientOptions, FetchLike, RegisterResult } from './client';
export { ApiError, describeError, errorFromResponse, formatWait, isAbortError, isTransient, parseRetryAfter } from './errors';
export { SseParser, readSse } from './sse';
export type { SseFrame } from './sse';
export type * from './types';
