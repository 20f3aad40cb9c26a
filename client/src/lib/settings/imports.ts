// Settings › Import & export: the account export (a zip of everything) and imports of chats from
// a file (a ChatGPT `conversations.json` or export zip, or a Confab export). The API calls, the
// polling of a running import, and the words and numbers the section shows of one.
import { ApiError, describeError, isAbortError, isTransient, type ApiClient } from '../api';
import { fileNameFromDisposition } from '../share/shares';

export type ImportStatus = 'queued' | 'running' | 'done' | 'failed';

/** A conversation the import left out because it is malformed. */
export interface ImportProblem {
  /** The conversation's title or id, when the file gave one. */
  conversation: string | null;
  /** Where in the file, e.g. `conversations.json[3].mapping.abc`. */
  path: string;
  message: string;
}

export interface ImportView {
  id: string;
  status: ImportStatus;
  format: 'chatgpt' | 'confab' | null;
  file_name: string | null;
  created_at: string;
  finished_at: string | null;
  conversations: {
    total: number;
    imported: number;
    /** Imported before (duplicates): left as they are. */
    skipped: number;
    /** Malformed: listed in `errors`. */
    failed: number;
  };
  /** `skipped`: tool, hidden and unknown-type messages left out. */
  messages: { imported: number; skipped: number };
  /** Non-text content parts (images…) left out. */
  parts_skipped: number;
  /** Presets of a Confab account export made here. */
  presets_imported: number;
  errors: ImportProblem[];
  /** Why the whole import failed. */
  error: string | null;
}

type Json = Pick<ApiClient, 'json'>;

/** How often a queued or running import is asked about. */
export const POLL_MS = 1000;
/** What the export is saved as when the server names no file. */
export const EXPORT_FILE_NAME = 'confab-export.zip';
/** What the file picker offers. */
export const ACCEPT = '.json,.zip,application/json,application/zip';

// ---- the API ------------------------------------------------------------------------------

/**
 * Uploads `file` as the raw body, its name in `X-File-Name`: 202 with the queued import. 422
 * `invalid_file` (not JSON or a zip, or of no known format; the message says where), 413 (too
 * large, uploaded or unzipped), 409 `import_running`.
 */
export function startImport(api: Json, file: Blob & { name?: string }): Promise<ImportView> {
  const headers: Record<string, string> = { 'Content-Type': importContentType(file) };
  const name = headerFileName(file.name);
  if (name) headers['X-File-Name'] = name;
  return api.json<ImportView>('POST', '/api/imports', { body: file, headers });
}

/**
 * The file's name as a header may carry it (printable ASCII, which is all a header value
 * reliably is); null for any other name, which the import then shows as "the file".
 */
export function headerFileName(name: string | undefined): string | null {
  const trimmed = name?.trim() ?? '';
  return trimmed && /^[\x20-\x7e]+$/.test(trimmed) ? trimmed.slice(0, 200) : null;
}

export function getImport(api: Json, id: string): Promise<ImportView> {
  return api.json<ImportView>('GET', `/api/imports/${encodeURIComponent(id)}`);
}

/** The account's recent imports, newest first (at most 20). */
export async function listImports(api: Json): Promise<ImportView[]> {
  return (await api.json<{ imports: ImportView[] }>('GET', '/api/imports')).imports;
}

/** Downloads the whole account as a zip (chats, presets, folders, votes), saved with `save`. */
export async function downloadAccountExport(
  api: Pick<ApiClient, 'response'>,
  save: (blob: Blob, name: string) => void,
): Promise<void> {
  const response = await api.response('GET', '/api/users/me/export', { headers: { Accept: 'application/zip' } });
  const name = fileNameFromDisposition(response.headers.get('Content-Disposition')) ?? EXPORT_FILE_NAME;
  save(await response.blob(), name);
}

/** The upload's type: a zip by its name or type, else JSON (the server looks at the content anyway). */
export function importContentType(file: { name?: string; type: string }): 'application/json' | 'application/zip' {
  const name = (file.name ?? '').toLowerCase();
  if (name.endsWith('.zip')) return 'application/zip';
  if (name.endsWith('.json')) return 'application/json';
  return /zip/i.test(file.type) ? 'application/zip' : 'application/json';
}

// ---- polling ------------------------------------------------------------------------------

export function isActive(view: Pick<ImportView, 'status'>): boolean {
  return view.status === 'queued' || view.status === 'running';
}

/** Waits `ms`, or less when `signal` aborts. */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}

