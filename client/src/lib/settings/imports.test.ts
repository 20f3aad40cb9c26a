// Import & export: the routes through the client (fetch mocked: method, path, body, bearer token,
// errors), the polling of a running import, and what the section shows of one.
import { describe, expect, it } from 'vitest';
import { ApiClient, ApiError } from '../api';
import { json, recording } from '../api/testing';
import {
  activeImport,
  countsText,
  describeImportError,
  downloadAccountExport,
  finishedText,
  formatBytes,
  getImport,
  headerFileName,
  importContentType,
  leftOutText,
  listImports,
  pollImport,
  problemTitle,
  progressText,
  progressValue,
  startImport,
  startedText,
  statusLabel,
  summaryText,
  upsertImport,
  type ImportView,
} from './imports';

function view(over: Partial<ImportView> = {}): ImportView {
  return {
    id: 'i1',
    status: 'running',
    format: 'chatgpt',
    file_name: 'conversations.json',
    created_at: '2025-03-01T10:00:00Z',
    finished_at: null,
    conversations: { total: 40, imported: 12, skipped: 3, failed: 1 },
    messages: { imported: 100, skipped: 0 },
    parts_skipped: 0,
    presets_imported: 0,
    errors: [],
    error: null,
    ...over,
  };
}

const done = (over: Partial<ImportView> = {}) =>
  view({ status: 'done', finished_at: '2025-03-01T10:01:00Z', conversations: { total: 2, imported: 2, skipped: 0, failed: 0 }, ...over });

describe('the import routes', () => {
  it('uploads the file as the raw body, typed by its name, with the access token (202)', async () => {
    const sent: { url: string; init: RequestInit }[] = [];
    const client = new ApiClient({
      fetch: async (url, init = {}) => {
        sent.push({ url, init });
        return json(202, view({ status: 'queued' }));
      },
    });
    client.setToken('tok');
    const file = new File(['PK\u0003\u0004'], 'chatgpt-export.zip', { type: '' });
    expect((await startImport(client, file)).status).toBe('queued');
    const { url, init } = sent[0]!;
    const headers = init.headers as Record<string, string>;
    expect([init.method, url, headers['Content-Type'], headers.Authorization]).toEqual(['POST', '/api/imports', 'application/zip', 'Bearer tok']);
    expect(headers['X-File-Name']).toBe('chatgpt-export.zip');
    expect(init.body).toBe(file);
    await startImport(client, new File(['[]'], 'чаты.json'));
    expect(sent[1]!.init.headers).not.toHaveProperty('X-File-Name');
  });

  it('a file name goes in the header only when a header can carry it', () => {
    expect(headerFileName(' conversations (1).json ')).toBe('conversations (1).json');
    expect(headerFileName('日本.json')).toBeNull();
    expect(headerFileName('a\nb')).toBeNull();
    expect(headerFileName('')).toBeNull();
    expect(headerFileName(undefined)).toBeNull();
    expect(headerFileName('x'.repeat(300))).toHaveLength(200);
  });

  it('gets one import and lists the recent ones', async () => {
    const { client, calls } = recording((call) => (call.url === '/api/imports' ? json(200, { imports: [view()] }) : json(200, done())));
    expect(await listImports(client)).toEqual([view()]);
    expect((await getImport(client, 'a/b')).status).toBe('done');
    expect(calls).toEqual([
      { method: 'GET', url: '/api/imports', body: undefined, auth: 'Bearer tok' },
      { method: 'GET', url: '/api/imports/a%2Fb', body: undefined, auth: 'Bearer tok' },
    ]);
  });

  it('downloads the account export with the token, named by the server', async () => {
    const { client, calls } = recording(
      () => new Response('PK', { status: 200, headers: { 'Content-Type': 'application/zip', 'Content-Disposition': 'attachment; filename="confab-export.zip"' } }),
    );
    const saved: [string, string][] = [];
    await downloadAccountExport(client, (blob, name) => void blob.text().then((t) => saved.push([name, t])));
    await new Promise((r) => setTimeout(r, 0));
    expect(calls).toEqual([{ method: 'GET', url: '/api/users/me/export', body: undefined, auth: 'Bearer tok' }]);
    expect(saved).toEqual([['confab-export.zip', 'PK']]);
  });

  it('an export without a file name is saved as confab-export.zip; a refusal is an ApiError', async () => {
    let first = true;
    const { client } = recording(() => {
      if (first) return ((first = false), new Response('PK', { status: 200 }));
      return json(500, { error: { code: 'internal', message: 'boom' } });
    });
    const names: string[] = [];
    await downloadAccountExport(client, (_blob, name) => names.push(name));
    expect(names).toEqual(['confab-export.zip']);
    await expect(downloadAccountExport(client, () => {})).rejects.toBeInstanceOf(ApiError);
  });
});

