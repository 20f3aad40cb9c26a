// Continuing an answer (`POST …/messages/{id}/continue`): which answers offer it, how its
// refusals read, and how a continuation is summed up in the answer's stats. Pure: no runes, no DOM.
import { ApiError } from '../api';
import type { Continuation, Message, ModelInfo } from '../api/types';

/**
 * Whether `message` ended early, as the server counts it: stopped, cut at `max_tokens`
 * (finish reason `length`), or interrupted (its server went away mid-answer).
 */
export function endedEarly(message: Pick<Message, 'role' | 'status' | 'finish_reason' | 'error'>): boolean {
  if (message.role !== 'assistant') return false;
  switch (message.status) {
    case 'stopped':
      return true;
    case 'complete':
      return message.finish_reason === 'length';
    case 'error':
      return message.error?.code === 'interrupted';
    default:
      return false;
  }
}

/** The model an answer was made with: its own, else (none named) the catalog's default. */
export function answerModel(message: Message, models: readonly ModelInfo[], defaultModel?: string | null): ModelInfo | undefined {
  const id = message.parameters?.model ?? message.model ?? defaultModel;
  return id ? models.find((m) => m.id === id) : undefined;
}

/**
 * Whether `message` shows "Continue": it ended early and its model (`model`, from the catalog)
 * can continue answers. An unknown model (not in the catalog, or the catalog not loaded) cannot
 * be vouched for: no button.
 */
export function canContinue(message: Message, model: ModelInfo | undefined): boolean {
  return endedEarly(message) && model?.continue?.supported === true;
}

/** The number of times an answer was continued. */
export function continuedCount(message: Pick<Message, 'continuations'>): number {
  return message.continuations?.length ?? 0;
}

/**
 * A refused continuation in words (`error` unchanged when it is not one of continue's own):
 * 409 `not_continuable` — it no longer ended early (continued, or changed elsewhere) —, 422 on
 * `parameters.model` — its model cannot continue.
 */
export function continueError(error: unknown): unknown {
  if (!(error instanceof ApiError)) return error;
  if (error.status === 409 && error.code === 'not_continuable') {
    return new ApiError(error.status, error.code, 'This answer cannot be continued any more: it is being continued, or was changed elsewhere.', error.fields, error.retryAfter);
  }
  const model = error.fields['parameters.model'];
  if (error.status === 422 && model) {
    return new ApiError(error.status, error.code, `This answer’s model cannot continue answers: ${model}`, error.fields, error.retryAfter);
  }
  return error;
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}

/** How a continuation ended, in words: "finish: length", "stopped", "failed: …". */
export function continuationEnd(run: Pick<Continuation, 'status' | 'finish_reason' | 'error'>): string {
  if (run.status === 'stopped') return 'stopped';
  if (run.status === 'error') return run.error ? `failed: ${run.error.message}` : 'failed';
  if (run.status === 'streaming') return 'running';
  return run.finish_reason ? `finish: ${run.finish_reason}` : 'complete';
}

/** One continuation's figures: "3 tokens (12 prompt) · 0.42 s · 7.1 tok/s · finish: length". */
export function continuationSummary(run: Continuation): string {
  const est = run.usage.estimated ? ' (est.)' : '';
  const parts = [`${run.usage.completion_tokens} tokens (${run.usage.prompt_tokens} prompt)${est}`, formatMs(run.duration_ms)];
  if (run.tokens_per_second) parts.push(`${run.tokens_per_second.toFixed(1)} tok/s`);
  parts.push(continuationEnd(run));
  return parts.join(' · ');
}
