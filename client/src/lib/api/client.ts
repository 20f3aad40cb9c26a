import { ApiError, errorFromResponse } from './errors';
import { readSse } from './sse';
import type {
  ApiKey,
  CreateApiKeyRequest,
  CreatedApiKey,
  AdminModel,
  AdminUser,
  AdminUserPage,
  AdminUserUpdate,
  AuditPage,
  AuthResponse,
  Chat,
  ChatPage,
  ContinueRequest,
  CreateChatRequest,
  CreateInviteRequest,
  CreatePresetRequest,
  EditMessageRequest,
  Invite,
  LoginRequest,
  Message,
  ModelsResponse,
  MyUsage,
  PendingRegistration,
  Preset,
  RegenerateRequest,
  RegisterRequest,
  RegistrationInfo,
  ResetPasswordRequest,
  SendMessageRequest,
  SessionInfo,
  StreamEvent,
  UpdateChatRequest,
  UpdatePresetRequest,
  UsageQuery,
  UsageReport,
  User,
  Vote,
  VoteResponse,
} from './types';

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface ApiClientOptions {
  /** Prefix of every path, e.g. "" (same origin) or "http://127.0.0.1:8080". */
  baseUrl?: string;
  fetch?: FetchLike;
  /** Called when the session is gone (a refresh failed): show the sign-in form. */
  onUnauthenticated?: () => void;
}

export interface RequestOptions {
  /** Sent as JSON; a Blob (a File) is sent as it is, typed by `headers['Content-Type']` or its own type. */
  body?: unknown;
  signal?: AbortSignal;
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** Whether a 401 may be answered by refreshing the access token and retrying (default true). */
  retryOn401?: boolean;
}

/** Routes whose 401 means "bad credentials", not "expired token". */
const NO_REFRESH = new Set([
  '/api/auth/login',
  '/api/auth/register',
  '/api/auth/refresh',
  '/api/auth/logout',
  '/api/auth/reset-password',
  '/api/auth/registration',
]);

/** A registration that signed in (201) or awaits an admin's approval (202). */
export type RegisterResult = AuthResponse | PendingRegistration;

export function isPending(result: RegisterResult): result is PendingRegistration {
  return !('access_token' in result);
}

/** `?a=1&b=x` from the parameters that are set (not undefined, null or ''); '' when none are. */
function query(params: Record<string, string | number | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') q.set(name, String(value));
  }
  const text = q.toString();
  return text ? `?${text}` : '';
}

/**
 * The typed API client. The access token is kept in memory only; the refresh token is the
 * server's HttpOnly cookie (path /api/auth), sent by the browser on `/api/auth/refresh`.
 */
export class ApiClient {
  private accessToken: string | null = null;
  private refreshing: Promise<boolean> | null = null;
  /** The user named by the last successful refresh. */
  private refreshedUser: User | null = null;
  private readonly baseUrl: string;
  private readonly fetchImpl: FetchLike;
  private readonly onUnauthenticated: (() => void) | undefined;

  constructor(options: ApiClientOptions = {}) {
    this.baseUrl = options.baseUrl ?? '';
    // Bind: calling window.fetch with another `this` throws "Illegal invocation".
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.onUnauthenticated = options.onUnauthenticated;
  }

  get token(): string | null {
    return this.accessToken;
  }

  setToken(token: string | null): void {
    this.accessToken = token;
  }

  // ---- transport -------------------------------------------------------------------------

  private async send(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    const retry = options.retryOn401 ?? !NO_REFRESH.has(path);
    const sentWith = this.accessToken;
    let response = await this.rawFetch(method, path, options, sentWith);
    if (response.status === 401 && retry) {
      // Another request may have refreshed the token while this one was in flight.
      const fresh = this.accessToken !== null && this.accessToken !== sentWith ? true : await this.refresh();
      if (fresh) {
        response = await this.rawFetch(method, path, options, this.accessToken);
      }
    }
    if (!response.ok) throw await errorFromResponse(response);
    return response;
  }

  private rawFetch(method: string, path: string, options: RequestOptions, token: string | null): Promise<Response> {
    const headers: Record<string, string> = { Accept: 'application/json', ...options.headers };
    if (token) headers.Authorization = `Bearer ${token}`;
    const init: RequestInit = { method, headers, credentials: 'same-origin' };
    if (options.body instanceof Blob) {
      headers['Content-Type'] ??= options.body.type || 'application/octet-stream';
      init.body = options.body;
    } else if (options.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(options.body);
    }
    if (options.signal) init.signal = options.signal;
    return this.fetchImpl(this.baseUrl + path, init).catch((error: unknown) => {
      if (error instanceof Error && error.name === 'AbortError') throw error;
      throw new ApiError(0, 'network_error', 'The server could not be reached.');
    });
  }

