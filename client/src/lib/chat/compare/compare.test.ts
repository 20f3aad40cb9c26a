import { describe, expect, it } from 'vitest';
import type { Message } from '../../api';
import { compareRows, defaultSelection, formatDuration, formatParam, parametersOf, setParams, toggleVersion } from './compare';
import { copyParameters } from './reuse';

function answer(over: Partial<Message> = {}): Message {
  return {
    id: 'm',
    chat_id: 'c',
    parent_id: 'u',
    role: 'assistant',
    content: 'hi',
    status: 'complete',
    created_at: '2025-01-01T00:00:00Z',
    vote: null,
    ...over,
  };
}

describe('defaultSelection', () => {
  it('takes the current version and the one before it', () => {
    expect(defaultSelection(3, 2)).toEqual([1, 2]);
    expect(defaultSelection(5, 3)).toEqual([2, 3]);
  });
  it('takes the first two when the first is shown', () => {
    expect(defaultSelection(2, 0)).toEqual([0, 1]);
    expect(defaultSelection(4, 0)).toEqual([0, 1]);
  });
  it('clamps an index out of range and handles too few versions', () => {
    expect(defaultSelection(2, 9)).toEqual([0, 1]);
    expect(defaultSelection(1, 0)).toEqual([0]);
    expect(defaultSelection(0, 0)).toEqual([]);
  });
});

describe('toggleVersion', () => {
  it('adds up to three, ascending', () => {
    expect(toggleVersion([1, 3], 0)).toEqual([0, 1, 3]);
    expect(toggleVersion([0, 1, 3], 2)).toEqual([0, 1, 3]);
  });
  it('removes down to two', () => {
    expect(toggleVersion([0, 1, 3], 1)).toEqual([0, 3]);
    expect(toggleVersion([0, 3], 3)).toEqual([0, 3]);
  });
});

describe('formatParam', () => {
  it('reads numbers, lists and unset values', () => {
    expect(formatParam('temperature', 1.3)).toEqual({ text: '1.3' });
    expect(formatParam('stop', ['\n', 'END'])).toEqual({ text: '["\\n","END"]' });
    expect(formatParam('seed', undefined)).toEqual({ text: 'Random', unset: true });
    expect(formatParam('top_p', null)).toEqual({ text: 'Default', unset: true });
  });
  it('shows a response format as compact JSON, keys sorted, shortened with the full text', () => {
    expect(formatParam('response_format', { type: 'json_object' })).toEqual({ text: '{"type":"json_object"}' });
    const long = formatParam('response_format', { type: 'json_schema', json_schema: { name: 'person', schema: { type: 'object', properties: { age: { type: 'integer' } } } } });
    expect(long.text.endsWith('…')).toBe(true);
    expect(long.text.length).toBe(60);
    expect(JSON.parse(long.full!)).toMatchObject({ type: 'json_schema' });
  });
  it('truncates a long system prompt, keeping the full text', () => {
    const prompt = 'You are a helpful assistant. '.repeat(5);
    const cell = formatParam('system_prompt', prompt);
    expect(cell.text.length).toBe(60);
    expect(cell.full).toBe(prompt);
    expect(formatParam('system_prompt', 'Be brief.')).toEqual({ text: 'Be brief.' });
  });
});

describe('formatDuration', () => {
  it('reads ms, seconds and minutes', () => {
    expect(formatDuration(850).text).toBe('850 ms');
    expect(formatDuration(2430).text).toBe('2.4 s');
    expect(formatDuration(65_000).text).toBe('1 min 5 s');
    expect(formatDuration(undefined)).toEqual({ text: '—', unset: true });
  });
});

describe('compareRows', () => {
  const a = answer({
    id: 'a',
    model: 'demo',
    parameters: { model: 'demo', temperature: 0.7, max_tokens: 100 },
    usage: { prompt_tokens: 10, completion_tokens: 24 },
    ttft_ms: 120,
    duration_ms: 900,
    tokens_per_second: 26.66,
    finish_reason: 'stop',
  });
  const b = answer({
    id: 'b',
    model: 'demo',
    parameters: { model: 'demo', temperature: 1.3, seed: 99, max_tokens: 100 },
    usage: { prompt_tokens: 10, completion_tokens: 24, estimated: true },
    ttft_ms: 120,
    duration_ms: 900,
    tokens_per_second: 26.66,
    finish_reason: 'stop',
  });
  const rows = compareRows([a, b]);
  const byKey = new Map(rows.map((r) => [r.key, r]));

  it('lists the model, the parameters any version set (in order), then the stats', () => {
    expect(rows.map((r) => r.key)).toEqual(['model', 'temperature', 'max_tokens', 'seed', 'completion_tokens', 'tokens_per_second', 'ttft_ms', 'duration_ms', 'finish']);
    expect(byKey.get('temperature')!.label).toBe('Temperature');
  });
  it('marks the rows that differ', () => {
    const differing = rows.filter((r) => r.differs).map((r) => r.key);
    expect(differing).toEqual(['temperature', 'seed', 'completion_tokens']);
    expect(byKey.get('seed')!.cells).toEqual([{ text: 'Random', unset: true }, { text: '99' }]);
  });
  it('formats the stats', () => {
    expect(byKey.get('tokens_per_second')!.cells[0]!.text).toBe('26.7');
    expect(byKey.get('completion_tokens')!.cells[1]!.text).toBe('24 (estimated)');
    expect(byKey.get('finish')!.cells[0]!.text).toBe('stop / complete');
    expect(byKey.get('duration_ms')!.cells[0]!.text).toBe('900 ms');
  });
  it('compares objects whatever their key order', () => {
    const x = answer({ parameters: { response_format: { type: 'json_object', extra: 1 } as never } });
    const y = answer({ parameters: { response_format: { extra: 1, type: 'json_object' } as never } });
    expect(compareRows([x, y]).find((r) => r.key === 'response_format')!.differs).toBe(false);
  });
  it('orders unknown parameters after the known ones', () => {
    expect(setParams([{ zeta: 1, temperature: 1 }, { alpha: 2, model: 'm', seed: null }])).toEqual(['temperature', 'alpha', 'zeta']);
  });
});

describe('parameters to regenerate with', () => {
  it('copies them as they were, seed included, without the unset ones', () => {
    const params = { model: 'demo', temperature: 1.3, seed: 99, stop: ['x'], top_p: null };
    const copy = parametersOf(answer({ parameters: params }));
    expect(copy).toEqual({ model: 'demo', temperature: 1.3, seed: 99, stop: ['x'] });
    expect(copy!.stop).not.toBe(params.stop);
  });
  it('is undefined when none is set', () => {
    expect(copyParameters(undefined)).toBeUndefined();
    expect(copyParameters({ seed: null })).toBeUndefined();
  });
});
