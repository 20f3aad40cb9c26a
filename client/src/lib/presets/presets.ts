// Presets on screen: their names in pickers, a one-line summary of their parameters, the order
// the server lists them in, and what a picker shows for a chat. Pure: unit-tested.
import type { ParamValue, Preset, SamplingParams } from '../api';
import { paramLabel } from '../params/labels';

/** What the picker shows for parameters set by hand (no preset). */
export const CUSTOM = '';

/** "House style (shared)" for a shared preset, else its name. */
export function presetLabel(preset: Pick<Preset, 'name' | 'shared'>): string {
  return preset.shared ? `${preset.name} (shared)` : preset.name;
}

/** The server's order: shared presets first, then the user's own, each by name (case-insensitive). */
export function sortPresets(presets: readonly Preset[]): Preset[] {
  return [...presets].sort(
    (a, b) =>
      Number(b.shared) - Number(a.shared) ||
      a.name.localeCompare(b.name, undefined, { sensitivity: 'base' }) ||
      a.id.localeCompare(b.id),
  );
}

/** The picker's value for a chat: its preset when it is one of `presets`, else CUSTOM. */
export function pickerValue(presetId: string | null | undefined, presets: readonly Pick<Preset, 'id'>[]): string {
  return presetId && presets.some((p) => p.id === presetId) ? presetId : CUSTOM;
}

const MAX_TEXT = 24;

function short(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > MAX_TEXT ? `${line.slice(0, MAX_TEXT - 1).trimEnd()}…` : line;
}

function valueText(value: ParamValue): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return `“${short(value)}”`;
  if (Array.isArray(value)) return value.map((v) => `“${short(v)}”`).join(', ');
  return value.type === 'json_schema' ? `schema ${value.json_schema.name}` : 'JSON';
}

/** "temperature 0.2 · max tokens 40": the parameters that are set, model first; "defaults" when none are. */
export function summarizeParameters(params: SamplingParams | null | undefined): string {
  const parts: string[] = [];
  const entries = Object.entries(params ?? {}).filter(
    (entry): entry is [string, ParamValue] => entry[1] !== null && entry[1] !== undefined && entry[1] !== '',
  );
  entries.sort(([a], [b]) => Number(b === 'model') - Number(a === 'model'));
  for (const [name, value] of entries) {
    if (Array.isArray(value) && value.length === 0) continue;
    const label = name === 'model' ? 'model' : paramLabel(name);
    parts.push(`${label[0]!.toLowerCase()}${label.slice(1)} ${name === 'model' ? String(value) : valueText(value)}`);
  }
  return parts.length ? parts.join(' · ') : 'defaults';
}
