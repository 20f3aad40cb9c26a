// Share links (read-only snapshots of a chat's branch) and chat exports: the API calls, and the
// pure shaping the share page, the share dialog and the export buttons need.
import { ApiError, describeError, type ApiClient, type Chat } from '../api';

/** A share link the user made (`url` is `/s/{token}`, relative to the origin). */
export interface Share {
  id: string;
  chat_id: string;
  message_id: string | null;
  url: string;
  title: string;
  message_count: number;
  includes_parameters: boolean;
  created_at: string;
}

export interface SharedMessage {
  role: 'user' | 'assistant' | 'system';
  content: string;
  model?: string | null;
  parameters?: Record<string, unknown> | null;
}

/** What anyone with the link sees. */
export interface SharedChat {
  title: string;
  messages: SharedMessage[];
  created_at: string;
}

export type ExportFormat = 'json' | 'markdown';

type Json = Pick<ApiClient, 'json'>;

export function createShare(api: Json, chatId: string, body: { message_id?: string; include_parameters?: boolean }): Promise<Share> {
  return api.json<Share>('POST', `/api/chats/${encodeURIComponent(chatId)}/shares`, { body });
}

export async function listShares(api: Json): Promise<Share[]> {
  return (await api.json<{ shares: Share[] }>('GET', '/api/shares')).shares;
}

export async function revokeShare(api: Json, id: string): Promise<void> {
  await api.json<void>('DELETE', `/api/shares/${encodeURIComponent(id)}`);
}

/** No sign-in needed; 404 for an unknown or revoked token. */
export function getShared(api: Json, token: string): Promise<SharedChat> {
  return api.json<SharedChat>('GET', `/api/shared/${encodeURIComponent(token)}`, { retryOn401: false });
}

/**
 * "Continue this chat" (signed in): a new chat of the viewer's holding the snapshot's messages
 * (and its parameters when the owner shared them). 404 `not_found` once the link is revoked.
 */
export function copyShared(api: Json, token: string): Promise<Chat> {
  return api.json<Chat>('POST', `/api/shared/${encodeURIComponent(token)}/copy`);
}

/** What the share page says when "Continue this chat" failed. */
export function copyErrorText(error: unknown): string {
  if (error instanceof ApiError && error.status === 404) return 'This link no longer works.';
  if (error instanceof ApiError && error.status === 401) return 'Your session has ended. Sign in to continue.';
  return describeError(error);
}

/** The full address of a share link. */
export function shareLink(origin: string, url: string): string {
  return new URL(url, origin).href;
}

/** The token of a share page's path (`/s/{token}`), or null. */
export function shareTokenOf(path: string): string | null {
  const m = /^\/s\/([^/]+)\/?$/.exec(path);
  if (!m?.[1]) return null;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return null;
  }
}

/** A shared answer's parameters in words ("temperature 0.7 · seed 3"); '' when none are set. */
export function parameterSummary(parameters: Record<string, unknown> | null | undefined): string {
  if (!parameters) return '';
  const parts: string[] = [];
  for (const [name, value] of Object.entries(parameters)) {
    if (value === null || value === undefined || name === 'model') continue;
    const shown = Array.isArray(value) ? value.map(String).join(', ') : typeof value === 'object' ? JSON.stringify(value) : String(value);
    parts.push(`${name.replace(/_/g, ' ')} ${shown}`);
  }
  return parts.join(' · ');
}

/** A message as the share page shows it: its heading and, for answers, the model and parameters. */
export interface SharedView {
  key: string;
  role: SharedMessage['role'];
  label: string;
  content: string;
  model: string;
  parameters: string;
}

const LABELS = { user: 'You asked', assistant: 'Answer', system: 'System prompt' } as const;

/** The page's messages: unknown roles and blank system prompts are left out. */
export function sharedViews(chat: SharedChat): SharedView[] {
  return chat.messages
    .filter((m) => m.role in LABELS && !(m.role === 'system' && !m.content.trim()))
    .map((m, i) => ({
      key: String(i),
      role: m.role,
      label: LABELS[m.role],
      content: m.content,
      model: m.role === 'assistant' ? (m.model ?? (typeof m.parameters?.model === 'string' ? m.parameters.model : '')) : '',
      parameters: m.role === 'assistant' ? parameterSummary(m.parameters) : '',
    }));
}

/** A file name for an export, from the chat's title: `my-chat.json`, `my-chat.md`. */
export function exportFileName(title: string | null | undefined, format: ExportFormat): string {
  const base =
    (title ?? '')
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 60)
      .replace(/-+$/, '') || 'chat';
  return `${base}.${format === 'json' ? 'json' : 'md'}`;
}

/** The file name a `Content-Disposition` header gives, or null. */
export function fileNameFromDisposition(header: string | null): string | null {
  if (!header) return null;
  const star = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(header);
  if (star?.[1]) {
    try {
      return decodeURIComponent(star[1].trim());
    } catch {
      // fall through to the plain name
    }
  }
  const plain = /filename\s*=\s*"?([^";]+)"?/i.exec(header);
  return plain?.[1]?.trim() || null;
}

/** Error words for the share dialog (409s in the server's terms). */
export function shareErrorText(code: string | undefined, fallback: string): string {
  if (code === 'empty_chat') return 'This chat has no messages yet: there is nothing to share.';
  if (code === 'still_generating') return 'An answer is still being generated. Wait for it to finish, then create the link.';
  return fallback;
}
