import { describe, expect, it, vi } from 'vitest';
import { ApiClient } from '../api/client';
import { ApiError } from '../api/errors';
import type { AdminModel } from '../api/types';
import {
  AFTER_ACTION_MS,
  FAST_POLL_MS,
  SLOW_POLL_MS,
  actionError,
  formatBytes,
  mainAction,
  memoryText,
  offersUnload,
  pollDelay,
  stateChanges,
} from './models';
import { AdminModels, type PollEnv } from './models.svelte';

function model(id: string, extra: Partial<AdminModel> = {}): AdminModel {
  return {
    id,
    label: id,
    endpoint: 'llama-router',
    kind: 'llamacpp',
    source: 'configured',
    reachable: true,
    manageable: true,
    state: 'loaded',
    memory_bytes: null,
    vram_bytes: null,
    error: null,
    ...extra,
  };
}

describe('models in words', () => {
  it('bytes in decimal units, one decimal at most; none is a dash', () => {
    expect(formatBytes(5_100_000_000, 'en')).toBe('5.1 GB');
    expect(formatBytes(1_512_000_000, 'en')).toBe('1.5 GB');
    expect(formatBytes(756_000_000, 'en')).toBe('756 MB');
    expect(formatBytes(999_960_000, 'en')).toBe('1 GB');
    expect(formatBytes(512, 'en')).toBe('512 B');
    expect(formatBytes(0, 'en')).toBe('0 B');
    expect(formatBytes(null)).toBe('—');
    expect(memoryText({ memory_bytes: 1_512_000_000, vram_bytes: 756_000_000 }, 'en')).toBe('1.5 GB (756 MB VRAM)');
    expect(memoryText({ memory_bytes: 5_100_000_000, vram_bytes: null }, 'en')).toBe('5.1 GB');
    expect(memoryText({ memory_bytes: null, vram_bytes: null })).toBe('—');
  });

  it('one button that follows the state: Unload when loaded, Load otherwise, not while loading', () => {
    expect(mainAction(model('m'))).toEqual({ action: 'unload', enabled: true });
    expect(mainAction(model('m', { state: 'unloaded' }))).toEqual({ action: 'load', enabled: true });
    expect(mainAction(model('m', { state: 'failed' }))).toEqual({ action: 'load', enabled: true });
    expect(mainAction(model('m', { state: 'loading' }))).toEqual({ action: 'load', enabled: false });
    expect(offersUnload(model('m', { state: 'unknown' }))).toBe(true);
    expect(offersUnload(model('m'))).toBe(false);
  });

  it('polls often while a model loads or just after an action', () => {
    expect(pollDelay([model('a')], Infinity)).toBe(SLOW_POLL_MS);
    expect(pollDelay([model('a'), model('b', { state: 'loading' })], Infinity)).toBe(FAST_POLL_MS);
    expect(pollDelay([model('a')], 0)).toBe(FAST_POLL_MS);
    expect(pollDelay([model('a')], AFTER_ACTION_MS)).toBe(SLOW_POLL_MS);
  });

  it('says what changed; new and unchanged models say nothing', () => {
    const before = [model('router-model', { state: 'loading' }), model('b')];
    const after = [model('router-model'), model('b'), model('new', { state: 'failed' })];
    expect(stateChanges(before, after)).toEqual(['router-model loaded']);
    expect(stateChanges([model('x')], [model('x', { state: 'failed' })])).toEqual(['x failed to load']);
  });

  it('a refusal in the server’s words (the model server’s reason); others as usual', () => {
    expect(actionError(new ApiError(502, 'upstream_error', 'model is busy'))).toBe('model is busy');
    expect(actionError(new ApiError(409, 'not_manageable', 'confab-demo cannot be loaded or unloaded'))).toMatch(/cannot be loaded/);
    expect(actionError(new ApiError(0, 'network_error', 'x'))).toMatch(/Cannot reach/);
  });
});

describe('the admin models API', () => {
  it('lists, and loads or unloads by an encoded id; refusals carry the server’s code and words', async () => {
    const calls: string[] = [];
    const api = new ApiClient({
      fetch: async (url, init) => {
        calls.push(`${init?.method} ${url}`);
        if (url.endsWith('/unload')) {
          return new Response(JSON.stringify({ error: { code: 'upstream_error', message: 'busy' } }), { status: 502 });
        }
        const body = url.endsWith('/load') ? model('qwen3:8b/q4', { state: 'loading' }) : { models: [model('a')] };
        return new Response(JSON.stringify(body), { status: url.endsWith('/load') ? 202 : 200 });
      },
    });
    expect((await api.adminModels()).map((m) => m.id)).toEqual(['a']);
    expect((await api.adminModelAction('qwen3:8b/q4', 'load')).state).toBe('loading');
    await expect(api.adminModelAction('a', 'unload')).rejects.toMatchObject({ status: 502, code: 'upstream_error', message: 'busy' });
    expect(calls).toEqual([
      'GET /api/admin/models',
      'POST /api/admin/models/qwen3%3A8b%2Fq4/load',
      'POST /api/admin/models/a/unload',
    ]);
  });
});

