import { describe, expect, it } from 'vitest';
import { ApiError } from '../api';
import {
  copyErrorText,
  copyShared,
  createShare,
  exportFileName,
  fileNameFromDisposition,
  getShared,
  parameterSummary,
  shareErrorText,
  shareLink,
  shareTokenOf,
  sharedViews,
  type SharedChat,
} from './shares';

const chat: SharedChat = {
  title: 'Cats',
  created_at: '2025-01-01T00:00:00Z',
  messages: [
    { role: 'system', content: '  ' },
    { role: 'user', content: 'Why do cats purr?' },
    { role: 'assistant', content: 'Mostly **contentment**.', model: 'confab-demo', parameters: { temperature: 0.7, seed: 3, stop: ['a', 'b'], top_p: null } },
    { role: 'assistant', content: 'No model here.' },
  ],
};

describe('the share page', () => {
  it('shows each message with a heading, and answers with their model and parameters', () => {
    const views = sharedViews(chat);
    expect(views.map((v) => v.label)).toEqual(['You asked', 'Answer', 'Answer']);
    expect(views[1]).toMatchObject({ model: 'confab-demo', parameters: 'temperature 0.7 · seed 3 · stop a, b' });
    expect(views[2]).toMatchObject({ model: '', parameters: '' });
    expect(views[0]).toMatchObject({ model: '', parameters: '' });
  });

  it('keeps a system prompt that says something', () => {
    const views = sharedViews({ ...chat, messages: [{ role: 'system', content: 'Be brief.' }] });
    expect(views).toEqual([{ key: '0', role: 'system', label: 'System prompt', content: 'Be brief.', model: '', parameters: '' }]);
  });

  it('summarises parameters, leaving out the unset and the model', () => {
    expect(parameterSummary(null)).toBe('');
    expect(parameterSummary({ model: 'x', max_tokens: 10 })).toBe('max tokens 10');
  });

  it('reads the token from /s/{token} only', () => {
    expect(shareTokenOf('/s/abc')).toBe('abc');
    expect(shareTokenOf('/s/abc/')).toBe('abc');
    expect(shareTokenOf('/s/a%20b')).toBe('a b');
    expect(shareTokenOf('/s/')).toBeNull();
    expect(shareTokenOf('/s/a/b')).toBeNull();
    expect(shareTokenOf('/c/abc')).toBeNull();
    expect(shareTokenOf('/s/%E0%A4%A')).toBeNull();
  });

  it('says why "Continue this chat" failed', () => {
    expect(copyErrorText(new ApiError(404, 'not_found', 'share not found'))).toBe('This link no longer works.');
    expect(copyErrorText(new ApiError(401, 'unauthorized', 'no'))).toMatch(/Sign in to continue/);
    expect(copyErrorText(new ApiError(409, 'conflict', 'Something clashed.'))).toBe('Something clashed.');
  });
});

describe('links and files', () => {
  it('makes the full link from the origin', () => {
    expect(shareLink('https://chat.example.org', '/s/tok')).toBe('https://chat.example.org/s/tok');
  });

  it('names an export after the chat', () => {
    expect(exportFileName('Café: a “plan”!', 'json')).toBe('cafe-a-plan.json');
    expect(exportFileName('Notes', 'markdown')).toBe('notes.md');
    expect(exportFileName('', 'json')).toBe('chat.json');
    expect(exportFileName(null, 'markdown')).toBe('chat.md');
    expect(exportFileName('x'.repeat(100), 'json')).toBe(`${'x'.repeat(60)}.json`);
  });

  it('reads the server’s file name', () => {
    expect(fileNameFromDisposition('attachment; filename="a b.json"')).toBe('a b.json');
    expect(fileNameFromDisposition("attachment; filename=\"x.md\"; filename*=UTF-8''caf%C3%A9.md")).toBe('café.md');
    expect(fileNameFromDisposition('attachment')).toBeNull();
    expect(fileNameFromDisposition(null)).toBeNull();
  });

  it('says why a link could not be made', () => {
    expect(shareErrorText('empty_chat', 'x')).toMatch(/no messages/);
    expect(shareErrorText('still_generating', 'x')).toMatch(/still being generated/);
    expect(shareErrorText('other', 'The reason.')).toBe('The reason.');
  });
});

describe('the API calls', () => {
  it('post the options, read a shared chat without a refresh, and copy it (no body)', async () => {
    const calls: unknown[][] = [];
    const api = { json: async (...args: unknown[]) => (calls.push(args), {}) } as never;
    await createShare(api, 'c/1', { include_parameters: true });
    await getShared(api, 'tok');
    await copyShared(api, 't/k');
    expect(calls).toEqual([
      ['POST', '/api/chats/c%2F1/shares', { body: { include_parameters: true } }],
      ['GET', '/api/shared/tok', { retryOn401: false }],
      ['POST', '/api/shared/t%2Fk/copy'],
    ]);
  });
});
