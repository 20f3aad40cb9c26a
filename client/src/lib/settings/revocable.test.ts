// The revocable lists of Settings (share links, API keys): loading, and Revoke once confirmed
// (done; already revoked elsewhere; failed).
import { describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api';
import { RevocableList } from './revocable.svelte';

type Item = { id: string; name: string };
const a: Item = { id: 'a', name: 'Alpha' };
const b: Item = { id: 'b', name: 'Bravo' };

function setup(revoke: (item: Item) => Promise<void> = async () => {}, list: () => Promise<Item[]> = async () => [a, b]) {
  const revoked = vi.fn(revoke);
  const records = new RevocableList<Item>({
    list,
    revoke: revoked,
    revoked: (item) => `Revoked ${item.name}.`,
    alreadyRevoked: (item) => `${item.name} was already revoked.`,
  });
  return { records, revoked };
}

describe('RevocableList', () => {
  it('loads the records, or says why not', async () => {
    const { records } = setup();
    expect(records.items).toBeNull();
    await records.load();
    expect(records.items).toEqual([a, b]);
    expect(records.error).toBeNull();

    const failing = setup(undefined, () => Promise.reject(new ApiError(500, 'internal', 'Something broke')));
    await failing.records.load();
    expect(failing.records.items).toBeNull();
    expect(failing.records.error).toBeTruthy();
  });

  it('revokes the record awaiting confirmation: its row goes, a status says so', async () => {
    const { records, revoked } = setup();
    await records.load();
    records.revoking = a;
    expect(await records.confirmRevoke()).toBe(true);
    expect(revoked).toHaveBeenCalledWith(a);
    expect(records.revoking).toBeNull();
    expect(records.items).toEqual([b]);
    expect(records.status).toBe('Revoked Alpha.');
  });

  it('drops a record already revoked elsewhere (404) all the same', async () => {
    const { records } = setup(() => Promise.reject(new ApiError(404, 'not_found', 'Not found')));
    await records.load();
    records.revoking = b;
    expect(await records.confirmRevoke()).toBe(true);
    expect(records.items).toEqual([a]);
    expect(records.status).toBe('Bravo was already revoked.');
    expect(records.error).toBeNull();
  });

  it('keeps the row when revoking fails otherwise, and says why', async () => {
    const { records } = setup(() => Promise.reject(new ApiError(500, 'internal', 'Something broke')));
    await records.load();
    records.status = 'Earlier.';
    records.revoking = a;
    expect(await records.confirmRevoke()).toBe(false);
    expect(records.revoking).toBeNull();
    expect(records.items).toEqual([a, b]);
    expect(records.error).toBeTruthy();
    expect(records.status).toBe('Earlier.');
  });

  it('does nothing when nothing awaits confirmation', async () => {
    const { records, revoked } = setup();
    await records.load();
    expect(await records.confirmRevoke()).toBe(false);
    expect(revoked).not.toHaveBeenCalled();
    expect(records.items).toEqual([a, b]);
  });
});
