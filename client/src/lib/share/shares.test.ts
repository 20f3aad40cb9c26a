import { describe, expect, it } from 'vitest';
import {
  continueDraft,
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

  it('drafts a short quote of the last answer for "Continue this chat"', () => {
    expect(continueDraft(chat)).toBe('> No model here.\n\n');
    const long = continueDraft({ ...chat, messages: [{ role: 'assistant', content: 'word '.repeat(100) }] }, 20);
    expect(long).toMatch(/^> (word ){3}word…\n\n$/);
    expect(continueDraft({ ...chat, messages: [] })).toBe('');
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
  it('post the options and read a shared chat without a refresh', async () => {
    const calls: unknown[][] = [];
    const api = { json: async (...args: unknown[]) => (calls.push(args), {}) } as never;
    await createShare(api, 'c/1', { include_parameters: true });
    await getShared(api, 'tok');
    expect(calls).toEqual([
      ['POST', '/api/chats/c%2F1/shares', { body: { include_parameters: true } }],
      ['GET', '/api/shared/tok', { retryOn401: false }],
    ]);
  });
});
