import 'fake-indexeddb/auto';
import { describeStoreContract } from '@baton/engine/testing';
import { describe, expect, it } from 'vitest';
import { openDatabase } from './database.ts';
import { createDexieOutbox, createDexieStore, readOutbox } from './dexie-store.ts';
import { taskChange as change } from '../testing/fixtures.ts';

let counter = 0;

describeStoreContract('dexie', async () => {
  counter += 1;
  const db = openDatabase(`baton-test-${counter}`);
  return {
    store: createDexieStore(db),
    recorded: async () => (await readOutbox(db)).map((entry) => entry.change),
    cleanup: () => db.delete(),
  };
});

describe('dexie outbox', () => {
  it('reads the oldest entries first and drops through a seq, keeping later writes', async () => {
    counter += 1;
    const db = openDatabase(`baton-test-${counter}`);
    const store = createDexieStore(db);
    const outbox = createDexieOutbox(db);
    await store.transaction((writer) => writer.record([change(1), change(2)]));
    await store.transaction((writer) => writer.record([change(3)]));
    const first = await outbox.read(2);
    expect(first.map((entry) => entry.change.rowId)).toEqual(['t1', 't2']);
    await store.transaction((writer) => writer.record([change(4)]));
    await outbox.drop(first[1]!.seq);
    expect((await outbox.read(10)).map((entry) => entry.change.rowId)).toEqual(['t3', 't4']);
    await db.delete();
  });

  it('moves a refused entry to the refused list with its reason, keeping the others in order', async () => {
    counter += 1;
    const db = openDatabase(`baton-test-${counter}`);
    const store = createDexieStore(db);
    const outbox = createDexieOutbox(db, () => 42);
    await store.transaction((writer) => writer.record([change(1), change(2), change(3)]));
    const [, second] = await outbox.read(10);
    await outbox.refuse(second!, 'changes.1.hlc: too far ahead');
    expect((await outbox.read(10)).map((entry) => entry.change.rowId)).toEqual(['t1', 't3']);
    expect(await db.refused.toArray()).toEqual([
      { seq: 1, change: change(2), reason: 'changes.1.hlc: too far ahead', at: 42 },
    ]);
    await db.delete();
  });
});
