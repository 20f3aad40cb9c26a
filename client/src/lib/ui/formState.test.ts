import { describe, expect, it } from 'vitest';
import { FormState } from './formState.svelte';

class FieldError extends Error {
  constructor(
    message: string,
    readonly fields: Record<string, string>,
  ) {
    super(message);
  }
}

describe('FormState', () => {
  it('is busy while the action runs, and true when it succeeded', async () => {
    const state = new FormState((e) => String(e));
    let seenBusy = false;
    const ok = await state.run(undefined, async () => {
      seenBusy = state.busy;
    });
    expect([ok, seenBusy, state.busy, state.message]).toEqual([true, true, false, null]);
  });

  it('a failure shows its message and field errors, and a new run clears them', async () => {
    const state = new FormState((e) => `described: ${(e as Error).message}`);
    const ok = await state.run(undefined, () => Promise.reject(new FieldError('bad', { password: 'is wrong' })));
    expect(ok).toBe(false);
    expect(state.message).toBe('described: bad');
    expect(state.fields).toEqual({ password: 'is wrong' });
    await state.run(undefined, async () => undefined);
    expect([state.message, state.fields]).toEqual([null, {}]);
  });

  it('a second submit while one runs is ignored', async () => {
    const state = new FormState(String);
    let release: () => void = () => undefined;
    const first = state.run(undefined, () => new Promise<void>((r) => (release = r)));
    expect(await state.run(undefined, async () => undefined)).toBe(false);
    release();
    expect(await first).toBe(true);
  });

  it('fail() can name the fields itself', () => {
    const state = new FormState(() => 'Type your username.');
    state.fail(new Error('x'), { confirm: 'Type it exactly.' });
    expect([state.message, state.fields]).toEqual(['Type your username.', { confirm: 'Type it exactly.' }]);
    state.reset();
    expect([state.message, state.fields]).toEqual([null, {}]);
  });

  it('an error code about one field is shown next to that field', async () => {
    class Coded extends Error {
      constructor(readonly code: string) {
        super('this is not the account\'s password');
      }
    }
    const state = new FormState((e) => (e as Error).message, { wrong_password: 'current_password' });
    await state.run(undefined, () => Promise.reject(new Coded('wrong_password')));
    expect(state.fields).toEqual({ current_password: "this is not the account's password" });
    await state.run(undefined, () => Promise.reject(new Coded('something_else')));
    expect(state.fields).toEqual({});
  });
});
