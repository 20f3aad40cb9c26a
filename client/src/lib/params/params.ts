// The pure side of the parameter panel: form state <-> a chat's `parameters`. Which parameters
// exist, their types and bounds are the server's (`GET /api/models`, `models[].parameters`): the
// functions here take a parameter's spec and know nothing of particular names.
import type { ModelInfo, ParamSpec, ParamValue, ResponseFormat, SamplingParams } from '../api/types';

/** A list parameter whose spec gives no `max_items` holds at most this many entries. */
export const DEFAULT_MAX_ITEMS = 4;
/** A response format's schema holds at most this many bytes (serialised) when its spec gives no `max_length`. */
export const DEFAULT_MAX_SCHEMA_BYTES = 16 * 1024;

/**
 * The panel's state, keyed by parameter name. A missing key, `null`, `''` or `[]` means "unset"
 * (the server's default) and is never sent. `model` is the chosen model (null: the default one).
 * A response format is an object (`{type: 'json_object'}` or `{type: 'json_schema', …}`).
 */
export type ParamForm = { model: string | null } & Record<string, ParamValue | null | undefined>;

export function emptyForm(): ParamForm {
  return { model: null };
}

/** The form for a chat's stored parameters (values of an unexpected shape are left out). */
export function formFromParams(p: SamplingParams | null | undefined): ParamForm {
  const form = emptyForm();
  if (!p) return form;
  for (const [name, value] of Object.entries(p)) {
    if (name === 'model') {
      if (typeof value === 'string' && value) form.model = value;
    } else if (typeof value === 'number') {
      if (Number.isFinite(value)) form[name] = value;
    } else if (typeof value === 'string') {
      form[name] = value;
    } else if (Array.isArray(value)) {
      form[name] = value.filter((s) => typeof s === 'string');
    } else if (isRecord(value)) {
      // A response format (the only object value); a copy, not the chat's own object.
      const format = cleanResponseFormat(value, Infinity);
      if (format) form[name] = copyJson(format);
    }
  }
  return form;
}

/** The model the form is for: the chosen one, else the catalog's default, else the first. */
export function modelOf(models: readonly ModelInfo[], chosen: string | null | undefined, defaultId?: string | null): ModelInfo | undefined {
  return models.find((m) => m.id === chosen) ?? models.find((m) => m.id === defaultId) ?? models[0];
}

/** Whether the model accepts a parameter (unknown model or parameter: assume yes). */
export function accepts(model: ModelInfo | undefined, name: string): boolean {
  return model?.parameters?.[name]?.accepted ?? true;
}

export interface Range {
  /** -Infinity when the server sets no minimum. */
  min: number;
  /** Infinity when the server sets no maximum. */
  max: number;
  minExclusive: boolean;
  step: number;
  /** A slider fits: a float with both bounds. */
  slider: boolean;
}

/** The range of a numeric parameter (float or integer) from its spec. */
export function rangeOf(spec: ParamSpec): Range {
  const min = spec.min ?? -Infinity;
  const max = spec.max ?? Infinity;
  const bounded = Number.isFinite(min) && Number.isFinite(max);
  const step = spec.type === 'integer' ? 1 : bounded && max - min > 10 ? 0.1 : 0.01;
  return { min, max, minExclusive: spec.min_exclusive ?? false, step, slider: spec.type === 'float' && bounded };
}

/**
 * Where an unset float's slider rests: the server's default, else the value that changes nothing
 * for a sampling parameter — 0 for a range around zero (a penalty), else 1 (a factor or a
 * probability) — brought into range.
 */
export function restingValue(spec: ParamSpec): number {
  if (spec.default !== undefined) return spec.default;
  const { min, max } = rangeOf(spec);
  const neutral = min < 0 ? 0 : 1;
  return Math.min(max, Math.max(min, neutral));
}

/**
 * Brings a number into range: NaN/∞ → null (unset); integers rounded; clamped to [min, max].
 * An exclusive minimum clamps to the smallest step above it.
 */
export function clampParam(spec: ParamSpec, value: number | null | undefined): number | null {
  if (value === null || value === undefined || typeof value !== 'number' || !Number.isFinite(value)) return null;
  const { min, max, minExclusive, step } = rangeOf(spec);
  const integer = spec.type === 'integer';
  let v = integer ? Math.round(value) : value;
  if (v > max) v = max;
  if (minExclusive ? v <= min : v < min) v = minExclusive ? min + step : min;
  if (!integer) v = Math.round(v * 1e6) / 1e6;
  return v;
}

