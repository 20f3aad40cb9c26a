// The one vocabulary of live events. Two transports report what happens in a chat: SSE answer
// streams (this tab's own send, edit or regenerate, and the reattach stream that follows an
// answer from where the tab's text ends) and the WebSocket (every tab and device of the user).
// Each is turned into `LiveEvent` here, at its edge — `streamReader`/`fromStream` for the SSE
// events, `fromSocket` for the socket's frames — so stores and reducers see one typed union
// whatever the transport.
import type { Chat, Folder, Message, SocketFrame, StreamEvent, Vote } from '../api/types';

/**
 * Who reported it: `own` — this tab's own request (its generation stream — resumed by the
 * reattach stream if it broke — or the answer to its stop or vote); `follow` — the reattach
 * stream by which this tab follows an answer it did not start (another tab's or device's, or one
 * that was streaming when the chat was opened); `socket` — the WebSocket.
 */
export type Via = 'own' | 'follow' | 'socket';

export type LiveEvent = (
  /** A message was stored (a user message, or an answer; SSE `user_message`). */
  | { type: 'message.created'; via: Via; chat_id: string; message: Message }
  /** An answer starts streaming (SSE `assistant_message`). */
  | { type: 'generation.started'; via: Via; chat_id: string; message: Message }
  /**
   * More text of a streaming answer: `content` written at `offset` (UTF-16 units) of its text.
   * The socket sends the offset, and so does the SSE `delta`; `streamReader` counts it when one
   * comes without.
   */
  | { type: 'generation.delta'; via: Via; chat_id: string; message_id: string; content: string; offset: number }
  /**
   * The answer's model is being loaded into memory before it answers (SSE `loading`, before any
   * delta): `model` is the model's id.
   */
  | { type: 'generation.loading'; via: Via; chat_id: string; message_id: string; model: string }
  /** An answer ended (complete, stopped, or failed); `message` is its final state (SSE `done`). */
  | { type: 'generation.finished'; via: Via; chat_id: string; message: Message }
  /**
   * This tab's generation failed (SSE `error`); `message` is the answer as far as it got. Code
   * `not_saved`: the answer is complete but could not be stored yet — a `generation.finished`
   * follows once it is.
   */
  | { type: 'generation.failed'; via: 'own'; chat_id: string; code: string; error: string; message: Message | null }
  | { type: 'message.voted'; via: Via; chat_id: string; message_id: string; vote: Vote | null }
  | { type: 'chat.created' | 'chat.updated'; via: 'socket'; chat_id: string; chat: Chat }
  | { type: 'chat.deleted'; via: 'socket'; chat_id: string }
  /** A folder was made, or renamed or reordered (`folder` is as it is now). */
  | { type: 'folder.created' | 'folder.updated'; via: 'socket'; folder_id: string; folder: Folder }
  /** A folder was deleted; its chats were taken out of it (each has its `chat.updated`). */
  | { type: 'folder.deleted'; via: 'socket'; folder_id: string }
  /** A folder event arrived that could not be read: whoever shows the folders reloads them. */
  | { type: 'folder.unreadable'; via: 'socket' }
  /**
   * A session of this user ended (sign-out, revocation). Nothing to show: the server closes that
   * session's sockets itself (4001), which lib/live/connection.ts handles.
   */
  | { type: 'session.ended'; via: 'socket'; session_id: string }
  /** An event of this chat arrived that could not be read: whoever shows the chat reloads it. */
  | { type: 'unreadable'; via: 'socket'; chat_id: string }
  /**
   * Events were lost beyond what the server can replay (its `resync` frame): reload what is on
   * screen.
   */
  | { type: 'resync'; via: 'socket' }
) & {
  /**
   * Where a socket event sits in the user's event log; absent for deltas (not logged) and this
   * tab's own stream. lib/live/connection.ts has already dropped what this tab applied before.
   */
  seq?: number;
};

export type LiveEventType = LiveEvent['type'];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isMessage(value: unknown): value is Message {
  if (!isRecord(value)) return false;
  return (
    typeof value.id === 'string' &&
    typeof value.content === 'string' &&
    (value.role === 'user' || value.role === 'assistant')
  );
}

export function isChat(value: unknown): value is Chat {
  return isRecord(value) && typeof value.id === 'string' && typeof value.updated_at === 'string';
}

export function isFolder(value: unknown): value is Folder {
  return isRecord(value) && typeof value.id === 'string' && typeof value.name === 'string' && typeof value.order === 'number';
}

// ---- the WebSocket's edge ----------------------------------------------------------------------

/**
 * A socket frame as a `LiveEvent`, with its `seq`; null for frames that are not events (`ready`
 * and `resync` are the connection's own) and for types this client does not know. A known event
 * whose payload cannot be read becomes `unreadable` (when it names its chat), so the chat is
 * reloaded rather than left wrong.
 */
export function fromSocket(frame: SocketFrame): LiveEvent | null {
  const event = readFrame(frame);
  if (event && frame.seq !== undefined) event.seq = frame.seq;
  return event;
}

