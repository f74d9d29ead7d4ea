import 'fake-indexeddb/auto';
import { mergeChange, type StoredRow, type StoreWriter } from '@baton/engine';
import { Dexie, liveQuery, type ObservabilitySet, type RangeSet } from 'dexie';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { taskChange } from '../testing/fixtures.ts';
import { openDatabase, type BatonDatabase } from './database.ts';
import { createDexieStore } from './dexie-store.ts';
import { holdsAll, watchTable } from './table-watch.ts';

let counter = 0;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function task(n: number, title = `Task ${n}`): StoredRow {
  return mergeChange(undefined, { ...taskChange(n), fields: { title } });
}

/** A database, the worker's store on it, and a page's watch of its tasks. */
async function setup() {
  counter += 1;
  const db = openDatabase(`baton-watch-${counter}`);
  cleanups.push(() => db.delete());
  const store = createDexieStore(db);
  let seen: StoredRow[] = [];
  let reads = 0;
  const watch = watchTable({
    db,
    table: 'tasks',
    onRows: (rows) => {
      reads += 1;
      seen = rows;
    },
    onError: (error) => {
      throw error;
    },
  });
  cleanups.push(() => watch.close());
  const titles = () => seen.map((row) => row.fields['title']).sort();
  /** Waits until the watch read what `done` looks for (or gives up after a second). */
  const until = async (done: () => boolean) => {
    for (let attempt = 0; attempt < 200 && !done(); attempt += 1)
      await new Promise((resolve) => setTimeout(resolve, 5));
  };
  // Opening the database tells watchers "everything changed" once: wait for that read too.
  await until(() => reads >= 2);
  return { db, store, titles, until, reads: () => reads };
}

/** Writes a row straight into IndexedDB, unseen by Dexie (so no page is told of it). */
async function writeBehindDexie(db: BatonDatabase, row: StoredRow): Promise<void> {
  const transaction = db.backendDB().transaction('rows', 'readwrite');
  transaction.objectStore('rows').put(row);
  await new Promise((resolve) => (transaction.oncomplete = resolve));
}

