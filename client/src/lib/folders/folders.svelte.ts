// The folders of the sidebar, kept current by the live events: `folder.created`, `folder.updated`
// and `folder.deleted` from any tab or device (this tab's own changes are applied from the
// server's answer at once; their events then change nothing), a reload on `resync`. `version`
// grows with every change that may alter a folder's chats: an expanded folder then reloads them.
import { describeError } from '../api';
import type { LiveEvent } from '../live/events';
import { createFolder, deleteFolder, listFolders, renameFolder, type Folder, type JsonClient } from './api';
import { sortFolders } from './organise';

/** Chat events come in bursts (a folder's deletion moves each of its chats): one bump per burst. */
const SETTLE_MS = 200;

export class Folders {
  folders = $state.raw<Folder[]>([]);
  error = $state<string | null>(null);
  /** Bumped when chats may have moved in or out of folders (expanded folders reload). */
  version = $state(0);

  readonly #api: JsonClient;
  #bump: ReturnType<typeof setTimeout> | null = null;
  #request = 0;
  /** While a load is in flight, the changes applied meanwhile: its answer may predate them. */
  #changes: ((folders: Folder[]) => Folder[])[] | null = null;

  constructor(api: JsonClient) {
    this.#api = api;
  }

  /** Loads the list (a newer load wins over one in flight). */
  async load(): Promise<void> {
    const request = ++this.#request;
    this.#changes = [];
    try {
      let folders = await listFolders(this.#api);
      if (request !== this.#request) return;
      for (const change of this.#changes ?? []) folders = change(folders);
      this.folders = sortFolders(folders);
      this.error = null;
    } catch (e) {
      if (request === this.#request) this.error = describeError(e);
    } finally {
      if (request === this.#request) this.#changes = null;
    }
  }

  /** Reloads the folders; then expanded folders reload their chats. */
  async refresh(): Promise<void> {
    await this.load();
    this.version++;
  }

  /** Rejects with the server's error (409 `conflict` names `fields.name`). */
  async create(name: string): Promise<Folder> {
    const folder = await createFolder(this.#api, name);
    this.#put(folder);
    return folder;
  }

  async rename(id: string, name: string): Promise<void> {
    this.#put(await renameFolder(this.#api, id, name));
  }

  /** Deletes the folder; its chats stay, moved out of it. */
  async remove(id: string): Promise<void> {
    await deleteFolder(this.#api, id);
    this.#drop(id);
    // After the removal: a bump first would have the deleted folder ask for its chats (404).
    this.version++;
  }

  /** A chat moved (or changed) here: expanded folders reload. */
  touched(): void {
    this.version++;
  }

  /** A live event: `folder.*` changes the list, `resync` reloads it, a chat's change may move it. */
  receive(event: LiveEvent): void {
    switch (event.type) {
      case 'folder.created':
      case 'folder.updated':
        this.#put(event.folder);
        break;
      case 'folder.deleted':
        this.#drop(event.folder_id);
        break;
      case 'folder.unreadable':
        void this.load();
        break;
      case 'resync':
        void this.refresh();
        break;
      case 'chat.created':
      case 'chat.updated':
      case 'chat.deleted':
        this.#bump ??= setTimeout(() => {
          this.#bump = null;
          this.version++;
        }, SETTLE_MS);
        break;
    }
  }

  /** Forgets a pending bump (the sidebar is gone). */
  stop(): void {
    if (this.#bump !== null) clearTimeout(this.#bump);
    this.#bump = null;
  }

  /** Adds or replaces a folder. */
  #put(folder: Folder): void {
    this.#apply((folders) => [...folders.filter((f) => f.id !== folder.id), folder]);
  }

  #drop(id: string): void {
    this.#apply((folders) => folders.filter((f) => f.id !== id));
  }

  /** Changes the list, and the answer of a load in flight once it comes. */
  #apply(change: (folders: Folder[]) => Folder[]): void {
    this.#changes?.push(change);
    this.folders = sortFolders(change(this.folders));
  }
}
