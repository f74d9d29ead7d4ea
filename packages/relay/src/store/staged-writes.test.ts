import { mergeChange, type Change, type StoreWriter } from '@baton/engine';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Database, TransactionRunner } from '../db/database.ts';
import { describeOnEachDatabase } from '../testing/describe-on-database.ts';
import { createTestDatabase } from '../testing/test-database.ts';
import { createChangeFactory } from '../testing/test-relay.ts';
import { pullChanges } from './change-log.ts';
import { pushChanges } from './push-changes.ts';
import { createSqlStore } from './sql-store.ts';

/** Merges `change` into its row and records it, as the engine's writes do. */
async function write(writer: StoreWriter, change: Change): Promise<void> {
  await writer.put([mergeChange(await writer.get(change.table, change.rowId), change)]);
  await writer.record([change]);
}

const ids = (rows: Array<{ id: string }>) => rows.map((row) => row.id);

describeOnEachDatabase("a group's staged writes", (kind) => {
  let db: Database;
  let statements: string[];
  let transactions: number;
  const userId = 'u_staged';

  beforeEach(async () => {
    const real = await createTestDatabase(kind);
    statements = [];
    transactions = 0;
    const counting = (runner: TransactionRunner): TransactionRunner => ({
      ...runner,
      query: (text, params) => {
        statements.push(text.trim());
        return runner.query(text, params);
      },
      savepoint: (fn) => runner.savepoint((inner) => fn(counting(inner))),
    });
    db = {
      ...real,
      kind: real.kind,
      query: real.query.bind(real),
      transaction: (fn) => {
        transactions += 1;
        return real.transaction((runner) => fn(counting(runner)));
      },
      listen: real.listen.bind(real),
      notify: real.notify.bind(real),
      close: real.close.bind(real),
    };
  });
  afterEach(async () => {
    await db.close();
  });

  const count = (pattern: RegExp) => statements.filter((text) => pattern.test(text)).length;

  it("writes a group's rows in one statement and its changes in two (their ids, their page); each write reads the earlier ones' first", async () => {
    const store = createSqlStore({ db }).forUser(userId);
    const change = createChangeFactory({ wallMs: 1_767_225_600_000 });
    const moved = change('t_moved', { title: 'moved', priority: 'high' });
    await store.transaction((writer) => write(writer, moved));
    statements = [];
    transactions = 0;

    const first = change('t_first', { title: 'first', priority: 'high' });
    const second = change('t_moved', { priority: 'low' });
    const third = change('t_third', { title: 'third', priority: 'high' });
    const seen: Record<string, unknown> = {};
    await Promise.all([
      store.transaction((writer) => write(writer, first)),
      store.transaction(async (writer) => {
        seen.secondGets = (await writer.get('tasks', 't_first'))?.fields.title;
        seen.secondLists = ids(await writer.list('tasks', { field: 'priority', equals: 'high' }));
        await write(writer, second);
      }),
      store.transaction(async (writer) => {
        seen.thirdLists = ids(await writer.list('tasks', { field: 'priority', equals: 'high' }));
        seen.thirdGetsMany = (
          await writer.getMany([
            { table: 'tasks', id: 't_moved' },
            { table: 'tasks', id: 't_missing' },
            { table: 'tasks', id: 't_first' },
          ])
        ).map((row) => row?.fields.priority);
        await write(writer, third);
      }),
    ]);

    expect(seen).toEqual({
      secondGets: 'first',
      secondLists: ['t_first', 't_moved'],
      // Moved out of the list by the write before, though the database still holds it there.
      thirdLists: ['t_first'],
      thirdGetsMany: ['low', undefined, 'high'],
    });
    expect(transactions).toBe(1);
    expect(count(/^insert into rows/)).toBe(1);
    expect(count(/insert into change_ids/)).toBe(1);
    expect(count(/insert into change_pages/)).toBe(1);
    expect(count(/^savepoint/i)).toBe(0);
    const log = await pullChanges(db, { userId, since: '0', limit: 10 });
    expect(log.changes.map((logged) => logged.id)).toEqual(
      [moved, first, second, third].map((c) => c.id),
    );
    expect(log.cursor).toBe('u4');
    const rows = await store.getMany([
      { table: 'tasks', id: 't_first' },
      { table: 'tasks', id: 't_moved' },
      { table: 'tasks', id: 't_third' },
    ]);
    expect(rows.map((row) => [row?.fields.title, row?.fields.priority])).toEqual([
      ['first', 'high'],
      ['moved', 'low'],
      ['third', 'high'],
    ]);
  });

  it('drops what a write that throws staged; the rest of its group is written', async () => {
    const store = createSqlStore({ db }).forUser(userId);
    const change = createChangeFactory({ wallMs: 1_767_225_600_000 });
    const kept = change('t_kept');
    const dropped = change('t_dropped');
    const after = change('t_after');
    const results = await Promise.allSettled([
      store.transaction((writer) => write(writer, kept)),
      store.transaction(async (writer) => {
        await write(writer, dropped);
        throw new Error('refused after writing');
      }),
      store.transaction(async (writer) => {
        // The write that threw is not seen by the next one either.
        expect(await writer.get('tasks', 't_dropped')).toBeUndefined();
        await write(writer, after);
      }),
    ]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(transactions).toBe(1);
    const log = await pullChanges(db, { userId, since: '0', limit: 10 });
    expect(log.changes.map((logged) => logged.rowId)).toEqual(['t_kept', 't_after']);
    expect(await store.get('tasks', 't_dropped')).toBeUndefined();
  });

  it('writes what the group staged before a push in the group reads the rows it merges into', async () => {
    const store = createSqlStore({ db }).forUser(userId);
    const relayChange = createChangeFactory({ wallMs: 1_767_225_600_000, deviceId: 'relay' });
    const deviceChange = createChangeFactory({
      wallMs: 1_767_225_600_001,
      deviceId: 'dev_b',
      idPrefix: 'B',
    });
    const created = relayChange('t_shared', { title: 'from the relay' });
    const edited = deviceChange('t_shared', { done: true });
    await Promise.all([
      store.transaction((writer) => write(writer, created)),
      pushChanges({ db, userId, changes: [edited], now: 1 }),
    ]);
    expect(transactions).toBe(1);
    // Neither write is lost: the push merged into the row the staged write created.
    expect((await store.get('tasks', 't_shared'))?.fields).toMatchObject({
      title: 'from the relay',
      done: true,
    });
    const log = await pullChanges(db, { userId, since: '0', limit: 10 });
    expect(log.changes.map((logged) => logged.id)).toEqual([created.id, edited.id]);
  });

  it('runs the writes of a group side by side on PostgreSQL, again after the others when one read what an earlier one put', async () => {
    const store = createSqlStore({ db }).forUser(userId);
    const change = createChangeFactory({ wallMs: 1_767_225_600_000 });
    const events: string[] = [];
    const runs = { a: 0, b: 0, c: 0 };
    const seen: Record<string, unknown> = {};
    // Each reads one row, then writes one: b reads the row a writes; c reads a row no one writes.
    const writeAfterReading = (name: 'a' | 'b' | 'c', reads: string, writes: string) =>
      store.transaction(async (writer) => {
        runs[name] += 1;
        events.push(`${name} starts`);
        seen[name] = (await writer.get('tasks', reads))?.fields.title;
        events.push(`${name} read`);
        await write(writer, change(writes, { title: `written by ${name}` }));
      });
    await Promise.all([
      writeAfterReading('a', 't_a', 't_a'),
      writeAfterReading('b', 't_a', 't_b'),
      writeAfterReading('c', 't_c', 't_c'),
    ]);
    expect(transactions).toBe(1);
    // Every write read what the writes before it in the group put, wherever it ran.
    expect(seen).toEqual({ a: undefined, b: 'written by a', c: undefined });
    if (kind === 'postgres') {
      // All three started before the first read came back; b ran again, alone, after a.
      expect(events.slice(0, 3)).toEqual(['a starts', 'b starts', 'c starts']);
      expect(runs).toEqual({ a: 1, b: 2, c: 1 });
    } else {
      // PGlite runs one statement at a time in this thread: nothing to overlap.
      expect(events).toEqual(['a starts', 'a read', 'b starts', 'b read', 'c starts', 'c read']);
      expect(runs).toEqual({ a: 1, b: 1, c: 1 });
    }
    const log = await pullChanges(db, { userId, since: '0', limit: 10 });
    expect(log.changes.map((logged) => logged.rowId)).toEqual(['t_a', 't_b', 't_c']);
    expect(log.cursor).toBe('u3');
  });

  it('lists staged rows among stored ones in the order the database lists them', async () => {
    const store = createSqlStore({ db }).forUser(userId);
    const change = createChangeFactory({ wallMs: 1_767_225_600_000 });
    // UTF-8 byte order (the database's) and UTF-16 order (JavaScript's) differ for these three.
    await store.transaction((writer) => write(writer, change('t_é')));
    let listed: string[] = [];
    await Promise.all([
      store.transaction((writer) => write(writer, change('t_😀'))),
      store.transaction(async (writer) => {
        await write(writer, change('t_～'));
        listed = ids(await writer.list('tasks'));
      }),
    ]);
    expect(listed).toEqual(ids(await store.list('tasks')));
    expect(listed).toEqual(['t_é', 't_～', 't_😀']);
  });
});
