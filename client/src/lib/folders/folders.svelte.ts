// The folders of the sidebar. Folder changes are not pushed live: the list is reloaded after
// each change made here. `version` grows with every change that may alter a folder's chats.
import { describeError } from '../api';
import { createFolder, deleteFolder, listFolders, renameFolder, type Folder, type JsonClient } from './api';
import { sortFolders } from './organise';

export class Folders {
  folders = $state.raw<Folder[]>([]);
  error = $state<string | null>(null);
  /** Bumped when chats may have moved in or out of folders (expanded folders reload). */
  version = $state(0);

  readonly #api: JsonClient;

  constructor(api: JsonClient) {
    this.#api = api;
  }

  async load(): Promise<void> {
    try {
      this.folders = sortFolders(await listFolders(this.#api));
      this.error = null;
    } catch (e) {
      this.error = describeError(e);
    }
  }

  /** Rejects with the server's error (409 `conflict` names `fields.name`). */
  async create(name: string): Promise<Folder> {
    const folder = await createFolder(this.#api, name);
    await this.load();
    return folder;
  }

  async rename(id: string, name: string): Promise<void> {
    await renameFolder(this.#api, id, name);
    await this.load();
  }

  /** Deletes the folder; its chats stay, moved out of it. */
  async remove(id: string): Promise<void> {
    await deleteFolder(this.#api, id);
    await this.load();
    // After the reload: a bump first would have the deleted folder ask for its chats (404).
    this.version++;
  }

  /** A chat moved (or changed) here: expanded folders reload. */
  touched(): void {
    this.version++;
  }
}
