import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ModelInfo, ParamSpec } from '../api/types';
import { addListItem, buildParameters, clampParam, debounce, emptyForm, formFromParams, rangeOf, restingValue, sameParameters } from './params';

/** A model's parameter table, as `GET /api/models` describes it. */
function model(overrides: Record<string, ParamSpec> = {}): ModelInfo {
  const base: Record<string, ParamSpec> = {
    temperature: { type: 'float', accepted: true, min: 0, max: 2, default: 1 },
    top_p: { type: 'float', accepted: true, min: 0, min_exclusive: true, max: 1, default: 1 },
    top_k: { type: 'integer', accepted: true, min: 1, max: 100 },
    max_tokens: { type: 'integer', accepted: true, min: 1, max: 4096 },
    repetition_penalty: { type: 'float', accepted: true, min: 0, min_exclusive: true, max: 2 },
    frequency_penalty: { type: 'float', accepted: true, min: -2, max: 2, default: 0 },
    presence_penalty: { type: 'float', accepted: true, min: -2, max: 2, default: 0 },
    seed: { type: 'integer', accepted: true },
    stop: { type: 'list', accepted: true, max_items: 4, max_length: 5 },
    system_prompt: { type: 'text', accepted: true, max_length: 10 },
  };
  return { id: 'm1', label: 'M1', kind: 'openai', max_tokens: 4096, parameters: { ...base, ...overrides } };
}
/** One parameter's spec from the table above. */
const spec = (name: string, over: Partial<ParamSpec> = {}): ParamSpec => ({ ...model().parameters[name]!, ...over });

describe('buildParameters', () => {
  it('omits everything unset', () => {
    expect(buildParameters(emptyForm(), model())).toEqual({});
    expect(buildParameters({ ...emptyForm(), system_prompt: '   ', stop: ['', ''] }, model())).toEqual({});
  });

  it('keeps set fields, clamped and rounded', () => {
    const form = {
      ...emptyForm(),
      model: 'm1',
      temperature: 3.5,
      top_p: 0,
      top_k: 7.6,
      max_tokens: 999999,
      repetition_penalty: -1,
      frequency_penalty: -5,
      presence_penalty: 0.5,
      seed: 42.4,
    };
    expect(buildParameters(form, model())).toEqual({
      model: 'm1',
      temperature: 2,
      top_p: 0.01,
      top_k: 8,
      max_tokens: 4096,
      repetition_penalty: 0.01,
      frequency_penalty: -2,
      presence_penalty: 0.5,
      seed: 42,
    });
  });

  it('drops NaN and infinities', () => {
    const form = { ...emptyForm(), temperature: Number.NaN, top_k: Infinity, seed: Number.NaN };
    expect(buildParameters(form, model())).toEqual({});
  });

  it('omits parameters the model does not accept', () => {
    const m = model({ top_k: { type: 'integer', accepted: false, reason: 'OpenAI has no top_k' }, seed: { type: 'integer', accepted: false } });
    expect(buildParameters({ ...emptyForm(), top_k: 5, seed: 1, temperature: 0.7 }, m)).toEqual({ temperature: 0.7 });
  });

  it('cleans stop sequences and truncates the system prompt', () => {
    const form = { ...emptyForm(), stop: ['a', '', 'a', 'bcdefgh', 'c', 'd', 'e'], system_prompt: 'You are a helpful bot' };
    expect(buildParameters(form, model())).toEqual({ stop: ['a', 'bcdef', 'c', 'd'], system_prompt: 'You are a ' });
  });

  it('clamps to the ranges of the model the form is for (the default model when none is chosen)', () => {
    expect(buildParameters({ ...emptyForm(), temperature: 9, top_p: 2 }, model())).toEqual({ temperature: 2, top_p: 1 });
  });

  it('without a catalog keeps the values as they are rather than dropping them', () => {
    const form = { ...emptyForm(), model: 'm1', temperature: 0.5, stop: ['x'], system_prompt: '', seed: null };
    expect(buildParameters(form)).toEqual({ model: 'm1', temperature: 0.5, stop: ['x'] });
  });

  it('takes every parameter of the table, known to the client or not, by its type', () => {
    const m = model({
      min_p: { type: 'float', accepted: true, min: 0, max: 1 },
      n_keep: { type: 'integer', accepted: true, min: 0 },
      grammar: { type: 'text', accepted: true, max_length: 3 },
      tags: { type: 'list', accepted: true, max_items: 2 },
    });
    const form = { ...emptyForm(), min_p: 1.5, n_keep: -3.2, grammar: 'root', tags: ['a', 'b', 'c'], unknown: 5 };
    expect(buildParameters(form, m)).toEqual({ min_p: 1, n_keep: 0, grammar: 'roo', tags: ['a', 'b'] });
  });
});

