import { describe, expect, it } from 'vitest';
import {
  childrenOf,
  errorPath,
  errorsText,
  jsonText,
  kindOf,
  parseAnswer,
  prettyJson,
  scalarText,
  sizeText,
  verdictText,
} from './structured';

describe('jsonText (as the server reads an answer)', () => {
  it('trims the whole text', () => {
    expect(jsonText('  {"a":1} \n')).toBe('{"a":1}');
  });

  it('strips one fence that wraps everything, whatever its info string', () => {
    expect(jsonText('```json\n{"a":1}\n```')).toBe('{"a":1}');
    expect(jsonText('\n```json\n  {"a":1}\n```  ')).toBe('{"a":1}');
    expect(jsonText('```\n[1]\n```')).toBe('[1]');
    expect(jsonText('```JSON \r\n{"a":1}\r\n```')).toBe('{"a":1}');
  });

  it('leaves text alone when the fence does not wrap all of it', () => {
    expect(jsonText('text ```json\n{}\n```')).toBe('text ```json\n{}\n```');
    expect(jsonText('```json\n{}\n``` and more')).toBe('```json\n{}\n``` and more');
    expect(jsonText('```json {}```')).toBe('```json {}```'); // no line break: no info string
    expect(jsonText('```')).toBe('```');
    expect(jsonText('```a`b\n{}\n```')).toBe('```a`b\n{}\n```');
  });
});

describe('parseAnswer', () => {
  it('parses JSON, fenced or not', () => {
    expect(parseAnswer('{"name": "Ada", "age": 36}')).toEqual({ value: { name: 'Ada', age: 36 } });
    expect(parseAnswer('```json\n[1, "two", null]\n```')).toEqual({ value: [1, 'two', null] });
    expect(parseAnswer(' 42 ')).toEqual({ value: 42 });
    expect(parseAnswer('null')).toEqual({ value: null });
  });

  it('is null for text that is not JSON', () => {
    expect(parseAnswer('')).toBeNull();
    expect(parseAnswer('   ')).toBeNull();
    expect(parseAnswer('{"name": "Ada", ')).toBeNull();
    expect(parseAnswer('Here is the JSON: {"a": 1}')).toBeNull();
    expect(parseAnswer('```json\n{"a": }\n```')).toBeNull();
  });
});

describe('the verdict', () => {
  const valid = { valid: true, errors: [], error_count: 0 };
  const two = {
    valid: false,
    errors: [
      { path: '/name', message: '3 is not of type "string"' },
      { path: '', message: '"age" is a required property' },
    ],
    error_count: 2,
  };

  it('says in words whether the JSON follows the format', () => {
    expect(verdictText(valid, true)).toBe('Valid JSON');
    expect(verdictText(two, true)).toBe('2 errors');
    expect(verdictText({ ...two, error_count: 1 }, true)).toBe('1 error');
    expect(verdictText({ valid: false, errors: [{ path: '', message: 'not valid JSON: EOF' }], error_count: 1 }, false)).toBe('Not valid JSON');
    expect(verdictText(two, false, true)).toBe('2 errors');
  });

  it('shows the root path as /', () => {
    expect(errorPath('')).toBe('/');
    expect(errorPath('/items/0/name')).toBe('/items/0/name');
    expect(errorsText(0)).toBe('0 errors');
  });
});

describe('the tree model', () => {
  it('tells the kinds of JSON values apart', () => {
    expect([{}, [], 'x', 1.5, false, null].map(kindOf)).toEqual(['object', 'array', 'string', 'number', 'boolean', 'null']);
  });

  it('lists children by key or index, in order', () => {
    expect(childrenOf({ b: 1, a: [2] })).toEqual([
      ['b', 1],
      ['a', [2]],
    ]);
    expect(childrenOf(['x', 'y'])).toEqual([
      ['0', 'x'],
      ['1', 'y'],
    ]);
    expect(childrenOf('scalar')).toEqual([]);
    expect(childrenOf(null)).toEqual([]);
  });

  it('sizes containers in words', () => {
    expect(sizeText({ a: 1 })).toBe('1 key');
    expect(sizeText({ a: 1, b: 2 })).toBe('2 keys');
    expect(sizeText([1])).toBe('1 item');
    expect(sizeText([1, 2, 3])).toBe('3 items');
    expect(sizeText({})).toBe('empty');
  });

  it('writes scalars so their types differ: strings quoted and escaped', () => {
    expect(scalarText('36')).toBe('"36"');
    expect(scalarText(36)).toBe('36');
    expect(scalarText('say "hi"\n')).toBe('"say \\"hi\\"\\n"');
    expect(scalarText(true)).toBe('true');
    expect(scalarText(null)).toBe('null');
  });

  it('copies pretty-printed JSON', () => {
    expect(prettyJson({ name: 'Ada', tags: [1] })).toBe('{\n  "name": "Ada",\n  "tags": [\n    1\n  ]\n}');
  });
});
