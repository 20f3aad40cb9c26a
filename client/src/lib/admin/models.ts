// The administration's models, in words: each row's state, memory and button, how soon the list
// is asked for again, and what changed between two answers (announced).
import { ApiError, describeError, type AdminModel, type ModelSource, type ModelState } from '../api';

export const STATE_LABEL: Record<ModelState, string> = {
  loaded: 'Loaded',
  loading: 'Loading…',
  unloaded: 'Unloaded',
  failed: 'Failed',
  unknown: 'Unknown',
};

export const SOURCE_LABEL: Record<ModelSource, string> = { configured: 'Configured', discovered: 'Discovered' };

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];

/** Bytes in decimal units, as model servers count them: 5_100_000_000 → "5.1 GB"; null → "—". */
export function formatBytes(bytes: number | null, locale?: string): string {
  if (bytes === null || !Number.isFinite(bytes) || bytes < 0) return '—';
  const format = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 });
  let value = bytes;
  let unit = 0;
  // Rounded to one decimal, 999.96 MB would read "1,000 MB": that is 1 GB.
  while (unit < UNITS.length - 1 && Math.round(value * 10) / 10 >= 1000) {
    value /= 1000;
    unit++;
  }
  return `${format.format(unit === 0 ? Math.round(value) : value)} ${UNITS[unit]}`;
}

/** The memory a model uses: "5.1 GB", with its share in GPU memory when told ("5.1 GB (2.6 GB VRAM)"). */
export function memoryText(model: Pick<AdminModel, 'memory_bytes' | 'vram_bytes'>, locale?: string): string {
  if (model.memory_bytes === null) return model.vram_bytes === null ? '—' : `${formatBytes(model.vram_bytes, locale)} VRAM`;
  const total = formatBytes(model.memory_bytes, locale);
  return model.vram_bytes === null ? total : `${total} (${formatBytes(model.vram_bytes, locale)} VRAM)`;
}

export type ModelAction = 'load' | 'unload';

export const ACTION_LABEL: Record<ModelAction, string> = { load: 'Load', unload: 'Unload' };

/**
 * The button of a model the server manages — one button whose action follows the state, so the
 * focus stays on it: Unload when loaded, else Load; not while it loads. A model in an unknown
 * state also offers Unload (`offersUnload`).
 */
export function mainAction(model: Pick<AdminModel, 'state'>): { action: ModelAction; enabled: boolean } {
  if (model.state === 'loaded') return { action: 'unload', enabled: true };
  return { action: 'load', enabled: model.state !== 'loading' };
}

export function offersUnload(model: Pick<AdminModel, 'state'>): boolean {
  return model.state === 'unknown';
}

/** How often the list is asked for again: often while a model loads or an action is fresh. */
export const FAST_POLL_MS = 2_000;
export const SLOW_POLL_MS = 10_000;
/** How long after an action the list is asked for often. */
export const AFTER_ACTION_MS = 6_000;

/** The wait before the next poll; `sinceAction`: ms since the last load or unload asked. */
export function pollDelay(models: readonly Pick<AdminModel, 'state'>[], sinceAction: number): number {
  return models.some((m) => m.state === 'loading') || sinceAction < AFTER_ACTION_MS ? FAST_POLL_MS : SLOW_POLL_MS;
}

const CHANGE: Record<ModelState, string> = {
  loaded: 'loaded',
  loading: 'loading',
  unloaded: 'unloaded',
  failed: 'failed to load',
  unknown: 'state unknown',
};

/** What changed between two answers, in words ("router-model loaded"); models new or gone say nothing. */
export function stateChanges(before: readonly AdminModel[], after: readonly AdminModel[]): string[] {
  const was = new Map(before.map((m) => [m.id, m.state]));
  return after.flatMap((m) => {
    const state = was.get(m.id);
    return state === undefined || state === m.state ? [] : [`${m.id} ${CHANGE[m.state]}`];
  });
}

/** Why a load or unload was refused: the server's words for its own refusals (the model server's reason). */
export function actionError(error: unknown): string {
  if (error instanceof ApiError && ['not_found', 'not_manageable', 'upstream_error'].includes(error.code) && error.message) {
    return error.message;
  }
  return describeError(error);
}