  /** A JSON request with the access token (one refresh on 401); `ApiError` on failure. */
  async json<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.send(method, path, options);
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /**
   * A request with the access token (one refresh on 401) whose answer the caller reads itself,
   * e.g. a file to download; `ApiError` on failure.
   */
  response(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    return this.send(method, path, options);
  }

  /**
   * Exchanges the refresh cookie for a new access token. Single-flight: concurrent callers
   * share one request. Resolves false (and forgets the token) when the session is gone.
   */
  refresh(): Promise<boolean> {
    if (!this.refreshing) {
      this.refreshing = (async () => {
        try {
          const response = await this.rawFetch('POST', '/api/auth/refresh', {}, null);
          if (!response.ok) {
            this.accessToken = null;
            if (response.status === 401) this.onUnauthenticated?.();
            return false;
          }
          const body = (await response.json()) as AuthResponse;
          this.accessToken = body.access_token;
          this.refreshedUser = body.user ?? null;
          return true;
        } catch {
          return false;
        } finally {
          this.refreshing = null;
        }
      })();
    }
    return this.refreshing;
  }

  // ---- authentication --------------------------------------------------------------------

  /** Who may sign up: open, by invite, with an admin's approval, or nobody; which email domains. */
  registration(): Promise<RegistrationInfo> {
    return this.json('GET', '/api/auth/registration');
  }

  /** Signs up; signed in at once unless an admin must approve the account (`isPending`). */
  async register(body: RegisterRequest): Promise<RegisterResult> {
    const result = await this.json<RegisterResult>('POST', '/api/auth/register', { body });
    if (!isPending(result)) this.accessToken = result.access_token;
    return result;
  }

  /** Sets a new password with a reset code an admin gave (not signed in). */
  async resetPassword(body: ResetPasswordRequest): Promise<void> {
    await this.send('POST', '/api/auth/reset-password', { body });
  }

  async login(body: LoginRequest): Promise<AuthResponse> {
    const auth = await this.json<AuthResponse>('POST', '/api/auth/login', { body });
    this.accessToken = auth.access_token;
    return auth;
  }

  /** Tries to resume a session from the refresh cookie; returns the user or null. */
  async resume(): Promise<User | null> {
    if (!(await this.refresh())) return null;
    // The refresh answer names the user: no second round trip before the app can show.
    return this.refreshedUser ?? this.me();
  }

  async logout(): Promise<void> {
    try {
      await this.send('POST', '/api/auth/logout');
    } finally {
      this.accessToken = null;
    }
  }

  me(): Promise<User> {
    return this.json('GET', '/api/users/me');
  }

  models(): Promise<ModelsResponse> {
    return this.json('GET', '/api/models');
  }

  // ---- the signed-in user's account ------------------------------------------------------

  /** The devices signed in to this account, this one marked `current`. */
  sessions(): Promise<SessionInfo[]> {
    return this.json('GET', '/api/users/me/sessions');
  }

  /** Signs another device out. */
  async revokeSession(id: string): Promise<void> {
    await this.send('DELETE', `/api/users/me/sessions/${enc(id)}`);
  }

  /** Signs every other device out; resolves to how many were. */
  async revokeOtherSessions(): Promise<number> {
    const body = await this.json<{ revoked: number }>('POST', '/api/users/me/sessions/revoke-others');
    return body.revoked;
  }

  async changePassword(currentPassword: string, newPassword: string): Promise<void> {
    await this.send('PUT', '/api/users/me/password', {
      body: { current_password: currentPassword, new_password: newPassword },
    });
  }

  /** Deletes the account and everything in it; the token is forgotten. */
  async deleteAccount(password: string): Promise<void> {
    await this.send('DELETE', '/api/users/me', { body: { password } });
    this.accessToken = null;
  }

  /** Tokens used today and this month (by model), the limits and what remains. */
  myUsage(): Promise<MyUsage> {
    return this.json('GET', '/api/users/me/usage');
  }

  // ---- administration (admins only; others are answered 403 `forbidden`) ------------------

  adminUsers(params: { q?: string; cursor?: string | null; limit?: number } = {}): Promise<AdminUserPage> {
    return this.json('GET', `/api/admin/users${query(params)}`);
  }

  /** Changes a user's role, status or limits (409 `last_admin` for the last active admin). */
  adminUpdateUser(id: string, body: AdminUserUpdate): Promise<AdminUser> {
    return this.json('PATCH', `/api/admin/users/${enc(id)}`, { body });
  }

  async adminDeleteUser(id: string): Promise<void> {
    await this.send('DELETE', `/api/admin/users/${enc(id)}`);
  }

