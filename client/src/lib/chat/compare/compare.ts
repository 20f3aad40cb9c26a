// The compare view's model, pure: which versions to show first, the rows of the parameter and
// stats table (and which differ), and how their values read.
import type { Message, ParamValue, SamplingParams } from '../../api';
import { paramLabel, unsetText } from '../../params/labels';
import { copyParameters } from './reuse';

/** The parameters shown first, in this order; any other set parameter follows, by name. */
export const PARAM_ORDER = ['temperature', 'top_p', 'top_k', 'min_p', 'max_tokens', 'seed', 'stop', 'response_format', 'system_prompt'];

/** The most versions side by side. */
export const MAX_SHOWN = 3;

/** A long text (system prompt, response format) shows its first this many characters. */
export const SHORT_LENGTH = 60;

/**
 * The versions shown when the view opens (0-based, ascending): the current one and the one
 * before it (the first two when the current is the first).
 */
export function defaultSelection(count: number, current: number): number[] {
  if (count < 2) return count === 1 ? [0] : [];
  const at = Math.min(Math.max(current, 0), count - 1);
  return at > 0 ? [at - 1, at] : [0, 1];
}

/**
 * Toggles version `index` in `selected` (kept ascending, between 2 and MAX_SHOWN of them):
 * unchanged when that would leave too few or too many.
 */
export function toggleVersion(selected: readonly number[], index: number): number[] {
  if (selected.includes(index)) return selected.length > 2 ? selected.filter((i) => i !== index) : [...selected];
  if (selected.length >= MAX_SHOWN) return [...selected];
  return [...selected, index].sort((a, b) => a - b);
}

/** One cell: the text shown, and the full text when that is shortened. */
export interface Cell {
  text: string;
  full?: string;
  /** Not set: the default applied. */
  unset?: boolean;
}

export interface Row {
  key: string;
  label: string;
  cells: Cell[];
  /** The versions' values are not all the same. */
  differs: boolean;
}

/** A JSON value with its object keys sorted (two equal objects read the same). */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

function shorten(text: string): Cell {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > SHORT_LENGTH || flat !== text ? { text: flat.length > SHORT_LENGTH ? `${flat.slice(0, SHORT_LENGTH - 1)}…` : flat, full: text } : { text };
}

/** How a parameter's value reads in the table. */
export function formatParam(name: string, value: ParamValue | null | undefined): Cell {
  if (value === null || value === undefined || value === '') return { text: unsetText(name), unset: true };
  if (typeof value === 'number') return { text: String(value) };
  if (typeof value === 'string') return name === 'system_prompt' ? shorten(value) : { text: value };
  if (Array.isArray(value)) return { text: JSON.stringify(value) };
  const json = canonical(value);
  return json.length > SHORT_LENGTH ? { text: `${json.slice(0, SHORT_LENGTH - 1)}…`, full: json } : { text: json };
}

const NONE: Cell = { text: '—', unset: true };

/** A duration in ms: "850 ms", "2.4 s", "1 min 5 s". */
export function formatDuration(ms: number | undefined): Cell {
  if (ms === undefined || !Number.isFinite(ms)) return NONE;
  if (ms < 1000) return { text: `${Math.round(ms)} ms` };
  if (ms < 60_000) return { text: `${(ms / 1000).toFixed(1)} s` };
  const s = Math.round(ms / 1000);
  return { text: `${Math.floor(s / 60)} min ${s % 60} s` };
}

function num(n: number | undefined, digits = 0): Cell {
  return n === undefined || !Number.isFinite(n) ? NONE : { text: n.toFixed(digits) };
}

function tokens(m: Message): Cell {
  if (!m.usage) return NONE;
  return { text: `${m.usage.completion_tokens}${m.usage.estimated ? ' (estimated)' : ''}` };
}

function outcome(m: Message): Cell {
  const parts = [m.finish_reason, m.status].filter((p): p is string => !!p);
  return parts.length ? { text: [...new Set(parts)].join(' / ') } : NONE;
}

/** The model of a version: the one in its parameters, else the one that answered. */
export function modelOf(m: Message): string | undefined {
  const p = m.parameters?.model;
  return typeof p === 'string' && p ? p : m.model;
}

/** The parameter names any of `params` set (besides the model), in PARAM_ORDER then by name. */
export function setParams(params: readonly (SamplingParams | undefined)[]): string[] {
  const names = new Set<string>();
  for (const p of params) {
    for (const [name, value] of Object.entries(p ?? {})) {
      if (name !== 'model' && value !== null && value !== undefined && value !== '') names.add(name);
    }
  }
  const known = PARAM_ORDER.filter((n) => names.has(n));
  const others = [...names].filter((n) => !PARAM_ORDER.includes(n)).sort();
  return [...known, ...others];
}

function differ(cells: readonly Cell[]): boolean {
  const key = (c: Cell) => (c.unset ? '\u0000unset' : (c.full ?? c.text));
  return cells.some((c) => key(c) !== key(cells[0]!));
}

function row(key: string, label: string, cells: Cell[]): Row {
  return { key, label, cells, differs: differ(cells) };
}

/** The table: model, every parameter any version set, then the stats; one cell per version. */
export function compareRows(versions: readonly Message[]): Row[] {
  const model = (m: Message): Cell => {
    const id = modelOf(m);
    return id ? { text: id } : NONE;
  };
  return [
    row('model', 'Model', versions.map(model)),
    ...setParams(versions.map((v) => v.parameters)).map((name) =>
      row(name, paramLabel(name), versions.map((v) => formatParam(name, v.parameters?.[name]))),
    ),
    row('completion_tokens', 'Tokens (completion)', versions.map(tokens)),
    row('tokens_per_second', 'Tokens/s', versions.map((v) => num(v.tokens_per_second, 1))),
    row('ttft_ms', 'TTFT (ms)', versions.map((v) => num(v.ttft_ms))),
    row('duration_ms', 'Duration', versions.map((v) => formatDuration(v.duration_ms))),
    row('finish', 'Finish reason / status', versions.map(outcome)),
  ];
}

/** A version's parameters to regenerate with, as they were (seed included); none: undefined. */
export function parametersOf(m: Message): SamplingParams | undefined {
  return copyParameters(m.parameters);
}
