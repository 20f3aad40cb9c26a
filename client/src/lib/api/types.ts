// Wire types of the Confab API (see the server's README, "API").

export interface ErrorBody {
  error: { code: string; message: string; fields?: Record<string, string> };
}

export type UserRole = 'admin' | 'user';
/** `pending`: awaits an admin's approval; `disabled`: may not sign in. */
export type UserStatus = 'active' | 'pending' | 'disabled';

export interface User {
  id: string;
  username: string;
  email: string;
  created_at: string;
  role: UserRole;
  status: UserStatus;
}

export interface AuthResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
  user: User;
}

export interface RegisterRequest {
  username: string;
  email: string;
  password: string;
  /** An invite code (`?invite=CODE` in an invite link). */
  invite?: string;
}

/** The answer to a registration that an admin must approve (202): no tokens, not signed in. */
export interface PendingRegistration {
  status: 'pending';
  user: User;
}

/** Who may sign up (`GET /api/auth/registration`). */
export type RegistrationMode = 'open' | 'invite' | 'approval' | 'closed';

export interface RegistrationInfo {
  mode: RegistrationMode;
  /** Email domains that may register; empty: any. */
  allowed_domains: string[];
}

export interface ResetPasswordRequest {
  /** An email address or a username. */
  login: string;
  code: string;
  new_password: string;
}

export interface LoginRequest {
  /** An email address or a username. */
  email: string;
  password: string;
}

/** `response_format`'s JSON Schema: what the answer must follow (draft 2020-12). */
export interface JsonSchemaFormat {
  /** 1-64 letters, digits, `_` or `-`. */
  name: string;
  /** A JSON Schema object (at most the spec's `max_length` bytes, serialised). */
  schema: Record<string, unknown>;
  strict?: boolean;
  description?: string;
}

/** Structured output (`response_format`): any JSON object, or JSON following a schema. */
export type ResponseFormat = { type: 'json_object' } | { type: 'json_schema'; json_schema: JsonSchemaFormat };

/** A parameter's value: a number (float or integer), a text, a list of texts, or a response format. */
export type ParamValue = number | string | string[] | ResponseFormat;

/**
 * A chat's (or an answer's) parameters, keyed by name: the names and their types are the server's
 * (`GET /api/models`, `models[].parameters`), not the client's. `model` is chosen from `models[]`.
 */
export type SamplingParams = {
  [name: string]: ParamValue | null | undefined;
  model?: string;
  system_prompt?: string;
};

/**
 * How a parameter is entered: a float (slider + number), an integer, a text, a list of texts, a
 * response format (structured output: its `max_length` is the most bytes of the serialised schema).
 */
export type ParamType = 'float' | 'integer' | 'text' | 'list' | 'response_format';

/** One parameter of a model, as the server describes it (bounds, default, whether it is accepted). */
export interface ParamSpec {
  type: ParamType;
  accepted: boolean;
  min?: number;
  min_exclusive?: boolean;
  max?: number;
  default?: number;
  max_items?: number;
  max_length?: number;
  /** Why the model's upstream does not accept it. */
  reason?: string;
}

/** Whether an answer of a model can be continued (`POST …/messages/{id}/continue`), and why not. */
export interface ContinueSupport {
  supported: boolean;
  reason?: string;
}

export interface ModelInfo {
  id: string;
  label: string;
  kind: string;
  max_tokens: number;
  /** Keyed by parameter name, in the server's table order. */
  parameters: Record<string, ParamSpec>;
  /** Whether its answers can be continued (absent: a server without continue). */
  continue?: ContinueSupport;
  /** From the models file or the environment, or found on an endpoint's model list. */
  source?: ModelSource;
  /** False when its endpoint does not answer (it can still be chosen). Absent: an older server. */
  reachable?: boolean;
}

/** Where a model comes from: configured (the models file, the environment) or discovered. */
export type ModelSource = 'configured' | 'discovered';

export interface ModelsResponse {
  demo: boolean;
  default_model: string | null;
  models: ModelInfo[];
  limits: { max_message_length: number; max_conversation_history: number };
}

export interface Chat {
  id: string;
  title: string | null;
  parameters: SamplingParams;
  /** The leaf of the branch on screen. */
  current_message_id: string | null;
  /** The preset whose parameters these are (cleared when the parameters are set by hand). */
  preset_id?: string | null;
  created_at: string;
  updated_at: string;
  /** Listed first in the sidebar. */
  pinned?: boolean;
  /** Left out of the chat list (shown in the "Archived" view and by a search). */
  archived?: boolean;
  /** The folder holding it (null: none). */
  folder_id?: string | null;
}

/** A folder of the sidebar (the server's FolderView); chats name it by `folder_id`. */
export interface Folder {
  id: string;
  name: string;
  order: number;
  created_at: string;
}