describe('the upload', () => {
  it('is a zip by its name or type, else JSON', () => {
    expect(importContentType({ name: 'export.ZIP', type: '' })).toBe('application/zip');
    expect(importContentType({ name: 'conversations.json', type: 'application/zip' })).toBe('application/json');
    expect(importContentType({ name: 'export', type: 'application/x-zip-compressed' })).toBe('application/zip');
    expect(importContentType({ name: 'dump', type: '' })).toBe('application/json');
  });

  it('a bad file (422) and a too large one (413) are shown at the field; a running import (409) is not', () => {
    const bad = describeImportError(new ApiError(422, 'invalid_file', 'conversations.json: line 3, column 5: expected value'));
    expect(bad).toEqual({ message: 'This file cannot be imported: conversations.json: line 3, column 5: expected value', field: true });
    const large = describeImportError(new ApiError(413, 'http_error', '413 Payload Too Large'));
    expect(large).toEqual({
      message: 'This file is larger than the server accepts for an import. From a ChatGPT export, try its conversations.json alone.',
      field: true,
    });
    expect(describeImportError(new ApiError(413, 'payload_too_large', 'request body is larger than the limit of 104857600 bytes')).message).toBe(
      'This file is larger than the server accepts for an import (at most 100 MB). From a ChatGPT export, try its conversations.json alone.',
    );
    expect(
      describeImportError(new ApiError(413, 'payload_too_large', 'the archive expands to more than 1572864 bytes (MAX_IMPORT_BYTES) at a.json')).message,
    ).toMatch(/^Unzipped, this file is larger than the server accepts for an import \(at most 1\.5 MB\)\./);
    expect([formatBytes(800 * 1024), formatBytes(12)]).toEqual(['800 KB', '12 bytes']);
    expect(describeImportError(new ApiError(409, 'import_running', 'An import is already running.'))).toEqual({
      message: 'An import is already running.',
      field: false,
    });
    expect(describeImportError(new ApiError(0, 'network_error', 'x')).field).toBe(false);
  });
});

