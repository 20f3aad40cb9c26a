// The open chat's first load, started the moment the session is known — before the app has
// rendered the view that needs it (a deep link or a reload of a long chat shows sooner).
import type { ApiClient, Chat, Message } from '../api';

type Loaded = Promise<[Chat, Message[]]>;
const pending = new Map<string, Loaded>();

/** Starts loading chat `id` and its messages (once; kept until taken). Returns the load. */
export function prefetchChat(api: Pick<ApiClient, 'getChat' | 'listMessages'>, id: string): Loaded {
  const started = pending.get(id);
  if (started) return started;
  const loading: Loaded = Promise.all([api.getChat(id), api.listMessages(id)]);
  // Not taken yet is not unhandled: whoever takes it sees the error.
  loading.catch(() => undefined);
  pending.set(id, loading);
  return loading;
}

/** The load started for `id`, if any (each is handed out once). */
export function takePrefetched(id: string): Loaded | undefined {
  const loading = pending.get(id);
  pending.delete(id);
  return loading;
}