  /** Creates an invite; only this answer carries its `code` and `url`. */
  createInvite(body: CreateInviteRequest = {}): Promise<Invite> {
    return this.json('POST', '/api/admin/invites', { body });
  }

  async listInvites(): Promise<Invite[]> {
    const body = await this.json<{ invites: Invite[] }>('GET', '/api/admin/invites');
    return body.invites;
  }

  async revokeInvite(id: string): Promise<void> {
    await this.send('DELETE', `/api/admin/invites/${enc(id)}`);
  }

  /** Tokens and answers between two days (inclusive), by user, model or day. */
  adminUsage(params: UsageQuery = {}): Promise<UsageReport> {
    return this.json('GET', `/api/admin/usage${query({ ...params })}`);
  }

  /** Every model of every endpoint, with whether it is in its server's memory. */
  async adminModels(): Promise<AdminModel[]> {
    const body = await this.json<{ models: AdminModel[] }>('GET', '/api/admin/models');
    return body.models;
  }

  /**
   * Asks model `id`'s server to load or unload it; resolves to the model as it is then (a load
   * usually `loading`). 409 `not_manageable`, 502 `upstream_error` (the server's reason).
   */
  adminModelAction(id: string, action: 'load' | 'unload'): Promise<AdminModel> {
    return this.json('POST', `/api/admin/models/${enc(id)}/${action}`);
  }

  /** The audit log, newest first, a page at a time. */
  audit(params: { cursor?: string | null; limit?: number } = {}): Promise<AuditPage> {
    return this.json('GET', `/api/admin/audit${query(params)}`);
  }

  // ---- chats -----------------------------------------------------------------------------

  listChats(params: { limit?: number; cursor?: string | null; q?: string } = {}): Promise<ChatPage> {
    const query = new URLSearchParams();
    if (params.limit !== undefined) query.set('limit', String(params.limit));
    if (params.cursor) query.set('cursor', params.cursor);
    if (params.q) query.set('q', params.q);
    const qs = query.toString();
    return this.json('GET', `/api/chats${qs ? `?${qs}` : ''}`);
  }

  createChat(body: CreateChatRequest = {}): Promise<Chat> {
    return this.json('POST', '/api/chats', { body });
  }

  getChat(id: string): Promise<Chat> {
    return this.json('GET', `/api/chats/${enc(id)}`);
  }

  updateChat(id: string, body: UpdateChatRequest): Promise<Chat> {
    return this.json('PATCH', `/api/chats/${enc(id)}`, { body });
  }

  async deleteChat(id: string): Promise<void> {
    await this.send('DELETE', `/api/chats/${enc(id)}`);
  }

  async listMessages(chatId: string): Promise<Message[]> {
    const body = await this.json<{ messages: Message[] }>('GET', `/api/chats/${enc(chatId)}/messages`);
    return body.messages;
  }

  stopMessage(chatId: string, messageId: string): Promise<Message> {
    return this.json('POST', `/api/chats/${enc(chatId)}/messages/${enc(messageId)}/stop`);
  }

  vote(chatId: string, messageId: string, vote: Vote | null, reason?: string): Promise<VoteResponse> {
    const body = reason === undefined ? { vote } : { vote, reason };
    return this.json('PUT', `/api/chats/${enc(chatId)}/messages/${enc(messageId)}/vote`, { body });
  }

  // ---- presets ---------------------------------------------------------------------------

  /** The presets the user sees: shared ones first, then their own, each by name. */
  async listPresets(): Promise<Preset[]> {
    const body = await this.json<{ presets: Preset[] }>('GET', '/api/presets');
    return body.presets;
  }

  /** 409 `conflict` when the name is taken or the user has too many; `shared` is for admins (else 403). */
  createPreset(body: CreatePresetRequest): Promise<Preset> {
    return this.json('POST', '/api/presets', { body });
  }

  updatePreset(id: string, body: UpdatePresetRequest): Promise<Preset> {
    return this.json('PATCH', `/api/presets/${enc(id)}`, { body });
  }

  async deletePreset(id: string): Promise<void> {
    await this.send('DELETE', `/api/presets/${enc(id)}`);
  }

  // ---- API keys --------------------------------------------------------------------------

  /** The user's keys for the OpenAI-compatible `/v1` routes, newest first (never their values). */
  async listApiKeys(): Promise<ApiKey[]> {
    const body = await this.json<{ api_keys: ApiKey[] }>('GET', '/api/users/me/api-keys');
    return body.api_keys;
  }

  /** The key's value is in this answer only. 422 on a bad name or expiry; 409 `too_many_api_keys`. */
  createApiKey(body: CreateApiKeyRequest): Promise<CreatedApiKey> {
    return this.json('POST', '/api/users/me/api-keys', { body });
  }