describe('polling a running import', () => {
  const now = () => Promise.resolve();

  it('asks every tick until it is done, reporting each state', async () => {
    const answers = [view({ status: 'queued' }), view(), done()];
    const { client, calls } = recording(() => json(200, answers.shift()));
    const seen: string[] = [];
    const waits: number[] = [];
    const last = await pollImport(client, 'i1', {
      onUpdate: (v) => seen.push(v.status),
      wait: (ms) => (waits.push(ms), now()),
    });
    expect(last?.status).toBe('done');
    expect(seen).toEqual(['queued', 'running', 'done']);
    expect(waits).toEqual([1000, 1000, 1000]);
    expect(calls.map((c) => c.url)).toEqual(['/api/imports/i1', '/api/imports/i1', '/api/imports/i1']);
  });

  it('stops on a failed import too', async () => {
    const { client } = recording(() => json(200, view({ status: 'failed', error: 'not a ChatGPT export' })));
    expect((await pollImport(client, 'i1', { onUpdate: () => {}, wait: now }))?.status).toBe('failed');
  });

  it('tries again after a transient error; another error is thrown', async () => {
    const answers = [json(503, { error: { code: 'unavailable', message: 'busy' } }), json(200, done())];
    const { client } = recording(() => answers.shift()!);
    expect((await pollImport(client, 'i1', { onUpdate: () => {}, wait: now }))?.status).toBe('done');
    const { client: gone } = recording(() => json(404, { error: { code: 'not_found', message: 'import not found' } }));
    await expect(pollImport(gone, 'i1', { onUpdate: () => {}, wait: now })).rejects.toMatchObject({ status: 404 });
  });

  it('an abort ends it with null, with no more requests or updates', async () => {
    const stop = new AbortController();
    const { client, calls } = recording(() => {
      stop.abort();
      return json(200, view());
    });
    const seen: ImportView[] = [];
    expect(await pollImport(client, 'i1', { onUpdate: (v) => seen.push(v), signal: stop.signal, wait: now })).toBeNull();
    expect([calls.length, seen.length]).toEqual([1, 0]);
  });

  it('waits with a real timer that an abort cuts short', async () => {
    const stop = new AbortController();
    const { client, calls } = recording(() => json(200, view()));
    const polling = pollImport(client, 'i1', { onUpdate: () => {}, signal: stop.signal, intervalMs: 60_000 });
    stop.abort();
    expect(await polling).toBeNull();
    expect(calls).toHaveLength(0);
    const started = Date.now();
    expect(await pollImport(client, 'i1', { onUpdate: () => {}, signal: stop.signal, intervalMs: 60_000 })).toBeNull();
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('what the section shows', () => {
  it('the progress bar: done so far of the total, indeterminate while the total is unknown', () => {
    expect(progressValue(view())).toEqual({ value: 16, max: 40 });
    expect(progressValue(view({ conversations: { total: 0, imported: 0, skipped: 0, failed: 0 } }))).toBeNull();
  });

  it('the progress line', () => {
    expect(progressText(view())).toBe('Imported 12 of 40 conversations (3 already here, 1 failed)…');
    expect(progressText(view({ status: 'queued' }))).toBe('Waiting to start…');
    expect(progressText(view({ conversations: { total: 0, imported: 0, skipped: 0, failed: 0 } }))).toBe('Reading the file…');
    expect(countsText(view({ conversations: { total: 1, imported: 1, skipped: 0, failed: 0 } }))).toBe('Imported 1 of 1 conversation');
  });

  it('the summary of a finished import, and what was left out', () => {
    expect(summaryText(done())).toBe('Imported 2 of 2 conversations.');
    expect(summaryText(done({ conversations: { total: 2, imported: 0, skipped: 2, failed: 0 } }))).toBe(
      'Imported 0 of 2 conversations (2 already here).',
    );
    expect(summaryText(done({ conversations: { total: 0, imported: 0, skipped: 0, failed: 0 } }))).toMatch(/no conversations/);
    expect(summaryText(view({ status: 'failed', error: 'not a ChatGPT export' }))).toBe('The import failed: not a ChatGPT export');
    expect(leftOutText(done({ messages: { imported: 1, skipped: 0 } }))).toBe('1 message imported.');
    expect(leftOutText(done({ messages: { imported: 9, skipped: 2 }, parts_skipped: 1 }))).toBe(
      '9 messages imported; 2 tool, hidden or unsupported messages left out; 1 image or other non-text part left out.',
    );
    expect(leftOutText(done({ messages: { imported: 4, skipped: 0 }, presets_imported: 2 }))).toBe('4 messages imported; 2 presets added.');
  });

  it('the live region says when it starts and ends', () => {
    expect(startedText(view())).toBe('Importing conversations.json.');
    expect(startedText(view({ file_name: null }))).toBe('Importing the file.');
    expect(finishedText(done())).toBe('Import finished. Imported 2 of 2 conversations.');
    expect(finishedText(view({ status: 'failed', error: 'boom' }))).toBe('The import failed: boom');
  });

  it('statuses, and a problem without a title', () => {
    expect((['queued', 'running', 'done', 'failed'] as const).map(statusLabel)).toEqual(['Waiting', 'Importing', 'Done', 'Failed']);
    expect(problemTitle({ conversation: null, path: '$[1]', message: 'no mapping' })).toBe('Unnamed conversation');
    expect(problemTitle({ conversation: ' Cats ', path: '$[1]', message: 'no mapping' })).toBe('Cats');
  });

  it('the recent list: an update in its place, a new one first, at most 20', () => {
    const a = view({ id: 'a', status: 'done' });
    const b = view({ id: 'b' });
    expect(upsertImport([a, b], done({ id: 'b' })).map((v) => [v.id, v.status])).toEqual([
      ['a', 'done'],
      ['b', 'done'],
    ]);
    expect(upsertImport([a], b).map((v) => v.id)).toEqual(['b', 'a']);
    const many = Array.from({ length: 20 }, (_, i) => view({ id: String(i) }));
    expect(upsertImport(many, b)).toHaveLength(20);
    expect(activeImport([a, b])?.id).toBe('b');
    expect(activeImport([a])).toBeNull();
  });
});