describe('a page watching a table', () => {
  it('after its first read, re-reads only the rows each write touched', async () => {
    const { db, store, titles, until } = await setup();
    const many = Array.from({ length: 120 }, (_, index) => task(index + 1));
    await store.transaction((writer) => writer.put(many));
    await until(() => titles().length === 120);
    expect(titles()).toHaveLength(120);

    // A row no write through Dexie touched stays as first read: the table is not read again.
    await writeBehindDexie(db, task(500, 'Written behind Dexie'));
    await store.transaction((writer) => writer.put([task(7, 'Seventh, renamed')]));
    await until(() => titles().includes('Seventh, renamed'));
    expect(titles()).toContain('Seventh, renamed');
    expect(titles()).not.toContain('Written behind Dexie');
    expect(titles()).toHaveLength(120);
  });

  it('drops a row that is gone, ignores other tables, and reads everything after a write it cannot narrow', async () => {
    const { db, store, titles, until, reads } = await setup();
    await store.transaction((writer) => writer.put([task(1), task(2)]));
    await until(() => titles().length === 2);
    await db.rows.delete(['tasks', 't1']);
    await until(() => titles().length === 1);
    expect(titles()).toEqual(['Task 2']);

    const before = reads();
    await store.transaction((writer) =>
      writer.put([{ ...task(3), table: 'notes', fields: { title: 'A note' } }]),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(reads()).toBe(before);

    await writeBehindDexie(db, task(500, 'Written behind Dexie'));
    // One bulkPut of 50 rows or more: Dexie says only "the table changed".
    await db.rows.bulkPut(Array.from({ length: 60 }, (_, index) => task(index + 10)));
    await until(() => titles().length === 62);
    expect(titles()).toContain('Written behind Dexie');
    expect(titles()).toHaveLength(62);
  });

  it('hears a large write by its ids, and live queries over its table and indexes run again', async () => {
    const { db, store, titles, until } = await setup();
    const events: ObservabilitySet[] = [];
    const listen = (parts: ObservabilitySet) => void events.push(parts);
    Dexie.on('storagemutated', listen);
    cleanups.push(() => Dexie.on('storagemutated').unsubscribe(listen));
    const counted: number[] = [];
    const byMission: number[] = [];
    const subscriptions = [
      liveQuery(() => db.rows.where('table').equals('tasks').count()).subscribe((n) =>
        counted.push(n),
      ),
      liveQuery(() =>
        db.rows.where('[table+fields.missionId]').equals(['tasks', 'm1']).count(),
      ).subscribe((n) => byMission.push(n)),
    ];
    cleanups.push(() => subscriptions.forEach((subscription) => subscription.unsubscribe()));
    await until(() => counted.length > 0 && byMission.length > 0);

    // A row no write announced stays unseen: the watch reads the written rows, not the table.
    await writeBehindDexie(db, task(500, 'Written behind Dexie'));
    const many = Array.from({ length: 300 }, (_, index) => {
      const row = task(index + 1);
      return { ...row, fields: { ...row.fields, missionId: 'm1' } };
    });
    events.length = 0;
    await store.transaction((writer) => writer.put(many));
    await until(() => titles().length === 300 && counted.at(-1) === 301);
    expect(titles()).toHaveLength(300);
    expect(titles()).not.toContain('Written behind Dexie');
    expect(counted.at(-1)).toBe(301);
    await until(() => byMission.at(-1) === 300);
    expect(byMission.at(-1)).toBe(300);

    // Pages are told one range for the 300 rows, not a key each (Dexie merges every key into
    // each live query's set, which took most of a page's time during a large pull).
    const primaryKey = `idb://${db.name}/rows/`;
    const told = events.filter((parts) => primaryKey in parts);
    expect(told).toHaveLength(1);
    const ranges: unknown[] = [];
    for (const range of told[0]![primaryKey] as RangeSet) ranges.push(range);
    expect(ranges).toHaveLength(1);
    expect(ranges[0]).toMatchObject({ from: ['tasks', 't1'], to: ['tasks', 't99'] });
  });
});

describe('a small write heard with its rows', () => {
  it('shows the rows the announcement carries without reading them back', async () => {
    const { db, store, titles, until } = await setup();
    await store.transaction((writer) => writer.put([task(1), task(2)]));
    await until(() => titles().length === 2);
    const read = vi.spyOn(db.rows, 'bulkGet');
    await store.transaction((writer) => writer.put([task(1, 'First, renamed'), task(3)]));
    await until(() => titles().includes('Task 3'));
    expect(titles()).toEqual(['First, renamed', 'Task 2', 'Task 3']);
    expect(read).not.toHaveBeenCalled();
  });

  it('keeps a later version when an earlier one is announced after it', async () => {
    const { db, store, titles, until } = await setup();
    const first = task(7, 'Seventh');
    await store.transaction((writer) => writer.put([first]));
    await until(() => titles().includes('Seventh'));
    const renamed = mergeChange(first, {
      ...taskChange(7),
      hlc: '001800000000000-000007-dev_a',
      fields: { title: 'Seventh, renamed' },
    });
    await store.transaction((writer) => writer.put([renamed]));
    await until(() => titles().includes('Seventh, renamed'));

    // Another host's announcement of the earlier version, arriving late.
    const channel = new BroadcastChannel(`baton-rows-written:${db.name}`);
    channel.postMessage({ rows: [first] });
    channel.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(titles()).toEqual(['Seventh, renamed']);
  });
});

describe('a small write shown before it commits', () => {
  /** Keeps a transaction busy with reads until `done` (or 200 reads), as a slow commit would. */
  async function busyUntil(writer: StoreWriter, done: () => boolean): Promise<boolean> {
    for (let read = 0; read < 200 && !done(); read += 1) await writer.get('tasks', 'none');
    return done();
  }

  it('shows the rows while their transaction is still running', async () => {
    const { store, titles } = await setup();
    const shownBeforeCommit = await store.transaction(async (writer) => {
      await writer.put([task(5, 'Shown early')]);
      return busyUntil(writer, () => titles().includes('Shown early'));
    });
    expect(shownBeforeCommit).toBe(true);
  });

  it('takes the rows back when their transaction fails', async () => {
    const { store, titles, until } = await setup();
    await store.transaction((writer) => writer.put([task(1)]));
    await until(() => titles().includes('Task 1'));
    await expect(
      store.transaction(async (writer) => {
        await writer.put([task(9, 'Never saved')]);
        await busyUntil(writer, () => titles().includes('Never saved'));
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    await until(() => !titles().includes('Never saved'));
    expect(titles()).toEqual(['Task 1']);
  });

  it('draws a write once, though its rows are announced when put and again once committed', async () => {
    const { store, titles, until, reads } = await setup();
    const before = reads();
    await store.transaction((writer) => writer.put([task(4, 'Once')]));
    await until(() => titles().includes('Once'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(reads() - before).toBe(1);
  });
});

describe('which version holds the other', () => {
  const row = (stamps: Record<string, string>) => ({
    table: 'tasks' as const,
    id: 't1',
    fields: {},
    stamps,
  });
  it('a version holds another when every field is stamped the same or later', () => {
    expect(holdsAll(row({ title: 'b', done: 'a' }), row({ title: 'a', done: 'a' }))).toBe(true);
    expect(holdsAll(row({ title: 'a' }), row({ title: 'a' }))).toBe(true);
    expect(holdsAll(row({ title: 'a' }), row({ title: 'b' }))).toBe(false);
    expect(holdsAll(row({ title: 'b' }), row({ title: 'a', done: 'a' }))).toBe(false);
  });
});