export interface ChatPage {
  chats: Chat[];
  next_cursor: string | null;
}

export interface CreateChatRequest {
  title?: string;
  parameters?: SamplingParams;
  /** Copy this preset's parameters (instead of `parameters`). */
  preset_id?: string;
}

export interface UpdateChatRequest {
  title?: string | null;
  parameters?: SamplingParams;
  current_message_id?: string;
  /** Copy this preset's parameters into the chat, replacing its own. */
  preset_id?: string;
}

export type Role = 'user' | 'assistant';
export type MessageStatus = 'streaming' | 'complete' | 'stopped' | 'error';
export type Vote = 'up' | 'down';

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  estimated?: boolean;
}

/** One way an answer misses its `response_format`. */
export interface StructuredError {
  /** A JSON Pointer into the answer (`/age`); '' for the whole answer. */
  path: string;
  message: string;
}

/** How an answer asked for structured output measured up: whether it is JSON following the format. */
export interface StructuredCheck {
  valid: boolean;
  /** At most 20 of them; `error_count` is how many there were. */
  errors: StructuredError[];
  error_count: number;
}

/** One continuation of an answer (`POST …/continue`): what it ran with and how it went. */
export interface Continuation {
  /** The exact parameters sent upstream for it. */
  parameters: SamplingParams;
  status: MessageStatus;
  finish_reason?: string;
  error?: { code: string; message: string };
  /** This continuation's tokens alone (the answer's `usage` adds them all up). */
  usage: Usage;
  ttft_ms?: number;
  duration_ms: number;
  tokens_per_second?: number;
  started_at: string;
}

export interface Message {
  id: string;
  chat_id: string;
  parent_id: string | null;
  role: Role;
  content: string;
  status: MessageStatus;
  created_at: string;
  parameters?: SamplingParams;
  model?: string;
  usage?: Usage;
  ttft_ms?: number;
  duration_ms?: number;
  tokens_per_second?: number;
  finish_reason?: string;
  error?: { code: string; message: string };
  vote: Vote | null;
  /** The chat's preset that gave this answer its parameters (no per-message override). */
  preset_id?: string | null;
  /** An answer whose parameters had a `response_format` (and which has text): how it measured up. */
  structured?: StructuredCheck;
  /**
   * An answer continued after it ended early: each continuation, oldest first (its `usage` adds
   * them up; its other stats are its first run's). Absent: never continued.
   */
  continuations?: Continuation[];
}

export interface VoteResponse {
  message_id: string;
  vote: Vote | null;
  reason: string | null;
}

export interface SendMessageRequest {
  content: string;
  parent_id?: string;
  parameters?: SamplingParams;
  client_request_id?: string;
}

export interface EditMessageRequest {
  content: string;
  parameters?: SamplingParams;
}

export interface RegenerateRequest {
  parameters?: SamplingParams;
}

/** `POST …/messages/{id}/continue`: overrides of the answer's own parameters, if any. */
export interface ContinueRequest {
  parameters?: SamplingParams;
}

/**
 * The typed events of a generation's `text/event-stream` (the POST send/edit/regenerate/continue streams
 * and the reattach stream `GET …/messages/{id}/stream`, which share their event names).
 */
export type StreamEvent =
  | { type: 'user_message'; message: Message }
  | { type: 'assistant_message'; message: Message }
  /** `offset`: where `content` starts in the answer's text (UTF-16 units), when the server says. */
  | { type: 'delta'; content: string; offset?: number }
  /** The answer's model must be loaded into memory first (before any `delta`). */
  | { type: 'loading'; model: string }
  | { type: 'done'; message: Message }
  | { type: 'error'; code: string; message: string; assistant_message: Message | null };

/**
 * One frame of the WebSocket (`/api/ws`) as it arrives; see the server's README, "Live events
 * (WebSocket)". The client turns it into a typed `LiveEvent` at once (lib/live/events.ts).
 */
export interface SocketFrame {
  type: string;
  id?: string;
  at?: string;
  chat_id?: string;
  message_id?: string;
  data?: unknown;
  /**
   * The event's place in the user's event log (`ready` and `resync`: the latest one). Absent
   * from `generation.delta`, which is not logged.
   */
  seq?: number;
  /** `session.ended`: the session that ended. */
  session_id?: string;
  /** `folder.*`: the folder it is about. */
  folder_id?: string;
}

// ---- the signed-in user's account ------------------------------------------------------------

/** One signed-in device (a refresh session). */
export interface SessionInfo {
  id: string;
  created_at: string;
  last_used_at: string;
  device: string;
  address: string | null;
  /** The session of this browser. */
  current: boolean;
}

/** Per-user limits. In effective limits null is no limit; in an admin's overrides, the default. */
export interface Limits {
  messages_per_minute: number | null;
  concurrent_generations: number | null;
  daily_tokens: number | null;
  monthly_tokens: number | null;
}

