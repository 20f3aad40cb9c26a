// The pure side of the parameter panel: form state <-> the chat's `parameters`.
import type { ModelInfo, ParamInfo, ParamName, SamplingParams } from './api/types';

export const NUMERIC_PARAMS = [
  'temperature',
  'top_p',
  'top_k',
  'max_tokens',
  'repetition_penalty',
  'frequency_penalty',
  'presence_penalty',
] as const;
export type NumericParam = (typeof NUMERIC_PARAMS)[number];

export const INTEGER_PARAMS: ReadonlySet<ParamName> = new Set<ParamName>(['top_k', 'max_tokens', 'seed']);

export const PARAM_LABELS: Record<ParamName, string> = {
  temperature: 'Temperature',
  top_p: 'Top P',
  top_k: 'Top K',
  max_tokens: 'Max tokens',
  repetition_penalty: 'Repetition penalty',
  frequency_penalty: 'Frequency penalty',
  presence_penalty: 'Presence penalty',
  seed: 'Seed',
  stop: 'Stop sequences',
  system_prompt: 'System prompt',
};

/**
 * Fallback ranges when the model does not give one (the server's documented bounds). `max` is
 * the slider's end; `open` marks a parameter the server does not cap (typed values above the
 * slider are kept).
 */
const FALLBACK: Record<NumericParam, { min: number; max: number; min_exclusive?: boolean; open?: boolean }> = {
  temperature: { min: 0, max: 2 },
  top_p: { min: 0, max: 1, min_exclusive: true },
  top_k: { min: 1, max: 200, open: true },
  max_tokens: { min: 1, max: 32768 },
  repetition_penalty: { min: 0, max: 2, min_exclusive: true },
  frequency_penalty: { min: -2, max: 2 },
  presence_penalty: { min: -2, max: 2 },
};

export const MAX_STOP_DEFAULT = 4;

/** Where a slider rests while its parameter is unset and the model gives no default. */
export const NEUTRAL: Record<NumericParam, number> = {
  temperature: 1,
  top_p: 1,
  top_k: 40,
  max_tokens: 1024,
  repetition_penalty: 1,
  frequency_penalty: 0,
  presence_penalty: 0,
};

/** The panel's state: `null` / empty means "unset" (the server's default), never sent. */
export interface ParamForm {
  model: string | null;
  temperature: number | null;
  top_p: number | null;
  top_k: number | null;
  max_tokens: number | null;
  repetition_penalty: number | null;
  frequency_penalty: number | null;
  presence_penalty: number | null;
  seed: number | null;
  stop: string[];
  system_prompt: string;
}

export function emptyForm(): ParamForm {
  return {
    model: null,
    temperature: null,
    top_p: null,
    top_k: null,
    max_tokens: null,
    repetition_penalty: null,
    frequency_penalty: null,
    presence_penalty: null,
    seed: null,
    stop: [],
    system_prompt: '',
  };
}

/** The form for a chat's stored parameters. */
export function formFromParams(p: SamplingParams | null | undefined): ParamForm {
  const form = emptyForm();
  if (!p) return form;
  if (typeof p.model === 'string' && p.model) form.model = p.model;
  for (const name of NUMERIC_PARAMS) {
    const v = p[name];
    if (typeof v === 'number' && Number.isFinite(v)) form[name] = v;
  }
  if (typeof p.seed === 'number' && Number.isFinite(p.seed)) form.seed = p.seed;
  if (Array.isArray(p.stop)) form.stop = p.stop.filter((s) => typeof s === 'string');
  if (typeof p.system_prompt === 'string') form.system_prompt = p.system_prompt;
  return form;
}

