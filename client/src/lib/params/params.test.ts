import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ModelInfo, ParamSpec } from '../api/types';
import {
  addListItem,
  buildParameters,
  clampParam,
  cleanList,
  cleanResponseFormat,
  debounce,
  emptyForm,
  formFromParams,
  paramValue,
  rangeOf,
  restingValue,
  sameParameters,
  sameValue,
  schemaBytes,
  validSchemaName,
} from './params';

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
    response_format: { type: 'response_format', accepted: true, max_length: 200 },
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

describe('response_format (an object value)', () => {
  const schema = { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] };
  const person = { type: 'json_schema' as const, json_schema: { name: 'person', schema, strict: true } };

  it('formFromParams keeps a response format, as a copy', () => {
    const stored = { temperature: 0.5, response_format: person };
    const form = formFromParams(stored);
    expect(form.response_format).toEqual(person);
    expect(form.response_format).not.toBe(person);
    (form.response_format as typeof person).json_schema.schema.required.push('age');
    expect(schema.required).toEqual(['name']);
    expect(formFromParams({ response_format: { type: 'json_object' } }).response_format).toEqual({ type: 'json_object' });
  });

  it('formFromParams leaves out objects that are no response format', () => {
    expect(formFromParams({ response_format: { type: 'text' } as never })).toEqual(emptyForm());
    expect(formFromParams({ response_format: { type: 'json_schema', json_schema: { name: 'a b', schema } } as never })).toEqual(emptyForm());
    expect(formFromParams({ odd: { nested: 1 } as never })).toEqual(emptyForm());
  });

  it('buildParameters sends a valid one and round-trips with formFromParams', () => {
    const p = { model: 'm1', temperature: 0.3, response_format: person };
    expect(buildParameters(formFromParams(p), model())).toEqual(p);
    expect(buildParameters({ ...emptyForm(), response_format: { type: 'json_object' } }, model())).toEqual({ response_format: { type: 'json_object' } });
  });

  it('buildParameters drops an invalid one, one over max_length bytes, and one the model does not accept', () => {
    const big = { type: 'json_schema' as const, json_schema: { name: 'big', schema: { description: 'x'.repeat(300) } } };
    expect(buildParameters({ ...emptyForm(), response_format: big }, model())).toEqual({});
    expect(buildParameters({ ...emptyForm(), response_format: { type: 'nope' } as never }, model())).toEqual({});
    const refused = model({ response_format: { type: 'response_format', accepted: false, reason: 'Not with this upstream' } });
    expect(buildParameters({ ...emptyForm(), response_format: person, seed: 1 }, refused)).toEqual({ seed: 1 });
  });

  it('buildParameters without a catalog keeps it as it is', () => {
    expect(buildParameters({ ...emptyForm(), response_format: person })).toEqual({ response_format: person });
  });

  it('an object in a field of another type is not sent', () => {
    for (const name of ['temperature', 'top_k', 'system_prompt', 'stop']) {
      expect(paramValue(spec(name), person), name).toBeNull();
    }
    expect(clampParam(spec('temperature'), person as never)).toBeNull();
    expect(cleanList(spec('stop'), [person, 'ab'])).toEqual(['ab']);
    // a number or text in a response format field is not one either
    expect(paramValue(spec('response_format'), 3)).toBeNull();
    expect(paramValue(spec('response_format'), '{"type":"json_object"}')).toBeNull();
  });

  it('cleanResponseFormat drops unknown fields and checks name, schema and size', () => {
    expect(cleanResponseFormat({ type: 'json_object', extra: 1 })).toEqual({ type: 'json_object' });
    expect(
      cleanResponseFormat({ type: 'json_schema', json_schema: { name: 'a', schema: {}, strict: false, description: 'd', extra: 1 }, more: 2 }),
    ).toEqual({ type: 'json_schema', json_schema: { name: 'a', schema: {}, strict: false, description: 'd' } });
    expect(cleanResponseFormat({ type: 'json_schema', json_schema: { name: 'a', schema: [] } })).toBeNull();
    expect(cleanResponseFormat({ type: 'json_schema', json_schema: { name: 'a' } })).toBeNull();
    expect(cleanResponseFormat({ type: 'json_schema' })).toBeNull();
    expect(cleanResponseFormat({ type: 'json_schema', json_schema: { name: 'a', schema: { d: 'xyz' } } }, 10)).toBeNull();
    expect(cleanResponseFormat({ type: 'json_schema', json_schema: { name: 'a', schema: { d: 'xyz' } } }, 11)).not.toBeNull();
    expect(cleanResponseFormat(null)).toBeNull();
    expect(cleanResponseFormat([{ type: 'json_object' }])).toBeNull();
  });

  it('schema names and sizes as the server counts them', () => {
    expect(['a', 'answer', 'A-b_9', 'x'.repeat(64)].every(validSchemaName)).toBe(true);
    expect(['', 'a b', 'a.b', 'é', 'x'.repeat(65)].some(validSchemaName)).toBe(false);
    expect(schemaBytes({ a: 'é' })).toBe(10); // {"a":"é"}
  });

  it('sameParameters and sameValue compare nested objects in any key order', () => {
    const reordered = { json_schema: { strict: true, schema: { required: ['name'], type: 'object', properties: { name: { type: 'string' } } }, name: 'person' }, type: 'json_schema' };
    expect(sameParameters({ temperature: 1, response_format: person }, { response_format: reordered as never, temperature: 1 })).toBe(true);
    expect(sameValue(person, reordered as never)).toBe(true);
    const other = { ...person, json_schema: { ...person.json_schema, strict: false } };
    expect(sameParameters({ response_format: person }, { response_format: other })).toBe(false);
    expect(sameParameters({ response_format: person }, { response_format: null })).toBe(false);
    expect(sameParameters({ response_format: null }, {})).toBe(true);
    // arrays keep their order
    expect(sameParameters({ stop: ['a', 'b'] }, { stop: ['b', 'a'] })).toBe(false);
    expect(sameValue(null, undefined)).toBe(true);
    // a schema may have a property named __proto__
    const proto = (s: string) => ({ type: 'json_schema' as const, json_schema: { name: 'p', schema: JSON.parse(`{"properties": {"__proto__": {"type": "${s}"}}}`) } });
    expect(sameValue(proto('string'), proto('integer'))).toBe(false);
    expect(sameValue(proto('string'), proto('string'))).toBe(true);
    expect(sameValue({ type: 'json_object' }, null)).toBe(false);
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
