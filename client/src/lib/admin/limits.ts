// The four per-user limits as an admin edits them: one text field each, where empty means the
// default and 0 switches the limit off for that user.
import type { LimitName, Limits } from '../api';

export const LIMITS: readonly { name: LimitName; label: string }[] = [
  { name: 'messages_per_minute', label: 'Messages per minute' },
  { name: 'concurrent_generations', label: 'Answers at once' },
  { name: 'daily_tokens', label: 'Tokens per day' },
  { name: 'monthly_tokens', label: 'Tokens per month' },
];

export type LimitsForm = Record<LimitName, string>;

/** The fields for a user's overrides: '' where the default applies. */
export function limitsForm(overrides: Limits): LimitsForm {
  const form = {} as LimitsForm;
  for (const { name } of LIMITS) form[name] = overrides[name] === null ? '' : String(overrides[name]);
  return form;
}

export type ParsedLimits = { ok: true; limits: Limits } | { ok: false; errors: Partial<Record<LimitName, string>> };

/** The overrides to send (null: back to the default), or what is wrong with each field. */
export function parseLimits(form: LimitsForm): ParsedLimits {
  const limits = {} as Limits;
  const errors: Partial<Record<LimitName, string>> = {};
  for (const { name } of LIMITS) {
    const text = form[name].trim();
    if (text === '') {
      limits[name] = null;
      continue;
    }
    const n = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) errors[name] = 'A whole number, 0 or more (empty: the default).';
    else limits[name] = n;
  }
  return Object.keys(errors).length ? { ok: false, errors } : { ok: true, limits };
}
