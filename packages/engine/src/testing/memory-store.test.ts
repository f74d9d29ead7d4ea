import { describe, expect, it } from 'vitest';
import type { StoredRow } from '../sync/merge.ts';
import { createMemoryStore } from './memory-store.ts';
import { describeStoreContract } from './store-contract.ts';

describeStoreContract('memory', async () => {
  const store = createMemoryStore();
  return { store, recorded: async () => [...store.recorded] };
});

function row(id: string, state: string): StoredRow {
  return { table: 'missions', id, fields: { state }, stamps: {} };
}

describe('memory store index', () => {
  it('filters by the current value after a row changes, inside and after a transaction', async () => {
    const store = createMemoryStore();
    await store.transaction((writer) => writer.put([row('a', 'active'), row('b', 'active')]));
    expect((await store.list('missions', { field: 'state', equals: 'active' })).length).toBe(2);
    const inside = await store.transaction(async (writer) => {
      await writer.put([row('a', 'paused')]);
      return (await writer.list('missions', { field: 'state', equals: 'active' })).map(
        (item) => item.id,
      );
    });
    expect(inside).toEqual(['b']);
    expect(
      (await store.list('missions', { field: 'state', equals: 'active' })).map((item) => item.id),
    ).toEqual(['b']);
    expect(
      (await store.list('missions', { field: 'state', equals: 'paused' })).map((item) => item.id),
    ).toEqual(['a']);
  });
});
