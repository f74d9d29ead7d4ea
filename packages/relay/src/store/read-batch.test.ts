import type { StoredRow } from '@baton/engine';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Database } from '../db/database.ts';
import { describeOnEachDatabase } from '../testing/describe-on-database.ts';
import { createTestDatabase } from '../testing/test-database.ts';
import { keysStatement, listsStatement } from './read-batch.ts';
import { createSqlStore, type SqlStore } from './sql-store.ts';

const stamp = '001767225600000-000000-node_a';

function row(table: StoredRow['table'], id: string, fields: Record<string, unknown>): StoredRow {
  return {
    table,
    id,
    fields,
    stamps: Object.fromEntries(Object.keys(fields).map((field) => [field, stamp])),
  };
}

describeOnEachDatabase('batched reads of committed rows', (kind) => {
  let db: Database;
  let store: SqlStore;
  let statements: string[];
  /** Those sent in a transaction (outside a savepoint). */
  let inTransactions: string[];

  beforeEach(async () => {
    const real = await createTestDatabase(kind);
    statements = [];
    inTransactions = [];
    db = {
      ...real,
      kind: real.kind,
      query: (text, params) => {
        statements.push(text);
        return real.query(text, params);
      },
      transaction: (fn) =>
        real.transaction((runner) =>
          fn({
            kind: runner.kind,
            query: (text, params) => {
              inTransactions.push(text);
              return runner.query(text, params);
            },
            savepoint: (inner) => runner.savepoint(inner),
          }),
        ),
      listen: real.listen.bind(real),
      notify: real.notify.bind(real),
      close: real.close.bind(real),
    };
    store = createSqlStore({ db });
    // Two users with the same ids: a read is answered from its own user's rows only.
    for (const [userId, title] of [
      ['alice', 'Alice'],
      ['bob', 'Bob'],
    ] as const) {
      await store
        .forUser(userId)
        .transaction((writer) =>
          writer.put([
            row('missions', 'm1', { title: `${title}'s mission` }),
            row('iterations', 'i2', { missionId: 'm1', status: `${title} 2` }),
            row('iterations', 'i1', { missionId: 'm1', status: `${title} 1` }),
            row('iterations', 'i3', { missionId: 'm2', status: `${title} 3` }),
          ]),
        );
    }
    // The index holds the field as text: a number 7 reads as '7' there, but is not the string.
    await store
      .forUser('bob')
      .transaction((writer) =>
        writer.put([row('iterations', 'i7', { missionId: 7, status: 'numbered' })]),
      );
    statements = [];
  });
  afterEach(async () => {
    await db.close();
  });

  it("of several users sent at once go as one statement per kind, each answered with its own user's rows", async () => {
    const alice = store.forUser('alice');
    const bob = store.forUser('bob');
    const [aliceMission, bobRows, aliceM1, bobM1, aliceNone, bobSeven] = await Promise.all([
      alice.get('missions', 'm1'),
      bob.getMany([
        { table: 'iterations', id: 'i3' },
        { table: 'missions', id: 'nope' },
        { table: 'missions', id: 'm1' },
      ]),
      alice.list('iterations', { field: 'missionId', equals: 'm1' }),
      bob.list('iterations', { field: 'missionId', equals: 'm1' }),
      alice.list('iterations', { field: 'missionId', equals: 'm9' }),
      bob.list('iterations', { field: 'missionId', equals: '7' }),
    ]);
    expect(aliceMission?.fields.title).toBe("Alice's mission");
    expect(bobRows.map((found) => found?.fields)).toEqual([
      { missionId: 'm2', status: 'Bob 3' },
      undefined,
      { title: "Bob's mission" },
    ]);
    // In id order, as an unbatched list.
    expect(aliceM1.map((found) => [found.id, found.fields.status])).toEqual([
      ['i1', 'Alice 1'],
      ['i2', 'Alice 2'],
    ]);
    expect(bobM1.map((found) => [found.id, found.fields.status])).toEqual([
      ['i1', 'Bob 1'],
      ['i2', 'Bob 2'],
    ]);
    expect(aliceNone).toEqual([]);
    expect(bobSeven).toEqual([]);
    // Six reads, two statements: one by key, one list.
    expect(statements).toHaveLength(2);
  });

  it('read one after the other each go alone, and see what was committed meanwhile', async () => {
    const alice = store.forUser('alice');
    expect((await alice.get('missions', 'm1'))?.fields.title).toBe("Alice's mission");
    await alice.transaction((writer) => writer.put([row('missions', 'm1', { title: 'Renamed' })]));
    expect((await alice.get('missions', 'm1'))?.fields.title).toBe('Renamed');
    expect(
      (await alice.list('iterations', { field: 'missionId', equals: 'm2' })).map(
        (found) => found.id,
      ),
    ).toEqual(['i3']);
  });

  it('fail only the reads a broken row answers', async () => {
    await db.query(
      `insert into rows (user_id, table_name, row_id, fields, stamps)
       values ('alice', 'iterations', 'broken', '{"missionId": "m1"}', '{"missionId": "yesterday"}')`,
    );
    statements = [];
    const alice = store.forUser('alice');
    const bob = store.forUser('bob');
    const [aliceList, aliceGet, bobList, bobGet] = await Promise.allSettled([
      alice.list('iterations', { field: 'missionId', equals: 'm1' }),
      alice.get('iterations', 'broken'),
      bob.list('iterations', { field: 'missionId', equals: 'm1' }),
      bob.get('missions', 'm1'),
    ]);
    expect(aliceList.status).toBe('rejected');
    expect(String((aliceList as PromiseRejectedResult).reason)).toMatch(/unreadable/);
    expect(aliceGet.status).toBe('rejected');
    expect(bobList.status === 'fulfilled' && bobList.value.map((found) => found.id)).toEqual([
      'i1',
      'i2',
    ]);
    expect(bobGet.status === 'fulfilled' && bobGet.value?.fields.title).toBe("Bob's mission");
    expect(statements).toHaveLength(2);
  });

  it('made by the writes of one group go together (side by side on PostgreSQL), each merging what it read', async () => {
    const alice = store.forUser('alice');
    await alice.transaction((writer) =>
      writer.put(
        ['a', 'b', 'c', 'd', 'e'].map((id) =>
          row('tasks', id, { title: `Task ${id}`, done: false }),
        ),
      ),
    );
    inTransactions = [];
    const written = await Promise.all(
      ['m1', 'a', 'b', 'c', 'd', 'e'].map((id) =>
        alice.transaction(async (writer) => {
          const table = id === 'm1' ? 'missions' : 'tasks';
          const [found] = await writer.getMany([{ table, id }]);
          const title = String(found?.fields.title);
          await writer.put([
            { ...(found as StoredRow), fields: { ...found?.fields, title: `${title}!` } },
          ]);
          const iterations = await writer.list('iterations', { field: 'missionId', equals: 'm1' });
          return `${title}: ${iterations.map((each) => each.id).join(' ')}`;
        }),
      ),
    );
    expect(written).toEqual([
      "Alice's mission: i1 i2",
      ...['a', 'b', 'c', 'd', 'e'].map((id) => `Task ${id}: i1 i2`),
    ]);
    expect((await alice.get('tasks', 'c'))?.fields.title).toBe('Task c!');
    const reads = (pattern: RegExp) => inTransactions.filter((text) => pattern.test(text)).length;
    // PGlite runs a group's writes one after the other, and each reads alone; PostgreSQL runs
    // them side by side, and their reads of one turn go as one statement per kind (the first
    // write may have run alone, before the others waited).
    for (const kindOfRead of [
      /found\.\* from unnest|row_id = any\(/,
      /fields ->> 'missionId' = \$3|as given \(user_id, value, n\)/,
    ]) {
      const sent = reads(kindOfRead);
      if (kind === 'pglite') expect(sent).toBe(6);
      else expect(sent === 1 || sent === 2, `${sent} statements ${kindOfRead}`).toBe(true);
    }
  });

  it('look each key up in an index, whatever else the users hold', async () => {
    // 40 missions of 25 iterations each, for two users.
    for (const userId of ['alice', 'bob'])
      await db.query(
        `insert into rows (user_id, table_name, row_id, fields, stamps)
         select $1, 'iterations', 'it_' || n, jsonb_build_object('missionId', 'mi_' || (n % 40)), '{}'
           from generate_series(1, 1000) as n`,
        [userId],
      );
    const keys = listsStatement('iterations', 'missionId', [
      { userId: 'alice', value: 'mi_3' },
      { userId: 'bob', value: 'mi_4' },
    ]);
    const byKey = keysStatement([
      { userId: 'alice', table: 'iterations', id: 'it_5' },
      { userId: 'bob', table: 'missions', id: 'm1' },
    ]);
    // Nothing analyzes PGlite's tables; PostgreSQL's autovacuum does, some time after they grow.
    for (const when of kind === 'pglite'
      ? ['before analyze']
      : ['before analyze', 'after analyze']) {
      if (when === 'after analyze') await db.query('analyze rows');
      for (const [name, statement, index] of [
        ['lists', keys, /Index Cond: .*fields ->> 'missionId'/],
        ['keys', byKey, /Index Cond: .*row_id = /],
      ] as const) {
        const plan = (
          await db.query<{ 'QUERY PLAN': string }>(`explain ${statement.text}`, statement.params)
        )
          .map((line) => line['QUERY PLAN'])
          .join('\n');
        expect(plan, `${name}, ${when}`).toMatch(index);
        expect(plan, `${name}, ${when}`).not.toMatch(/Seq Scan on rows/);
      }
    }
  });
});
