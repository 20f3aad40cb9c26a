import { describe, expect, it } from 'vitest';
import type { ModelsResponse } from '../api/types';
import { Catalog, REGENERATE_PARAMS, pickerLabel } from './catalog.svelte';
import { paramLabel, unsetText } from './labels';

const response: ModelsResponse = {
  demo: false,
  default_model: 'b',
  limits: { max_message_length: 8000, max_conversation_history: 50 },
  models: [
    {
      id: 'a',
      label: 'A',
      kind: 'openai',
      max_tokens: 4096,
      parameters: {
        seed: { type: 'integer', accepted: true },
        temperature: { type: 'float', accepted: true, min: 0, max: 2 },
        top_k: { type: 'integer', accepted: false, reason: 'OpenAI has no top_k' },
        stop: { type: 'list', accepted: true },
      },
    },
    { id: 'b', label: 'B', kind: 'vllm', max_tokens: 4096, parameters: { min_p: { type: 'float', accepted: true } } },
  ],
};

describe('Catalog', () => {
  it('picks the model asked for, else the default one', async () => {
    const catalog = new Catalog();
    await catalog.load({ models: async () => response });
    expect(catalog.model('a')?.id).toBe('a');
    expect(catalog.model(null)?.id).toBe('b');
    expect(catalog.model('gone')?.id).toBe('b');
    expect(catalog.maxMessageLength).toBe(8000);
  });

  it('the regenerate menu offers its names in its order, as far as the model has and accepts them', async () => {
    const catalog = new Catalog();
    await catalog.load({ models: async () => response });
    expect(REGENERATE_PARAMS).toEqual(['temperature', 'top_p', 'top_k', 'max_tokens', 'seed']);
    expect(catalog.regenerateFields('a').map(([name]) => name)).toEqual(['temperature', 'seed']);
    expect(catalog.regenerateFields('b')).toEqual([]);
  });

  it('a model is named by its label (else its id); one whose endpoint does not answer is marked in the picker', async () => {
    const catalog = new Catalog();
    await catalog.load({ models: async () => response });
    expect(catalog.label('a')).toBe('A');
    expect(catalog.label('gone')).toBe('gone');
    expect(pickerLabel({ label: 'A', reachable: true })).toBe('A');
    expect(pickerLabel({ label: 'A' })).toBe('A');
    expect(pickerLabel({ label: 'A', reachable: false })).toBe('A (not responding)');
  });

  it('a catalog that cannot be loaded is empty', async () => {
    const catalog = new Catalog();
    await catalog.load({ models: async () => Promise.reject(new Error('down')) });
    expect(catalog.models).toEqual([]);
    expect(catalog.model('a')).toBeUndefined();
  });
});

describe('labels', () => {
  it('known names have their wording; unknown ones a readable fallback', () => {
    expect(paramLabel('top_p')).toBe('Top P');
    expect(paramLabel('logit_bias')).toBe('Logit bias');
    expect(paramLabel('min-p')).toBe('Min p');
    expect(unsetText('seed')).toBe('Random');
    expect(unsetText('logit_bias')).toBe('Default');
  });
});
