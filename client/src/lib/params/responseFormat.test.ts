import { describe, expect, it } from 'vitest';
import { DEFAULT_SCHEMA_NAME, draftFromValue, emptyDraft, valueFromDraft, type FormatDraft } from './responseFormat';

const SCHEMA = { type: 'object', properties: { name: { type: 'string' }, age: { type: 'integer' } }, required: ['name', 'age'] };
const draft = (over: Partial<FormatDraft> = {}): FormatDraft => ({ ...emptyDraft(), mode: 'json_schema', schemaText: JSON.stringify(SCHEMA), ...over });

describe('valueFromDraft', () => {
  it('None unsets; JSON object needs nothing else', () => {
    expect(valueFromDraft(emptyDraft())).toEqual({ ok: true, value: null });
    expect(valueFromDraft({ ...emptyDraft(), mode: 'json_object', schemaText: 'not json' })).toEqual({ ok: true, value: { type: 'json_object' } });
  });

  it('a JSON Schema with a name, strict only when checked', () => {
    expect(valueFromDraft(draft())).toEqual({
      ok: true,
      value: { type: 'json_schema', json_schema: { name: DEFAULT_SCHEMA_NAME, schema: SCHEMA } },
    });
    expect(valueFromDraft(draft({ name: 'person-v2_1', strict: true }))).toEqual({
      ok: true,
      value: { type: 'json_schema', json_schema: { name: 'person-v2_1', schema: SCHEMA, strict: true } },
    });
  });

  it('keeps a description it was loaded with', () => {
    const r = valueFromDraft(draft({ description: 'A person' }));
    expect(r.ok && r.value).toEqual({ type: 'json_schema', json_schema: { name: 'answer', schema: SCHEMA, description: 'A person' } });
  });

  it('refuses invalid JSON, a schema that is not an object, and a bad name', () => {
    const broken = valueFromDraft(draft({ schemaText: '{"type": ' }));
    expect(broken.ok).toBe(false);
    expect(!broken.ok && broken.schemaError).toMatch(/^Not valid JSON/);
    expect(!broken.ok && broken.nameError).toBeNull();

    const array = valueFromDraft(draft({ schemaText: '[1]' }));
    expect(!array.ok && array.schemaError).toMatch(/must be a JSON object/);
    expect(!valueFromDraft(draft({ schemaText: 'null' })).ok).toBe(true);

    for (const name of ['', 'a b', 'ü', 'x'.repeat(65)]) {
      const r = valueFromDraft(draft({ name }));
      expect(!r.ok && r.nameError, name).toMatch(/1 to 64/);
      expect(!r.ok && r.schemaError).toBeNull();
    }
  });

  it('an empty schema is incomplete, not an error', () => {
    const r = valueFromDraft(draft({ schemaText: '  \n' }));
    expect(r).toEqual({ ok: false, nameError: null, schemaError: null, incomplete: true });
  });

  it('refuses a schema over the byte limit (UTF-8, serialised compactly)', () => {
    const schema = { description: 'é'.repeat(20) }; // {"description":"…"}: 16 + 40 + 2 bytes
    const text = JSON.stringify(schema, null, 8);
    expect(valueFromDraft(draft({ schemaText: text }), 58).ok).toBe(true);
    const over = valueFromDraft(draft({ schemaText: text }), 57);
    expect(!over.ok && over.schemaError).toBe('The schema is 58 bytes; at most 57 bytes are accepted.');
    const big = valueFromDraft(draft({ schemaText: JSON.stringify({ d: 'x'.repeat(20_000) }) }), 16_384);
    expect(!big.ok && big.schemaError).toMatch(/19\.5 KiB; at most 16 KiB/);
  });
});

describe('draftFromValue', () => {
  it('shows a stored value, the schema pretty-printed', () => {
    const value = { type: 'json_schema', json_schema: { name: 'person', schema: SCHEMA, strict: true } };
    const d = draftFromValue(value);
    expect(d).toEqual({ mode: 'json_schema', name: 'person', strict: true, schemaText: JSON.stringify(SCHEMA, null, 2), description: undefined });
    expect(valueFromDraft(d)).toEqual({ ok: true, value });
    expect(draftFromValue({ type: 'json_object' }).mode).toBe('json_object');
  });

  it('unset (or unreadable) keeps what was typed, in mode None', () => {
    const typed = draft({ name: 'mine', schemaText: '{"x": ' });
    expect(draftFromValue(null, typed)).toEqual({ ...typed, mode: 'none' });
    expect(draftFromValue({ type: 'text' }, typed)).toEqual({ ...typed, mode: 'none' });
    expect(draftFromValue('json_object', typed).mode).toBe('none');
  });
});
