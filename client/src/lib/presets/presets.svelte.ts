// The presets the signed-in user sees, loaded once when a picker first needs them and kept in
// step with this tab's own changes (create, rename, delete). Shared by the parameters panel, the
// new-chat picker and Settings.
import { describeError, type ApiClient, type Preset } from '../api';
import { sortPresets } from './presets';

type PresetsApi = Pick<ApiClient, 'listPresets'>;

export class Presets {
  list = $state<Preset[]>([]);
  loaded = $state(false);
  error = $state<string | null>(null);
  #loading: Promise<void> | null = null;

  /** Loads the list unless it is loaded (or loading). */
  ensure(api: PresetsApi): Promise<void> {
    if (this.loaded) return Promise.resolve();
    return this.reload(api);
  }

  /** Loads the list again (single-flight). */
  reload(api: PresetsApi): Promise<void> {
    this.#loading ??= (async () => {
      try {
        this.list = sortPresets(await api.listPresets());
        this.loaded = true;
        this.error = null;
      } catch (e) {
        this.error = describeError(e);
      } finally {
        this.#loading = null;
      }
    })();
    return this.#loading;
  }

  find(id: string | null | undefined): Preset | undefined {
    return id ? this.list.find((p) => p.id === id) : undefined;
  }

  /** A preset created or changed here. */
  put(preset: Preset): void {
    this.list = sortPresets([...this.list.filter((p) => p.id !== preset.id), preset]);
  }

  removed(id: string): void {
    this.list = this.list.filter((p) => p.id !== id);
  }

  /** Signed out: forget the user's presets. */
  clear(): void {
    this.list = [];
    this.loaded = false;
    this.error = null;
  }
}

export const presets = new Presets();
