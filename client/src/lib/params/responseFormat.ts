// The response format field's draft (what the user is typing) <-> a `response_format` value. Only
// a valid draft gives a value to save; an invalid one says why, field by field.
import type { ResponseFormat } from '../api/types';
import { DEFAULT_MAX_SCHEMA_BYTES, schemaBytes, validSchemaName } from './params';

export type FormatMode = 'none' | 'json_object' | 'json_schema';

/** The name a new JSON Schema gets. */
export const DEFAULT_SCHEMA_NAME = 'answer';

export interface FormatDraft {
  mode: FormatMode;
  name: string;
  strict: boolean;
  /** The schema as typed (JSON). */
  schemaText: string;
  /** Kept from the value it was loaded from (the panel has no field for it). */
  description?: string | undefined;
}

/** What a draft comes to: a value to save (null: unset), or why it cannot be saved yet. */
export type DraftResult =
  | { ok: true; value: ResponseFormat | null }
  | { ok: false; nameError: string | null; schemaError: string | null; incomplete: boolean };

export function emptyDraft(): FormatDraft {
  return { mode: 'none', name: DEFAULT_SCHEMA_NAME, strict: false, schemaText: '' };
}

/**
 * The draft showing `value`. Unset (null) keeps the name and schema typed before (`previous`), so
 * going to None and back does not lose them.
 */
export function draftFromValue(value: unknown, previous: FormatDraft = emptyDraft()): FormatDraft {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ...previous, mode: 'none' };
  const v = value as { type?: unknown; json_schema?: unknown };
  if (v.type === 'json_object') return { ...previous, mode: 'json_object' };
  if (v.type !== 'json_schema' || typeof v.json_schema !== 'object' || v.json_schema === null) return { ...previous, mode: 'none' };
  const spec = v.json_schema as { name?: unknown; schema?: unknown; strict?: unknown; description?: unknown };
  return {
    mode: 'json_schema',
    name: typeof spec.name === 'string' ? spec.name : DEFAULT_SCHEMA_NAME,
    strict: spec.strict === true,
    schemaText: spec.schema === undefined ? '' : JSON.stringify(spec.schema, null, 2),
    description: typeof spec.description === 'string' ? spec.description : undefined,
  };
}

/** "12.5 KiB" / "900 bytes". */
function size(bytes: number): string {
  return bytes >= 1024 ? `${(bytes / 1024).toFixed(1).replace(/\.0$/, '')} KiB` : `${bytes} bytes`;
}

/** The value of a draft, or why there is none yet. `maxBytes`: the most bytes of the serialised schema. */
export function valueFromDraft(draft: FormatDraft, maxBytes = DEFAULT_MAX_SCHEMA_BYTES): DraftResult {
  if (draft.mode === 'none') return { ok: true, value: null };
  if (draft.mode === 'json_object') return { ok: true, value: { type: 'json_object' } };

  const nameError = validSchemaName(draft.name) ? null : 'Use 1 to 64 letters, digits, “_” or “-”.';
  let schemaError: string | null = null;
  let schema: Record<string, unknown> | null = null;
  const incomplete = draft.schemaText.trim() === '';
  if (!incomplete) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(draft.schemaText);
    } catch (e) {
      schemaError = `Not valid JSON (${e instanceof Error ? e.message : String(e)}).`;
    }
    if (schemaError === null) {
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        schemaError = 'A JSON Schema must be a JSON object ({ … }).';
      } else {
        const bytes = schemaBytes(parsed);
        if (bytes > maxBytes) schemaError = `The schema is ${size(bytes)}; at most ${size(maxBytes)} are accepted.`;
        else schema = parsed as Record<string, unknown>;
      }
    }
  }
  if (nameError !== null || schema === null) return { ok: false, nameError, schemaError, incomplete };
  return {
    ok: true,
    value: {
      type: 'json_schema',
      json_schema: {
        name: draft.name,
        schema,
        ...(draft.strict ? { strict: true } : {}),
        ...(draft.description !== undefined ? { description: draft.description } : {}),
      },
    },
  };
}
