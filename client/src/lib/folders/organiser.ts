// The sidebar's organising, apart from showing it: pin, archive and move a chat (expanded folders
// then reload their chats), fork from an answer (the new chat is listed and opened), and keeping
// the folders current while the sidebar is shown — their live events, and the window's
// `confab:chats-changed` (an import finished: the chat list and the folders reload).
import type { Chat } from '../api';
import { onChatsChanged } from '../chat/list/chatsChanged';
import type { ChatList } from '../chat/list/chatList.svelte';
import type { LiveStore } from '../live/live.svelte';
import { forkChat, patchChat, type ChatChange } from './api';
import { Folders } from './folders.svelte';
import { provideFork } from './fork.svelte';

export interface OrganiserParts {
  chats: Pick<ChatList, 'client' | 'changed' | 'added' | 'load'>;
  live: Pick<LiveStore, 'subscribe'>;
  /** Opens a chat (the one a fork made). */
  open: (id: string) => void;
  /** Where `confab:chats-changed` is heard (default: the window). */
  events?: EventTarget;
}

export class Organiser {
  readonly folders: Folders;
  readonly #parts: OrganiserParts;

  constructor(parts: OrganiserParts) {
    this.#parts = parts;
    this.folders = new Folders(parts.chats.client);
  }

  /** Pins, archives or moves a chat; rejects with the server's error. */
  async change(chatId: string, body: ChatChange): Promise<void> {
    const { chats } = this.#parts;
    chats.changed(await patchChat(chats.client, chatId, body));
    if ('folder_id' in body || 'archived' in body) this.folders.touched();
  }

  /** "Fork from here": a new chat holding the branch up to `messageId`, listed and opened. */
  async fork(chatId: string, messageId: string): Promise<Chat> {
    const { chats, open } = this.#parts;
    const chat = await forkChat(chats.client, chatId, messageId);
    chats.added(chat);
    open(chat.id);
    return chat;
  }

  /** Loads the folders and keeps them (and the chat list) current until the returned function is called. */
  start(): () => void {
    const { chats, live, events } = this.#parts;
    void this.folders.load();
    const stops = [
      live.subscribe((event) => this.folders.receive(event)),
      onChatsChanged(() => {
        void chats.load();
        void this.folders.refresh();
      }, events),
      provideFork(async (chatId, messageId) => void (await this.fork(chatId, messageId))),
      () => this.folders.stop(),
    ];
    return () => {
      for (const stop of stops) stop();
    };
  }
}