/** The effective range of a numeric parameter for a model. */
export function rangeOf(name: NumericParam, info: ParamInfo | undefined, model?: ModelInfo): {
  min: number;
  max: number;
  minExclusive: boolean;
  step: number;
  /** The upper bound values are clamped to (Infinity when the server sets none). */
  hardMax: number;
} {
  const fb = FALLBACK[name];
  const min = info?.min ?? fb.min;
  let max = info?.max ?? fb.max;
  if (name === 'max_tokens' && info?.max === undefined && model?.max_tokens) max = model.max_tokens;
  const minExclusive = info?.min_exclusive ?? fb.min_exclusive ?? false;
  const step = INTEGER_PARAMS.has(name) ? 1 : max - min > 10 ? 0.1 : 0.01;
  const hardMax = info?.max !== undefined || !fb.open ? max : Infinity;
  return { min, max, minExclusive, step, hardMax };
}

/** Whether the model accepts a parameter (unknown model: assume yes). */
export function accepts(model: ModelInfo | undefined, name: ParamName): boolean {
  return model?.parameters?.[name]?.accepted ?? true;
}

/**
 * Brings a number into range: NaN/∞ → null (unset); integers rounded; clamped to [min, max].
 * An exclusive minimum clamps to the smallest step above it.
 */
export function clampParam(name: NumericParam, value: number | null | undefined, info?: ParamInfo, model?: ModelInfo): number | null {
  if (value === null || value === undefined || typeof value !== 'number' || !Number.isFinite(value)) return null;
  const { min, hardMax, minExclusive, step } = rangeOf(name, info, model);
  let v = INTEGER_PARAMS.has(name) ? Math.round(value) : value;
  if (v > hardMax) v = hardMax;
  if (minExclusive ? v <= min : v < min) v = minExclusive ? min + step : min;
  if (!INTEGER_PARAMS.has(name)) v = Math.round(v * 1e6) / 1e6;
  return v;
}

/**
 * The `parameters` to PATCH for the form: unset fields omitted, parameters the model does not
 * accept omitted, numbers clamped, stop sequences cleaned (trimmed of empties, deduplicated,
 * at most `max_items`, each at most `max_length`).
 */
export function buildParameters(form: ParamForm, model?: ModelInfo): SamplingParams {
  const out: SamplingParams = {};
  if (form.model) out.model = form.model;
  const info = (name: ParamName): ParamInfo | undefined => model?.parameters?.[name];
  for (const name of NUMERIC_PARAMS) {
    if (!accepts(model, name)) continue;
    const v = clampParam(name, form[name], info(name), model);
    if (v !== null) out[name] = v;
  }
  if (accepts(model, 'seed') && typeof form.seed === 'number' && Number.isFinite(form.seed)) {
    out.seed = Math.max(0, Math.round(form.seed));
  }
  if (accepts(model, 'stop')) {
    const maxItems = info('stop')?.max_items ?? MAX_STOP_DEFAULT;
    const maxLength = info('stop')?.max_length;
    const seen = new Set<string>();
    const stop: string[] = [];
    for (const raw of form.stop) {
      if (typeof raw !== 'string' || raw === '') continue;
      const s = maxLength !== undefined ? raw.slice(0, maxLength) : raw;
      if (seen.has(s)) continue;
      seen.add(s);
      stop.push(s);
      if (stop.length >= maxItems) break;
    }
    if (stop.length > 0) out.stop = stop;
  }
  if (accepts(model, 'system_prompt') && form.system_prompt.trim() !== '') {
    const maxLength = info('system_prompt')?.max_length;
    out.system_prompt = maxLength !== undefined ? form.system_prompt.slice(0, maxLength) : form.system_prompt;
  }
  return out;
}

/** Adds a stop sequence if there is room; returns the new list (unchanged when refused). */
export function addStop(stop: string[], value: string, maxItems = MAX_STOP_DEFAULT, maxLength?: number): string[] {
  if (value === '' || stop.length >= maxItems) return stop;
  const s = maxLength !== undefined ? value.slice(0, maxLength) : value;
  return stop.includes(s) ? stop : [...stop, s];
}

/** Stable comparison of two parameter objects (to skip PATCHes that change nothing). */
export function sameParameters(a: SamplingParams, b: SamplingParams): boolean {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

function sortKeys(p: SamplingParams): [string, unknown][] {
  return Object.entries(p)
    .filter(([, v]) => v !== undefined && v !== null)
    .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
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