  /** 404 for a key that is not the user's (or is gone). */
  async revokeApiKey(id: string): Promise<void> {
    await this.send('DELETE', `/api/users/me/api-keys/${enc(id)}`);
  }

  async wsTicket(): Promise<string> {
    const body = await this.json<{ ticket: string }>('POST', '/api/ws/ticket');
    return body.ticket;
  }

  // ---- streamed generations ---------------------------------------------------------------

  /** Sends a user message and streams the answer. Abort with `signal`. */
  streamMessage(chatId: string, body: SendMessageRequest, signal?: AbortSignal): AsyncGenerator<StreamEvent> {
    return this.stream(`/api/chats/${enc(chatId)}/messages`, body, signal);
  }

  /** Edits a user message into a sibling branch and streams its answer. */
  streamEdit(chatId: string, messageId: string, body: EditMessageRequest, signal?: AbortSignal): AsyncGenerator<StreamEvent> {
    return this.stream(`/api/chats/${enc(chatId)}/messages/${enc(messageId)}/edit`, body, signal);
  }

  /** Regenerates an answer as a sibling and streams it. */
  streamRegenerate(chatId: string, messageId: string, body: RegenerateRequest = {}, signal?: AbortSignal): AsyncGenerator<StreamEvent> {
    return this.stream(`/api/chats/${enc(chatId)}/messages/${enc(messageId)}/regenerate`, body, signal);
  }

  /**
   * Continues an answer that ended early (stopped, cut at `max_tokens`, interrupted) in the same
   * message, and streams the rest: `assistant_message` is the answer with its text so far, the
   * deltas' offsets go on after it. 409 `not_continuable`; 422 (`parameters.model`) when its
   * model cannot continue.
   */
  streamContinue(chatId: string, messageId: string, body: ContinueRequest = {}, signal?: AbortSignal): AsyncGenerator<StreamEvent> {
    return this.stream(`/api/chats/${enc(chatId)}/messages/${enc(messageId)}/continue`, body, signal);
  }

  /**
   * Follows an answer that is streaming (or has ended), wherever it runs: its text from `from`
   * (UTF-16 units; the length this tab already shows) on, then its end, with the same events as
   * the POST streams (`assistant_message` first, as the answer started, with no text). An
   * answer that is not the user's is a 404, as every other route.
   */
  streamAnswer(chatId: string, messageId: string, from: number, signal?: AbortSignal): AsyncGenerator<StreamEvent> {
    const at = Number.isSafeInteger(from) && from > 0 ? `?from=${from}` : '';
    return this.stream(`/api/chats/${enc(chatId)}/messages/${enc(messageId)}/stream${at}`, undefined, signal, 'GET');
  }

  private async *stream(path: string, body: unknown, signal?: AbortSignal, method = 'POST'): AsyncGenerator<StreamEvent> {
    const options: RequestOptions = { headers: { Accept: 'text/event-stream' } };
    if (body !== undefined) options.body = body;
    if (signal) options.signal = signal;
    const response = await this.send(method, path, options);
    if (!response.body) throw new ApiError(response.status, 'bad_response', 'The answer has no body.');
    for await (const frame of readSse(response.body, signal)) {
      const event = toStreamEvent(frame.event, frame.data);
      if (event) yield event;
    }
  }
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}

/** Maps one SSE frame to a typed event; unknown events and bad JSON are skipped. */
export function toStreamEvent(event: string, data: string): StreamEvent | null {
  let payload: unknown;
  try {
    payload = JSON.parse(data);
  } catch {
    return null;
  }
  if (typeof payload !== 'object' || payload === null) return null;
  const p = payload as Record<string, unknown>;
  switch (event) {
    case 'user_message':
    case 'assistant_message':
    case 'done':
      return typeof p.id === 'string' ? { type: event, message: payload as Message } : null;
    case 'delta': {
      if (typeof p.content !== 'string') return null;
      const offset = p.offset;
      return typeof offset === 'number' && Number.isSafeInteger(offset) && offset >= 0
        ? { type: 'delta', content: p.content, offset }
        : { type: 'delta', content: p.content };
    }
    case 'loading':
      return typeof p.model === 'string' ? { type: 'loading', model: p.model } : null;
    case 'error':
      return {
        type: 'error',
        code: typeof p.code === 'string' ? p.code : 'error',
        message: typeof p.message === 'string' ? p.message : 'The answer failed.',
        assistant_message:
          typeof p.assistant_message === 'object' && p.assistant_message !== null
            ? (p.assistant_message as Message)
            : null,
      };
    default:
      return null;
  }
}
