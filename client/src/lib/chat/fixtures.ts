// Test fixtures shared by the chat tests: messages and chats with only what a test sets.
import type { Chat, Message } from '../api/types';

let clock = 0;

/** A message (an answer unless `over` says otherwise), each created a second after the last. */
export function msg(id: string, parent: string | null, over: Partial<Message> = {}): Message {
  clock++;
  return {
    id,
    chat_id: 'c1',
    parent_id: parent,
    role: 'assistant',
    content: '',
    status: 'complete',
    created_at: `2026-01-01T00:00:${String(clock).padStart(2, '0')}Z`,
    vote: null,
    ...over,
  };
}

/** A chat last active at `updated`. */
export const chatAt = (id: string, updated: string, title: string | null = id): Chat => ({
  id,
  title,
  parameters: {},
  current_message_id: null,
  created_at: updated,
  updated_at: updated,
});