/** A list cleaned for sending: empties dropped, deduplicated, at most `max_items` of at most `max_length`. */
export function cleanList(spec: ParamSpec, values: readonly unknown[]): string[] {
  const maxItems = spec.max_items ?? DEFAULT_MAX_ITEMS;
  const seen = new Set<string>();
  const out: string[] = [];
  for (const raw of values) {
    if (typeof raw !== 'string' || raw === '') continue;
    const s = spec.max_length !== undefined ? raw.slice(0, spec.max_length) : raw;
    if (seen.has(s)) continue;
    seen.add(s);
    out.push(s);
    if (out.length >= maxItems) break;
  }
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function copyJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** Whether `name` can name a JSON Schema: 1 to 64 letters, digits, `_` or `-`. */
export function validSchemaName(name: string): boolean {
  return /^[A-Za-z0-9_-]{1,64}$/.test(name);
}

/** The size of a schema as the server counts it: UTF-8 bytes, serialised without spaces. */
export function schemaBytes(schema: unknown): number {
  return new TextEncoder().encode(JSON.stringify(schema) ?? '').length;
}

/**
 * A response format as sent, or null when `value` is not a valid one: `{type: 'json_object'}`, or
 * `{type: 'json_schema', json_schema: {name, schema, strict?, description?}}` with a valid name and a
 * schema object of at most `maxBytes`. Fields the server does not know are dropped. (Whether the
 * schema is a valid JSON Schema only the server says: a 422 names `parameters.response_format`.)
 */
export function cleanResponseFormat(value: unknown, maxBytes = DEFAULT_MAX_SCHEMA_BYTES): ResponseFormat | null {
  if (!isRecord(value)) return null;
  if (value.type === 'json_object') return { type: 'json_object' };
  if (value.type !== 'json_schema' || !isRecord(value.json_schema)) return null;
  const { name, schema, strict, description } = value.json_schema;
  if (typeof name !== 'string' || !validSchemaName(name) || !isRecord(schema) || schemaBytes(schema) > maxBytes) return null;
  return {
    type: 'json_schema',
    json_schema: {
      name,
      schema,
      ...(typeof strict === 'boolean' ? { strict } : {}),
      ...(typeof description === 'string' ? { description } : {}),
    },
  };
}

/** One field's value as sent, or null when unset (or not of the parameter's type). */
export function paramValue(spec: ParamSpec, value: ParamValue | null | undefined): ParamValue | null {
  switch (spec.type) {
    case 'float':
    case 'integer':
      return typeof value === 'number' ? clampParam(spec, value) : null;
    case 'text':
      if (typeof value !== 'string' || value.trim() === '') return null;
      return spec.max_length !== undefined ? value.slice(0, spec.max_length) : value;
    case 'list': {
      const list = Array.isArray(value) ? cleanList(spec, value) : [];
      return list.length > 0 ? list : null;
    }
    case 'response_format':
      return cleanResponseFormat(value, spec.max_length ?? DEFAULT_MAX_SCHEMA_BYTES);
    default:
      // A type this client does not know yet: not sent rather than sent wrong.
      return null;
  }
}

/**
 * The `parameters` to PATCH for the form: unset fields omitted, parameters the model does not
 * accept omitted, numbers clamped, texts and lists cut to their limits, a response format only
 * when valid. Without a model (the catalog could not be loaded) the values are kept as they are,
 * never dropped.
 */
export function buildParameters(form: ParamForm, model?: ModelInfo): SamplingParams {
  const out: SamplingParams = {};
  if (form.model) out.model = form.model;
  if (!model) {
    for (const [name, value] of Object.entries(form)) {
      if (name !== 'model' && value !== null && value !== undefined && value !== '' && !(Array.isArray(value) && value.length === 0)) {
        out[name] = value;
      }
    }
    return out;
  }
  for (const [name, spec] of Object.entries(model.parameters ?? {})) {
    if (name === 'model' || !spec.accepted) continue;
    const value = paramValue(spec, form[name]);
    if (value !== null) out[name] = value;
  }
  return out;
}

/** Adds an entry to a list parameter if there is room; returns the new list (unchanged when refused). */
export function addListItem(list: string[], value: string, maxItems = DEFAULT_MAX_ITEMS, maxLength?: number): string[] {
  if (value === '' || list.length >= maxItems) return list;
  const s = maxLength !== undefined ? value.slice(0, maxLength) : value;
  return list.includes(s) ? list : [...list, s];
}

/**
 * Stable comparison of two parameter objects (to skip PATCHes that change nothing): unset values
 * ignored, and the keys of objects (a response format and its schema, which the server may send
 * back in another order) compared in any order at every depth.
 */
export function sameParameters(a: SamplingParams, b: SamplingParams): boolean {
  return JSON.stringify(canonical(setValues(a))) === JSON.stringify(canonical(setValues(b)));
}

/** Whether two values of one parameter are the same (objects: in any key order). */
export function sameValue(a: ParamValue | null | undefined, b: ParamValue | null | undefined): boolean {
  return JSON.stringify(canonical(a ?? null)) === JSON.stringify(canonical(b ?? null));
}

function setValues(p: SamplingParams): Record<string, unknown> {
  return Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined && v !== null));
}

/** A copy of `value` whose objects all list their keys in one order (sorted), at every depth. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (!isRecord(value)) return value;
  // fromEntries defines own keys, `__proto__` included (a schema may name one).
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, canonical(value[key])]),
  );
}

/** Returns a function that runs `fn` once `ms` after the last call; `.flush()` runs it now. */
export function debounce<A extends unknown[]>(fn: (...args: A) => void, ms: number) {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let pending: A | null = null;
  const run = (...args: A) => {
    pending = args;
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      const p = pending;
      pending = null;
      if (p) fn(...p);
    }, ms);
  };
  run.flush = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    const p = pending;
    pending = null;
    if (p) fn(...p);
  };
  run.cancel = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    pending = null;
  };
  return run;
}
