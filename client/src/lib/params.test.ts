import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ModelInfo, ParamInfo, ParamName } from './api/types';
import { addStop, buildParameters, clampParam, debounce, emptyForm, formFromParams, sameParameters } from './params';

function model(overrides: Partial<Record<ParamName, ParamInfo>> = {}): ModelInfo {
  const base: Record<ParamName, ParamInfo> = {
    temperature: { accepted: true, min: 0, max: 2, default: 1 },
    top_p: { accepted: true, min: 0, min_exclusive: true, max: 1, default: 1 },
    top_k: { accepted: true, min: 1, max: 100 },
    max_tokens: { accepted: true, min: 1, max: 4096 },
    repetition_penalty: { accepted: true, min: 0, min_exclusive: true, max: 2 },
    frequency_penalty: { accepted: true, min: -2, max: 2, default: 0 },
    presence_penalty: { accepted: true, min: -2, max: 2, default: 0 },
    seed: { accepted: true },
    stop: { accepted: true, max_items: 4, max_length: 5 },
    system_prompt: { accepted: true, max_length: 10 },
  };
  return { id: 'm1', label: 'M1', kind: 'openai', max_tokens: 4096, parameters: { ...base, ...overrides } };
}

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
    const m = model({ top_k: { accepted: false, reason: 'OpenAI has no top_k' }, seed: { accepted: false } });
    expect(buildParameters({ ...emptyForm(), top_k: 5, seed: 1, temperature: 0.7 }, m)).toEqual({ temperature: 0.7 });
  });

  it('cleans stop sequences and truncates the system prompt', () => {
    const form = { ...emptyForm(), stop: ['a', '', 'a', 'bcdefgh', 'c', 'd', 'e'], system_prompt: 'You are a helpful bot' };
    expect(buildParameters(form, model())).toEqual({ stop: ['a', 'bcdef', 'c', 'd'], system_prompt: 'You are a ' });
  });

  it('falls back to documented ranges without a model', () => {
    expect(buildParameters({ ...emptyForm(), temperature: 9, top_p: 2 })).toEqual({ temperature: 2, top_p: 1 });
  });
});

describe('helpers', () => {
  it('clampParam', () => {
    expect(clampParam('temperature', null)).toBeNull();
    expect(clampParam('temperature', 0.123456789)).toBe(0.123457);
    expect(clampParam('top_k', 0)).toBe(1);
    // top_k has no upper bound on the server: typed values above the slider are kept
    expect(clampParam('top_k', 1000, { accepted: true, min: 1 })).toBe(1000);
    expect(clampParam('top_k', 1000, { accepted: true, min: 1, max: 100 })).toBe(100);
  });

  it('formFromParams round-trips', () => {
    const p = { model: 'm1', temperature: 0.3, stop: ['x'], system_prompt: 'hi', seed: 3 };
    expect(buildParameters(formFromParams(p), model())).toEqual(p);
    expect(formFromParams(undefined)).toEqual(emptyForm());
  });

  it('addStop respects the limit and duplicates', () => {
    expect(addStop(['a', 'b', 'c', 'd'], 'e')).toEqual(['a', 'b', 'c', 'd']);
    expect(addStop(['a'], 'a')).toEqual(['a']);
    expect(addStop(['a'], '')).toEqual(['a']);
    expect(addStop([], 'abcdef', 4, 3)).toEqual(['abc']);
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
