import 'fake-indexeddb/auto';
import { describeStoreContract } from '@baton/engine/testing';
import { mergeChange } from '@baton/engine';
import { liveQuery } from 'dexie';
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

describe('dexie store live queries', () => {
  /** The values a live query gives, until `until` holds for one (or 2 s pass). */
  async function watch<T>(
    query: () => Promise<T>,
    act: () => Promise<unknown>,
    until: (v: T) => boolean,
  ) {
    const seen: T[] = [];
    let done!: () => void;
    const reached = new Promise<void>((resolve) => (done = resolve));
    const subscription = liveQuery(query).subscribe((value) => {
      seen.push(value);
      if (until(value)) done();
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    await act();
    await Promise.race([reached, new Promise((resolve) => setTimeout(resolve, 2_000))]);
    subscription.unsubscribe();
    return seen;
  }

  it('tells a count of the outbox (the status bar’s) about the entries a write records', async () => {
    counter += 1;
    const db = openDatabase(`baton-test-${counter}`);
    const store = createDexieStore(db);
    const seen = await watch(
      () => db.outbox.count(),
      () => store.transaction((writer) => writer.record([change(1), change(2)])),
      (count) => count === 2,
    );
    expect(seen).toEqual([0, 2]);
    await db.delete();
  });

  it('tells a reader of the saved stamp about the newer one a write saves', async () => {
    counter += 1;
    const db = openDatabase(`baton-test-${counter}`);
    const store = createDexieStore(db);
    const stamp = () => db.meta.get('latestStamp').then((entry) => entry?.value);
    const seen = await watch(
      stamp,
      () => store.transaction((writer) => writer.record([change(7)])),
      (value) => value !== undefined,
    );
    expect(seen).toEqual([undefined, change(7).hlc]);
    await db.delete();
  });
});

describe('dexie store reads', () => {
  it('reads many keys at once, stored or not, over several tables, in the order asked', async () => {
    counter += 1;
    const db = openDatabase(`baton-test-${counter}`);
    const store = createDexieStore(db);
    const row = (table: 'tasks' | 'notes', id: string) =>
      mergeChange(undefined, { ...change(1), table, rowId: id, fields: { title: id } });
    // Stored: every third task, one note, and many tasks outside the asked range.
    const stored = [
      ...Array.from({ length: 60 }, (_, index) =>
        row('tasks', `b${String(index).padStart(3, '0')}`),
      ).filter((_, index) => index % 3 === 0),
      row('notes', 'n1'),
      ...Array.from({ length: 300 }, (_, index) => row('tasks', `z${index}`)),
    ];
    await store.transaction((writer) => writer.put(stored));
    const keys = [
      ...Array.from({ length: 60 }, (_, index) => ({
        table: 'tasks' as const,
        id: `b${String(59 - index).padStart(3, '0')}`,
      })),
      { table: 'notes' as const, id: 'n1' },
      { table: 'notes' as const, id: 'n2' },
    ];
    const expected = keys.map((key) =>
      stored.find((item) => item.table === key.table && item.id === key.id),
    );
    expect(await store.getMany(keys)).toEqual(expected);
    // A range with many more stored rows than asked for: read key by key, same answer.
    const spread = [
      { table: 'tasks' as const, id: 'b000' },
      ...Array.from({ length: 40 }, (_, index) => ({ table: 'tasks' as const, id: `z${index}` })),
      { table: 'tasks' as const, id: 'zz' },
    ];
    expect(await store.getMany(spread)).toEqual(
      spread.map((key) => stored.find((item) => item.id === key.id)),
    );
    await db.delete();
  });
});

describe('dexie store writes', () => {
  const row = (id: string, title: unknown) => ({
    ...mergeChange(undefined, { ...change(1), rowId: id, fields: { title: 'x' } }),
    fields: { title },
  });

  it('keeps writes in the order made, though it does not wait for each', async () => {
    counter += 1;
    const db = openDatabase(`baton-test-${counter}`);
    const store = createDexieStore(db);
    await store.transaction(async (writer) => {
      void writer.put([row('t1', 'first')]);
      void writer.put([row('t1', 'second')]);
      void writer.record([change(1)]);
      void writer.record([change(2)]);
    });
    expect((await store.get('tasks', 't1'))?.fields.title).toBe('second');
    expect((await readOutbox(db)).map((entry) => entry.change.rowId)).toEqual(['t1', 't2']);
    await db.delete();
  });

  it('keeps the order made across large puts and small ones (their rows announced apart)', async () => {
    counter += 1;
    const db = openDatabase(`baton-test-${counter}`);
    const store = createDexieStore(db);
    const many = (title: string) =>
      Array.from({ length: 60 }, (_, index) => row(`t${index}`, `${title} ${index}`));
    await store.transaction(async (writer) => {
      void writer.put([row('t1', 'small, first')]);
      void writer.put(many('large, second'));
      void writer.put([row('t1', 'small, third')]);
      void writer.put(many('large, fourth'));
      void writer.put([row('t2', 'small, last')]);
    });
    expect((await store.get('tasks', 't1'))?.fields.title).toBe('large, fourth 1');
    expect((await store.get('tasks', 't2'))?.fields.title).toBe('small, last');
    expect(await db.rows.count()).toBe(60);
    // Read back in the transaction that wrote them, large puts included.
    const seen = await store.transaction(async (writer) => {
      await writer.put(many('large, read back'));
      return (await writer.get('tasks', 't59'))?.fields.title;
    });
    expect(seen).toBe('large, read back 59');
    await db.delete();
  });

  it('fails the whole transaction when a large put holds a row IndexedDB cannot store', async () => {
    counter += 1;
    const db = openDatabase(`baton-test-${counter}`);
    const store = createDexieStore(db);
    const rows = Array.from({ length: 60 }, (_, index) => row(`t${index}`, `Task ${index}`));
    rows[30] = row('t30', () => 'not storable');
    await expect(
      store.transaction(async (writer) => {
        await writer.put([row('kept', 'kept only if all is')]);
        await writer.put(rows);
      }),
    ).rejects.toThrow();
    expect(await db.rows.count()).toBe(0);
    await db.delete();
  });

  it('fails the whole transaction when IndexedDB refuses a write it did not wait for', async () => {
    counter += 1;
    const db = openDatabase(`baton-test-${counter}`);
    const store = createDexieStore(db);
    await expect(
      store.transaction(async (writer) => {
        await writer.put([row('t1', 'kept only if all is')]);
        await writer.record([change(1)]);
        // A function cannot be stored: IndexedDB refuses the put (DataCloneError).
        await writer.put([row('t2', () => 'not storable')]);
        return 'done';
      }),
    ).rejects.toThrow();
    expect(await store.get('tasks', 't1')).toBeUndefined();
    expect(await readOutbox(db)).toEqual([]);
    await db.delete();
  });
});