describe('helpers', () => {
  it('clampParam', () => {
    expect(clampParam(spec('temperature'), null)).toBeNull();
    expect(clampParam(spec('temperature'), 0.123456789)).toBe(0.123457);
    expect(clampParam(spec('top_k'), 0)).toBe(1);
    // top_k has no upper bound on the server: typed values above the slider are kept
    expect(clampParam({ type: 'integer', accepted: true, min: 1 }, 1000)).toBe(1000);
    expect(clampParam({ type: 'integer', accepted: true, min: 1, max: 100 }, 1000)).toBe(100);
  });

  it('rangeOf and restingValue come from the spec', () => {
    expect(rangeOf(spec('temperature'))).toEqual({ min: 0, max: 2, minExclusive: false, step: 0.01, slider: true });
    expect(rangeOf(spec('top_k', { max: undefined }))).toMatchObject({ min: 1, max: Infinity, step: 1, slider: false });
    expect(rangeOf({ type: 'float', accepted: true, min: 1, max: 100 }).step).toBe(0.1);
    expect(restingValue(spec('temperature', { default: undefined }))).toBe(1);
    expect(restingValue(spec('frequency_penalty', { default: undefined }))).toBe(0);
    expect(restingValue(spec('top_p'))).toBe(1);
    expect(restingValue({ type: 'float', accepted: true, min: 2, max: 5 })).toBe(2);
  });

  it('formFromParams round-trips', () => {
    const p = { model: 'm1', temperature: 0.3, stop: ['x'], system_prompt: 'hi', seed: 3 };
    expect(buildParameters(formFromParams(p), model())).toEqual(p);
    expect(formFromParams(undefined)).toEqual(emptyForm());
  });

  it('addListItem (stop sequences) respects the limit and duplicates', () => {
    expect(addListItem(['a', 'b', 'c', 'd'], 'e')).toEqual(['a', 'b', 'c', 'd']);
    expect(addListItem(['a'], 'a')).toEqual(['a']);
    expect(addListItem(['a'], '')).toEqual(['a']);
    expect(addListItem([], 'abcdef', 4, 3)).toEqual(['abc']);
  });

  it('sameParameters ignores key order', () => {
    expect(sameParameters({ temperature: 1, top_k: 2 }, { top_k: 2, temperature: 1 })).toBe(true);
    expect(sameParameters({ temperature: 1 }, { temperature: 1.5 })).toBe(false);
  });
});

describe('debounce', () => {
  afterEach(() => vi.useRealTimers());
  it('runs once with the last arguments; flush runs now', () => {
    vi.useFakeTimers();
    const fn = vi.fn();
    const d = debounce(fn, 500);
    d(1);
    d(2);
    vi.advanceTimersByTime(499);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledExactlyOnceWith(2);
    d(3);
    d.flush();
    expect(fn).toHaveBeenLastCalledWith(3);
    d(4);
    d.cancel();
    vi.advanceTimersByTime(1000);
    expect(fn).toHaveBeenCalledTimes(2);
  });
});
