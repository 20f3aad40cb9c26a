import { describe, expect, it, vi } from 'vitest';
import type { Preset } from '../api';
import { CUSTOM, pickerValue, presetLabel, sortPresets, summarizeParameters } from './presets';
import { Presets } from './presets.svelte';

function preset(id: string, name: string, shared = false): Preset {
  return { id, name, shared, editable: !shared, parameters: {}, created_at: '', updated_at: '' };
}

describe('summarizeParameters', () => {
  it('names the parameters that are set, in order, model first', () => {
    expect(summarizeParameters({ temperature: 0.2, max_tokens: 40 })).toBe('temperature 0.2 · max tokens 40');
    expect(summarizeParameters({ top_p: 0.9, model: 'small' })).toBe('model small · top P 0.9');
  });

  it('leaves out unset values and says "defaults" when nothing is set', () => {
    expect(summarizeParameters({})).toBe('defaults');
    expect(summarizeParameters(null)).toBe('defaults');
    expect(summarizeParameters({ temperature: null, seed: undefined, stop: [], system_prompt: '' })).toBe('defaults');
  });

  it('shortens texts and shows lists and response formats', () => {
    expect(summarizeParameters({ system_prompt: 'You are a very helpful assistant who answers briefly.' })).toBe(
      'system prompt “You are a very helpful…”',
    );
    expect(summarizeParameters({ stop: ['END', '###'] })).toBe('stop sequences “END”, “###”');
    expect(summarizeParameters({ response_format: { type: 'json_object' } })).toBe('response format JSON');
    expect(
      summarizeParameters({ response_format: { type: 'json_schema', json_schema: { name: 'person', schema: {} } } }),
    ).toBe('response format schema person');
    expect(summarizeParameters({ logit_bias_x: 3 })).toBe('logit bias x 3');
  });
});

describe('presetLabel', () => {
  it('marks shared presets', () => {
    expect(presetLabel(preset('a', 'House style', true))).toBe('House style (shared)');
    expect(presetLabel(preset('b', 'Mine'))).toBe('Mine');
  });
});

describe('sortPresets', () => {
  it('puts shared presets first, then by name regardless of case', () => {
    const sorted = sortPresets([preset('1', 'beta'), preset('2', 'Zed', true), preset('3', 'Alpha'), preset('4', 'able', true)]);
    expect(sorted.map((p) => p.id)).toEqual(['4', '2', '3', '1']);
  });
});

describe('pickerValue', () => {
  const list = [preset('p1', 'One'), preset('p2', 'Two')];
  it("shows the chat's preset when it is listed", () => {
    expect(pickerValue('p2', list)).toBe('p2');
  });
  it('shows Custom without a preset, or for one no longer listed', () => {
    expect(pickerValue(null, list)).toBe(CUSTOM);
    expect(pickerValue(undefined, list)).toBe(CUSTOM);
    expect(pickerValue('gone', list)).toBe(CUSTOM);
  });
});

describe('Presets store', () => {
  it('loads once, sorted, and keeps local changes in order', async () => {
    const listPresets = vi.fn(async () => [preset('1', 'b'), preset('2', 'a', true)]);
    const store = new Presets();
    await Promise.all([store.ensure({ listPresets }), store.ensure({ listPresets })]);
    await store.ensure({ listPresets });
    expect(listPresets).toHaveBeenCalledTimes(1);
    expect(store.list.map((p) => p.id)).toEqual(['2', '1']);

    store.put(preset('3', 'A mine'));
    expect(store.list.map((p) => p.id)).toEqual(['2', '3', '1']);
    store.put({ ...preset('3', 'z renamed') });
    expect(store.list.map((p) => p.name)).toEqual(['a', 'b', 'z renamed']);
    expect(store.find('1')?.name).toBe('b');
    store.removed('1');
    expect(store.find('1')).toBeUndefined();

    store.clear();
    expect(store.list).toEqual([]);
    expect(store.loaded).toBe(false);
  });

  it('keeps the error when the list cannot be loaded', async () => {
    const store = new Presets();
    await store.ensure({ listPresets: async () => Promise.reject(new Error('boom')) });
    expect(store.loaded).toBe(false);
    expect(store.error).toBeTruthy();
  });
});