export type LimitName = keyof Limits;

export interface TokenCounts {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface ModelUsage extends TokenCounts {
  model: string;
}

export interface UsagePeriod extends TokenCounts {
  by_model: ModelUsage[];
}

export interface MyUsage {
  today: UsagePeriod;
  month: UsagePeriod;
  limits: Limits;
  /** Tokens left in the day and the month; null: no limit. */
  remaining: { daily_tokens: number | null; monthly_tokens: number | null };
}

// ---- administration ---------------------------------------------------------------------------

export interface AdminUser {
  id: string;
  username: string;
  email: string;
  role: UserRole;
  status: UserStatus;
  created_at: string;
  last_active_at: string | null;
  tokens_this_month: number;
  /** The user's own overrides (null: the default). */
  limits: Limits;
  /** What applies to the user (null: no limit). */
  effective_limits: Limits;
}

export interface AdminUserPage {
  users: AdminUser[];
  next_cursor: string | null;
}

export interface AdminUserUpdate {
  role?: UserRole;
  status?: UserStatus;
  /** A null value puts that limit back to the default. */
  limits?: Partial<Limits>;
}

export interface Invite {
  id: string;
  /** The full code: only in the answer that created the invite. */
  code?: string;
  /** The link to share (`{PUBLIC_URL}/?invite=CODE`): only in the creation answer. */
  url?: string;
  /** The start of the code, to recognise it. */
  prefix: string;
  uses: number;
  used: number;
  expires_at: string | null;
  role: UserRole;
  created_at: string;
}

export interface CreateInviteRequest {
  uses?: number;
  expires_in_hours?: number;
  role?: UserRole;
}

export type UsageGroupBy = 'user' | 'model' | 'day';

export interface UsageRow extends TokenCounts {
  /** The day (YYYY-MM-DD), the user's id or the model. */
  key: string;
  /** What to show: the day, the username or the model. */
  label: string;
  answers: number;
}

export interface UsageReport {
  group_by: UsageGroupBy;
  from: string;
  to: string;
  rows: UsageRow[];
}

export interface UsageQuery {
  /** YYYY-MM-DD, inclusive. */
  from?: string;
  to?: string;
  group_by?: UsageGroupBy;
}

/** Whether a model is in its server's memory; `unknown` when the server cannot tell (see `error`). */
export type ModelState = 'loaded' | 'loading' | 'unloaded' | 'failed' | 'unknown';

/** A model as the administration sees it (`GET /api/admin/models`). */
export interface AdminModel {
  id: string;
  label: string;
  /** The endpoint's name in the models file (`env` for the one the environment configures). */
  endpoint: string;
  /** `openai`, `vllm`, `llamacpp`, `ollama`, `tgi` or `custom`. */
  kind: string;
  source: ModelSource;
  reachable: boolean;
  /** The server can load and unload it (llama.cpp's router mode, Ollama). */
  manageable: boolean;
  state: ModelState;
  /** Memory the loaded model uses, where its server says (Ollama); of which in GPU memory. */
  memory_bytes: number | null;
  vram_bytes: number | null;
  /** Why the state is unknown or failed, in words. */
  error: string | null;
}

export interface AuditEntry {
  id: string;
  at: string;
  actor: { id: string; username: string } | null;
  action: string;
  target: string | null;
  address: string | null;
  detail: string | null;
}

export interface AuditPage {
  entries: AuditEntry[];
  next_cursor: string | null;
}

/** A named set of parameters (`GET /api/presets`): shared ones are everyone's, the others the caller's. */
export interface Preset {
  id: string;
  name: string;
  parameters: SamplingParams;
  shared: boolean;
  /** Own presets; shared ones only for admins. */
  editable: boolean;
  created_at: string;
  updated_at: string;
}

export interface CreatePresetRequest {
  /** 1-100 characters, unique per owner (case-insensitive). */
  name: string;
  parameters: SamplingParams;
  /** Admins only. */
  shared?: boolean;
}

export interface UpdatePresetRequest {
  name?: string;
  parameters?: SamplingParams;
  shared?: boolean;
}

// ---- API keys (Settings › API keys) -------------------------------------------------------

/** A key as listed: `prefix` is its first 12 characters (e.g. `cfk_AbCdEfGh`), never the rest. */
export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  /** RFC 3339. */
  created_at: string;
  /** RFC 3339; null: it never expires. */
  expires_at: string | null;
  /** RFC 3339; null: never used. */
  last_used_at: string | null;
}

/** The creation answer: the only one that carries the whole key. */
export interface CreatedApiKey extends ApiKey {
  key: string;
}

export interface CreateApiKeyRequest {
  /** 1–100 characters once trimmed. */
  name: string;
  /** 1–3650; absent: the key never expires. */
  expires_in_days?: number;
}