export interface PollOptions {
  /** Each answer while it runs, and the last one. */
  onUpdate: (view: ImportView) => void;
  /** Stops the polling: `pollImport` then resolves null. */
  signal?: AbortSignal;
  intervalMs?: number;
  /** How to wait between requests (tests pass their own). */
  wait?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/**
 * Asks about import `id` every `intervalMs` until it is done or failed; resolves with its last
 * state, or null once `signal` aborted. A transient failure (no connection, 5xx) is tried again
 * at the next tick; any other error (404: gone) is thrown.
 */
export async function pollImport(api: Json, id: string, options: PollOptions): Promise<ImportView | null> {
  const { onUpdate, signal, intervalMs = POLL_MS, wait = pause } = options;
  for (;;) {
    await wait(intervalMs, signal);
    if (signal?.aborted) return null;
    let view: ImportView;
    try {
      view = await getImport(api, id);
    } catch (e) {
      if (signal?.aborted || isAbortError(e)) return null;
      if (isTransient(e)) continue;
      throw e;
    }
    if (signal?.aborted) return null;
    onUpdate(view);
    if (!isActive(view)) return view;
  }
}

// ---- what the section shows ---------------------------------------------------------------

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** How many conversations have been dealt with: imported, already there, or failed. */
export function processed(view: ImportView): number {
  const c = view.conversations;
  return c.imported + c.skipped + c.failed;
}

/** The `<progress>`: null while the total is not known yet (indeterminate). */
export function progressValue(view: ImportView): { value: number; max: number } | null {
  const max = view.conversations.total;
  return max > 0 ? { value: Math.min(processed(view), max), max } : null;
}

/** "Imported 12 of 40 conversations (3 already here, 1 failed)". */
export function countsText(view: ImportView): string {
  const c = view.conversations;
  const extra = [c.skipped > 0 && `${c.skipped} already here`, c.failed > 0 && `${c.failed} failed`].filter(Boolean);
  const of = `Imported ${c.imported} of ${plural(c.total, 'conversation')}`;
  return extra.length ? `${of} (${extra.join(', ')})` : of;
}

/** One line while it runs. */
export function progressText(view: ImportView): string {
  if (view.status === 'queued') return 'Waiting to start…';
  if (view.conversations.total === 0) return 'Reading the file…';
  return `${countsText(view)}…`;
}

export function statusLabel(status: ImportStatus): string {
  switch (status) {
    case 'queued':
      return 'Waiting';
    case 'running':
      return 'Importing';
    case 'done':
      return 'Done';
    case 'failed':
      return 'Failed';
  }
}

/** The file's name as shown ("conversations.json", or "the file" when it had none). */
export function fileLabel(view: Pick<ImportView, 'file_name'>): string {
  return view.file_name?.trim() || 'the file';
}

/** The counts of a finished import, e.g. "Imported 2 of 2 conversations (1 already here)." */
export function summaryText(view: ImportView): string {
  if (view.status === 'failed') return `The import failed: ${view.error?.trim() || 'the server gave no reason.'}`;
  if (view.conversations.total === 0) return 'The file had no conversations to import.';
  return `${countsText(view)}.`;
}

/** Messages imported, what was left out of them (messages, parts), and presets added. */
export function leftOutText(view: ImportView): string {
  const parts = [`${plural(view.messages.imported, 'message')} imported`];
  if (view.messages.skipped > 0) parts.push(`${plural(view.messages.skipped, 'tool, hidden or unsupported message')} left out`);
  if (view.parts_skipped > 0) parts.push(`${plural(view.parts_skipped, 'image or other non-text part')} left out`);
  if (view.presets_imported > 0) parts.push(`${plural(view.presets_imported, 'preset')} added`);
  return `${parts.join('; ')}.`;
}

/** What the live region says when an import starts. */
export function startedText(view: ImportView): string {
  return `Importing ${fileLabel(view)}.`;
}

/** What the live region says when it ends. */
export function finishedText(view: ImportView): string {
  return view.status === 'failed' ? summaryText(view) : `Import finished. ${summaryText(view)}`;
}

/** A conversation of the errors list: its title or id, else "Unnamed conversation". */
export function problemTitle(problem: ImportProblem): string {
  return problem.conversation?.trim() || 'Unnamed conversation';
}

/** The list with `view` in its place (new ones first), at most `max` long. */
export function upsertImport(list: ImportView[], view: ImportView, max = 20): ImportView[] {
  return list.some((v) => v.id === view.id) ? list.map((v) => (v.id === view.id ? view : v)) : [view, ...list].slice(0, max);
}

/** The import still queued or running, if any (the newest). */
export function activeImport(list: ImportView[]): ImportView | null {
  return list.find(isActive) ?? null;
}

/** "100 MB", "1.5 MB", "800 KB" (binary units, as MAX_IMPORT_BYTES is usually set). */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${Number((bytes / (1024 * 1024)).toFixed(1))} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${bytes} bytes`;
}

/**
 * A 413 in words. The server's message names its limit in bytes ("… larger than the limit of N
 * bytes", or for a zip "the archive expands to more than N bytes … at entry"); a proxy's says
 * nothing of it.
 */
export function tooLargeText(serverMessage: string): string {
  const bytes = /(\d+) bytes/.exec(serverMessage)?.[1];
  const limit = bytes ? ` (at most ${formatBytes(Number(bytes))})` : '';
  const what = /expands/.test(serverMessage) ? 'Unzipped, this file is larger' : 'This file is larger';
  return `${what} than the server accepts for an import${limit}. From a ChatGPT export, try its conversations.json alone.`;
}

/**
 * An upload's error: `field` when it is about the file (not a valid file, too large), shown at
 * the file picker; else for the form's alert.
 */
export function describeImportError(error: unknown): { message: string; field: boolean } {
  if (error instanceof ApiError) {
    if (error.status === 413 || error.code === 'payload_too_large') return { message: tooLargeText(error.message), field: true };
    if (error.code === 'invalid_file') return { message: `This file cannot be imported: ${error.message}`, field: true };
    if (error.code === 'import_running') {
      return { message: error.message || 'An import is already running. Wait for it to finish, then import again.', field: false };
    }
  }
  return { message: describeError(error), field: false };
}