/** A fake clock and timers, and a page that can be hidden. */
function fakeEnv() {
  let now = 0;
  let hidden = false;
  const timers = new Map<number, { at: number; fn: () => void }>();
  let next = 1;
  const listeners = new Set<() => void>();
  const env: PollEnv = {
    setTimer: (fn, ms) => {
      timers.set(next, { at: now + ms, fn });
      return next++;
    },
    clearTimer: (handle) => void timers.delete(handle as number),
    now: () => now,
    hidden: () => hidden,
    onVisibility: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return {
    env,
    /** The delay of the one timer set, or null. */
    pending: () => (timers.size ? [...timers.values()].map((t) => t.at - now)[0]! : null),
    count: () => timers.size,
    listeners: () => listeners.size,
    /** Moves the clock to the timer and runs it. */
    async fire() {
      const [id, timer] = [...timers.entries()][0]!;
      timers.delete(id);
      now = timer.at;
      timer.fn();
      await settle();
    },
    async setHidden(value: boolean) {
      hidden = value;
      for (const l of listeners) l();
      await settle();
    },
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

function fakeApi(lists: AdminModel[][]) {
  let i = 0;
  return {
    adminModels: vi.fn(async () => lists[Math.min(i++, lists.length - 1)]!),
    adminModelAction: vi.fn(async (id: string, action: 'load' | 'unload') =>
      model(id, { state: action === 'load' ? 'loading' : 'unloaded' }),
    ),
  };
}

describe('AdminModels', () => {
  it('polls every 10 s, every 2 s while a model loads, and announces what changed', async () => {
    const clock = fakeEnv();
    const api = fakeApi([[model('a')], [model('a', { state: 'loading' })], [model('a')]]);
    const list = new AdminModels(api, clock.env);
    const stop = list.start();
    await settle();
    expect(list.loaded).toBe(true);
    expect(list.models.map((m) => m.state)).toEqual(['loaded']);
    expect(clock.pending()).toBe(SLOW_POLL_MS);
    await clock.fire();
    expect(list.announcement).toBe('a loading');
    expect(clock.pending()).toBe(FAST_POLL_MS);
    await clock.fire();
    expect(list.announcement).toBe('a loaded');
    expect(clock.pending()).toBe(SLOW_POLL_MS);
    stop();
    expect(clock.count()).toBe(0);
    expect(clock.listeners()).toBe(0);
    expect(api.adminModels).toHaveBeenCalledTimes(3);
  });

  it('not while the page is hidden; at once when it shows again', async () => {
    const clock = fakeEnv();
    const api = fakeApi([[model('a')]]);
    const list = new AdminModels(api, clock.env);
    const stop = list.start();
    await settle();
    await clock.setHidden(true);
    expect(clock.count()).toBe(0);
    await clock.setHidden(false);
    expect(api.adminModels).toHaveBeenCalledTimes(2);
    expect(clock.pending()).toBe(SLOW_POLL_MS);
    stop();
  });

  it('an action replaces its row, polls often for a while, and drops a poll begun before it', async () => {
    const clock = fakeEnv();
    let release: (models: AdminModel[]) => void = () => undefined;
    const api = fakeApi([[model('router-model'), model('demo', { manageable: false })]]);
    const list = new AdminModels(api, clock.env);
    const stop = list.start();
    await settle();
    // A poll under way answers after the unload, with the state before it.
    api.adminModels.mockImplementationOnce(() => new Promise((r) => (release = r)));
    const poll = list.refresh();
    await list.act('router-model', 'unload');
    expect(api.adminModelAction).toHaveBeenCalledWith('router-model', 'unload');
    expect(list.models[0]!.state).toBe('unloaded');
    expect(list.announcement).toBe('router-model unloaded');
    release([model('router-model'), model('demo', { manageable: false })]);
    await poll;
    expect(list.models[0]!.state).toBe('unloaded');
    expect(clock.pending()).toBe(FAST_POLL_MS);
    stop();
  });

  it('a refused action is kept by its row until the next one; the list stays', async () => {
    const clock = fakeEnv();
    const api = fakeApi([[model('router-model', { state: 'unloaded' })]]);
    api.adminModelAction.mockRejectedValueOnce(new ApiError(502, 'upstream_error', 'out of memory'));
    const list = new AdminModels(api, clock.env);
    list.start();
    await settle();
    await list.act('router-model', 'load');
    expect(list.rowErrors.get('router-model')).toBe('out of memory');
    expect(list.busy.has('router-model')).toBe(false);
    await list.act('router-model', 'load');
    expect(list.rowErrors.has('router-model')).toBe(false);
    expect(list.models[0]!.state).toBe('loading');
    list.stop();
  });

  it('a failed poll says why and keeps polling', async () => {
    const clock = fakeEnv();
    const api = fakeApi([[model('a')]]);
    api.adminModels.mockRejectedValueOnce(new ApiError(403, 'forbidden', 'Admins only.'));
    const list = new AdminModels(api, clock.env);
    list.start();
    await settle();
    expect(list.error).toBe('Admins only.');
    await clock.fire();
    expect(list.error).toBeNull();
    expect(list.models).toHaveLength(1);
    list.stop();
  });
});
