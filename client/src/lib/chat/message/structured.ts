// Structured output on screen: an answer asked for JSON (its parameters had a `response_format`)
// is read as JSON — as the server reads it — and shown as a tree of its values, with the server's
// verdict (`message.structured`). Pure helpers; the components are StructuredAnswer and JsonNode.
import type { StructuredCheck } from '../../api/types';

/**
 * The JSON an answer's text holds, as the server reads it: the whole text (trimmed), or the inside
 * of one fenced code block (```json … ```) that is all of it — models sometimes wrap their JSON.
 */
export function jsonText(text: string): string {
  const t = text.trim();
  if (!t.startsWith('```')) return t;
  const rest = t.slice(3);
  if (!rest.endsWith('```')) return t;
  const inner = rest.slice(0, -3);
  const lineEnd = inner.indexOf('\n');
  // The info string (`json`) runs to the first line break and holds no backtick.
  if (lineEnd < 0 || inner.slice(0, lineEnd).includes('`')) return t;
  return inner.slice(lineEnd + 1).trim();
}

/** The answer's JSON (`{value}`), or null when its text is not JSON. */
export function parseAnswer(text: string): { value: unknown } | null {
  const json = jsonText(text);
  if (json === '') return null;
  try {
    return { value: JSON.parse(json) as unknown };
  } catch {
    return null;
  }
}

/** An error's place for display: its JSON Pointer, `/` for the whole answer. */
export function errorPath(path: string): string {
  return path === '' ? '/' : path;
}

/** "1 error", "3 errors". */
export function errorsText(count: number): string {
  return `${count} ${count === 1 ? 'error' : 'errors'}`;
}

/**
 * The badge of an answer's verdict, in words: "Valid JSON", "N errors" (JSON that misses the
 * format), or "Not valid JSON" (text that does not parse; while streaming, the count).
 */
export function verdictText(check: StructuredCheck, parses: boolean, streaming = false): string {
  if (check.valid) return 'Valid JSON';
  if (parses || streaming) return errorsText(check.error_count);
  return 'Not valid JSON';
}

export type JsonKind = 'object' | 'array' | 'string' | 'number' | 'boolean' | 'null';

export function kindOf(value: unknown): JsonKind {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  switch (typeof value) {
    case 'object':
      return 'object';
    case 'string':
      return 'string';
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    default:
      return 'null'; // not JSON (undefined, a function): shown as null, as JSON.stringify would
  }
}

/** An object's or array's children as [key or index, value]; none for a scalar. */
export function childrenOf(value: unknown): [string, unknown][] {
  if (Array.isArray(value)) return value.map((v, i) => [String(i), v]);
  if (typeof value === 'object' && value !== null) return Object.entries(value);
  return [];
}

/** What a collapsed object or array says of itself: "2 keys", "1 item", "empty". */
export function sizeText(value: unknown): string {
  const n = childrenOf(value).length;
  if (n === 0) return 'empty';
  return Array.isArray(value) ? `${n} ${n === 1 ? 'item' : 'items'}` : `${n} ${n === 1 ? 'key' : 'keys'}`;
}

/** A scalar as JSON writes it: strings quoted (so `"36"` and `36` differ), `true`, `null`. */
export function scalarText(value: unknown): string {
  return kindOf(value) === 'null' ? 'null' : JSON.stringify(value);
}

/** The JSON pretty-printed (two spaces), as "Copy as JSON" copies it. */
export function prettyJson(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/** Children shown at first (and added per "Show more") under one object or array. */
export const CHILDREN_PAGE = 100;
/** Objects and arrays above this depth start open; deeper ones start closed (and unrendered). */
export const OPEN_DEPTH = 2;