function readFrame(frame: SocketFrame): LiveEvent | null {
  const data = frame.data;
  const unreadable = (): LiveEvent | null =>
    frame.chat_id ? { type: 'unreadable', via: 'socket', chat_id: frame.chat_id } : null;
  switch (frame.type) {
    case 'message.created':
    case 'generation.started':
    case 'generation.finished': {
      if (!isMessage(data)) return unreadable();
      const chatId = frame.chat_id ?? data.chat_id;
      if (typeof chatId !== 'string') return null;
      return { type: frame.type, via: 'socket', chat_id: chatId, message: data };
    }
    case 'generation.delta': {
      if (!frame.chat_id || !frame.message_id || !isRecord(data)) return unreadable();
      const { content, offset } = data;
      if (typeof content !== 'string' || typeof offset !== 'number') return unreadable();
      return { type: 'generation.delta', via: 'socket', chat_id: frame.chat_id, message_id: frame.message_id, content, offset };
    }
    case 'generation.loading': {
      if (!frame.chat_id || !frame.message_id || !isRecord(data) || typeof data.model !== 'string') return unreadable();
      return { type: 'generation.loading', via: 'socket', chat_id: frame.chat_id, message_id: frame.message_id, model: data.model };
    }
    case 'message.voted': {
      if (!frame.chat_id || !frame.message_id) return unreadable();
      const raw = isRecord(data) ? data.vote : null;
      const vote: Vote | null = raw === 'up' || raw === 'down' ? raw : null;
      return { type: 'message.voted', via: 'socket', chat_id: frame.chat_id, message_id: frame.message_id, vote };
    }
    case 'chat.created':
    case 'chat.updated':
      if (!isChat(data)) return unreadable();
      return { type: frame.type, via: 'socket', chat_id: data.id, chat: data };
    case 'chat.deleted':
      return frame.chat_id ? { type: 'chat.deleted', via: 'socket', chat_id: frame.chat_id } : null;
    case 'folder.created':
    case 'folder.updated':
      if (!isFolder(data)) return { type: 'folder.unreadable', via: 'socket' };
      return { type: frame.type, via: 'socket', folder_id: data.id, folder: data };
    case 'folder.deleted':
      return frame.folder_id ? { type: 'folder.deleted', via: 'socket', folder_id: frame.folder_id } : { type: 'folder.unreadable', via: 'socket' };
    case 'session.ended':
      return frame.session_id ? { type: 'session.ended', via: 'socket', session_id: frame.session_id } : null;
    default:
      return null;
  }
}

// ---- the generation stream's edge ----------------------------------------------------------------

export interface ReaderOptions {
  /** Whose stream it is (default `own`). */
  via?: 'own' | 'follow';
  /**
   * A reattach stream: the answer it follows, which the tab already shows. Its opening
   * (`assistant_message`: the answer as it started, without text) is then skipped — it would
   * tell the tab nothing, and must not move the view.
   */
  answer?: string;
  /** Where its text starts (UTF-16 units): the `from` the reattach stream was opened with. */
  offset?: number;
}

/**
 * Turns the SSE events of one generation of chat `chatId` into `LiveEvent`s, one at a time. It
 * remembers the answer's id and where its text has got to, so each `delta` gets the message id
 * and offset a socket delta would carry (the delta's own `offset` when the server sends one).
 * Followed (`via: 'follow'`), an answer's end is reported as the socket reports it, as
 * `generation.finished` — its failure is that answer's, not an error of this tab.
 */
export function streamReader(chatId: string, options: ReaderOptions = {}): (event: StreamEvent) => LiveEvent | null {
  const via = options.via ?? 'own';
  const resumed = options.answer !== undefined;
  let answer: string | null = options.answer ?? null;
  let offset = options.offset ?? 0;
  return (event) => {
    switch (event.type) {
      case 'user_message':
        return resumed ? null : { type: 'message.created', via, chat_id: chatId, message: event.message };
      case 'assistant_message':
        if (resumed) return null;
        answer = event.message.id;
        offset = event.message.content.length;
        return { type: 'generation.started', via, chat_id: chatId, message: event.message };
      case 'delta': {
        if (answer === null) return null; // no answer to write to (the server always names it first)
        const at = event.offset ?? offset;
        const delta: LiveEvent = { type: 'generation.delta', via, chat_id: chatId, message_id: answer, content: event.content, offset: at };
        offset = at + event.content.length;
        return delta;
      }
      case 'loading':
        // Like a delta, it concerns the answer the stream named first.
        return answer === null ? null : { type: 'generation.loading', via, chat_id: chatId, message_id: answer, model: event.model };
      case 'done':
        return { type: 'generation.finished', via, chat_id: chatId, message: event.message };
      case 'error':
        if (via === 'follow') {
          const message = event.assistant_message;
          return message ? { type: 'generation.finished', via, chat_id: chatId, message } : null;
        }
        return {
          type: 'generation.failed',
          via: 'own',
          chat_id: chatId,
          code: event.code,
          error: event.message,
          message: event.assistant_message,
        };
    }
  };
}

/** A generation stream of chat `chatId` as `LiveEvent`s (stopping early cancels the stream). */
export async function* fromStream(chatId: string, events: AsyncIterable<StreamEvent>): AsyncGenerator<LiveEvent> {
  const read = streamReader(chatId);
  for await (const event of events) {
    const live = read(event);
    if (live) yield live;
  }
}
