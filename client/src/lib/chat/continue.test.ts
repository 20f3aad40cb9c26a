import { describe, expect, it } from 'vitest';
import { ApiError } from '../api/errors';
import type { Continuation, Message, ModelInfo } from '../api/types';
import { answerModel, canContinue, continueError, continuationSummary, continuedCount, endedEarly } from './continue';
import { msg } from './fixtures';

const model = (id: string, supported: boolean | undefined): ModelInfo => ({
  id,
  label: id,
  kind: 'vllm',
  max_tokens: 4096,
  parameters: {},
  ...(supported === undefined ? {} : { continue: supported ? { supported } : { supported, reason: 'no prefill' } }),
});

const run = (over: Partial<Continuation> = {}): Continuation => ({
  parameters: { model: 'm1' },
  status: 'complete',
  finish_reason: 'length',
  usage: { prompt_tokens: 12, completion_tokens: 3 },
  duration_ms: 420,
  started_at: '2026-01-01T00:00:00Z',
  ...over,
});

describe('which answers show Continue', () => {
  const able = model('m1', true);
  const cases: [string, Partial<Message>, boolean][] = [
    ['stopped', { status: 'stopped' }, true],
    ['cut at max tokens', { status: 'complete', finish_reason: 'length' }, true],
    ['interrupted', { status: 'error', error: { code: 'interrupted', message: 'the server stopped' } }, true],
    ['complete (stop)', { status: 'complete', finish_reason: 'stop' }, false],
    ['complete, no finish reason', { status: 'complete' }, false],
    ['failed otherwise', { status: 'error', error: { code: 'upstream_error', message: 'boom' } }, false],
    ['failed, no error', { status: 'error' }, false],
    ['streaming', { status: 'streaming' }, false],
    ['a user message', { role: 'user', status: 'stopped' }, false],
  ];
  for (const [name, over, expected] of cases) {
    it(`${name}: ${expected ? 'yes' : 'no'}`, () => {
      const message = msg('a1', 'u1', { model: 'm1', ...over });
      expect(endedEarly(message)).toBe(expected);
      expect(canContinue(message, able)).toBe(expected);
    });
  }

  it('only when the answer’s model can continue (supported; unknown or unsaid: no)', () => {
    const stopped = msg('a1', 'u1', { status: 'stopped', model: 'm1' });
    expect(canContinue(stopped, model('m1', false))).toBe(false);
    expect(canContinue(stopped, model('m1', undefined))).toBe(false);
    expect(canContinue(stopped, undefined)).toBe(false);
  });

  it('the answer’s model: its parameters’, else its own, else the default; never a stand-in', () => {
    const models = [model('m1', true), model('m2', false)];
    expect(answerModel(msg('a', null, { parameters: { model: 'm2' }, model: 'm1' }), models)?.id).toBe('m2');
    expect(answerModel(msg('a', null, { model: 'm1' }), models)?.id).toBe('m1');
    expect(answerModel(msg('a', null), models, 'm2')?.id).toBe('m2');
    // A model the catalog no longer lists is not replaced by another.
    expect(answerModel(msg('a', null, { model: 'gone' }), models, 'm1')).toBeUndefined();
    expect(answerModel(msg('a', null), models)).toBeUndefined();
  });
});

describe('continue refusals and stats', () => {
  it('409 not_continuable and 422 on parameters.model read as what they mean', () => {
    const busy = continueError(new ApiError(409, 'not_continuable', 'conflict'));
    expect(busy).toBeInstanceOf(ApiError);
    expect((busy as ApiError).status).toBe(409);
    expect((busy as ApiError).message).toMatch(/cannot be continued any more/);
    const model = continueError(new ApiError(422, 'validation_failed', 'invalid', { 'parameters.model': 'TGI cannot prefill' }));
    expect((model as ApiError).message).toBe('This answer’s model cannot continue answers: TGI cannot prefill');
    const other = new ApiError(422, 'validation_failed', 'invalid', { 'parameters.temperature': 'too hot' });
    expect(continueError(other)).toBe(other);
    const network = new TypeError('fetch failed');
    expect(continueError(network)).toBe(network);
  });

  it('counts continuations and sums each one up', () => {
    expect(continuedCount(msg('a', null))).toBe(0);
    expect(continuedCount(msg('a', null, { continuations: [run(), run()] }))).toBe(2);
    expect(continuationSummary(run({ tokens_per_second: 7.14 }))).toBe('3 tokens (12 prompt) · 420 ms · 7.1 tok/s · finish: length');
    expect(continuationSummary(run({ status: 'stopped', finish_reason: undefined, duration_ms: 1500, usage: { prompt_tokens: 1, completion_tokens: 9, estimated: true } }))).toBe(
      '9 tokens (1 prompt) (est.) · 1.50 s · stopped',
    );
    expect(continuationSummary(run({ status: 'error', error: { code: 'upstream_error', message: 'boom' } }))).toMatch(/failed: boom$/);
  });
});
