// The organising requests: pin, archive, move to a folder, the folders themselves, and fork.
// Thin typed wrappers over the API client's `json`.
import type { ApiClient, Chat, ChatPage, Folder } from '../api';

export type { Folder };

export type JsonClient = Pick<ApiClient, 'json'>;

const enc = encodeURIComponent;

export type ChatChange = { pinned: boolean } | { archived: boolean } | { folder_id: string | null };

export function patchChat(api: JsonClient, id: string, body: ChatChange): Promise<Chat> {
  return api.json<Chat>('PATCH', `/api/chats/${enc(id)}`, { body });
}

/** The archived chats, or one folder's chats (first page of 100). */
export function listChatsWhere(api: JsonClient, where: { archived: true } | { folder_id: string }): Promise<ChatPage> {
  const q = 'archived' in where ? 'archived=true' : `folder_id=${enc(where.folder_id)}`;
  return api.json<ChatPage>('GET', `/api/chats?${q}&limit=100`);
}

export async function listFolders(api: JsonClient): Promise<Folder[]> {
  return (await api.json<{ folders: Folder[] }>('GET', '/api/folders')).folders;
}

export function createFolder(api: JsonClient, name: string): Promise<Folder> {
  return api.json<Folder>('POST', '/api/folders', { body: { name } });
}

export function renameFolder(api: JsonClient, id: string, name: string): Promise<Folder> {
  return api.json<Folder>('PATCH', `/api/folders/${enc(id)}`, { body: { name } });
}

export function deleteFolder(api: JsonClient, id: string): Promise<void> {
  return api.json<void>('DELETE', `/api/folders/${enc(id)}`);
}

/** A new chat holding the branch from the root to `messageId` (409 `still_generating` while it streams). */
export function forkChat(api: JsonClient, chatId: string, messageId: string): Promise<Chat> {
  return api.json<Chat>('POST', `/api/chats/${enc(chatId)}/messages/${enc(messageId)}/fork`);
}
