/**
 * Reads of rows, batched per runner: the reads sent through one runner (the database's pool, or
 * one transaction) in one turn of the event loop go to it as one statement per kind, not one
 * each. A relay tick plans up to its model concurrency of missions at once, and each one reads
 * its iterations, then (after its claim) its mission and iteration row: 32 statements at a time
 * that queued for the pool's connections, in front of the claims the model calls wait on. In a
 * group of one user's writes on PostgreSQL (user-writes.ts), the plans written side by side each
 * read the rows they merge into: two statements per plan, one after the other on the group's
 * connection, until they were batched as well (sql-store.ts).
 *
 * Batched: reads by key (`get`, `getMany`) and lists filtered on an indexed field by a string
 * (`missionId`, `iterationId`), the reads a tick makes. Other lists go to the database alone.
 * Each statement says which user and key every row answers, and each read is given only the
 * rows of its own user, parsed on their own: a row that fails to parse fails only the reads it
 * answers. A statement that fails fails every read it carried, as each would have failed alone.
 */
import {
  rowKey,
  type RowFilter,
  type StoredRow,
  type StoreReader,
  type TableName,
} from '@baton/engine';
import type { SqlRunner, SqlValue } from '../db/database.ts';
import { indexedFilterFields, listRows, toStoredRow } from './rows-table.ts';

interface KeyRead {
  userId: string;
  keys: ReadonlyArray<{ table: TableName; id: string }>;
  resolve: (rows: (StoredRow | undefined)[]) => void;
  reject: (error: unknown) => void;
}

interface ListRead {
  userId: string;
  table: TableName;
  field: string;
  value: string;
  resolve: (rows: StoredRow[]) => void;
  reject: (error: unknown) => void;
}

interface Pending {
  keys: KeyRead[];
  lists: ListRead[];
}

interface Batcher {
  pending: Pending | undefined;
}

const batchers = new WeakMap<SqlRunner, Batcher>();

/** The engine's reads of one user's rows through `db`, batched with its other reads of the same turn. */
export function batchedRowReader(db: SqlRunner, userId: string): StoreReader {
  let batcher = batchers.get(db);
  if (!batcher) batchers.set(db, (batcher = { pending: undefined }));
  const state = batcher;
  const pending = (): Pending => {
    if (state.pending) return state.pending;
    const created: Pending = { keys: [], lists: [] };
    state.pending = created;
    // A later turn: the reads that the answers of this turn's I/O send join the batch.
    setImmediate(() => {
      state.pending = undefined;
      void flush(db, created);
    });
    return created;
  };
  const getMany = (keys: ReadonlyArray<{ table: TableName; id: string }>) =>
    keys.length === 0
      ? Promise.resolve([])
      : new Promise<(StoredRow | undefined)[]>((resolve, reject) =>
          pending().keys.push({ userId, keys, resolve, reject }),
        );
  return {
    getMany,
    get: async (table, id) => (await getMany([{ table, id }]))[0],
    list(table: TableName, filter?: RowFilter) {
      if (!filter || !indexedFilterFields.has(filter.field) || typeof filter.equals !== 'string')
        return listRows(db, userId, table, filter);
      const { field, equals: value } = filter;
      return new Promise<StoredRow[]>((resolve, reject) =>
        pending().lists.push({ userId, table, field, value, resolve, reject }),
      );
    },
  };
}

async function flush(db: SqlRunner, pending: Pending): Promise<void> {
  const lists = new Map<string, ListRead[]>();
  for (const read of pending.lists) {
    const kind = `${read.table}\u0000${read.field}`;
    const same = lists.get(kind) ?? [];
    lists.set(kind, same);
    same.push(read);
  }
  await Promise.all([
    pending.keys.length > 0 ? readKeys(db, pending.keys) : undefined,
    ...[...lists.values()].map((reads) => readLists(db, reads)),
  ]);
}

/** Settles each read with what `parse` makes of its records; a record that fails fails it alone. */
function settle<T>(resolve: (value: T) => void, reject: (error: unknown) => void, parse: () => T) {
  let value: T;
  try {
    value = parse();
  } catch (error) {
    reject(error);
    return;
  }
  resolve(value);
}

/** The statement that reads rows by (user, table, id): a lookup in the primary key for each. */
export function keysStatement(
  keys: ReadonlyArray<{ userId: string; table: TableName; id: string }>,
): { text: string; params: SqlValue[] } {
  return {
    text: `select given.user_id as asked_by, found.* from unnest($1::text[], $2::text[], $3::text[])
         as given (user_id, table_name, id)
       cross join lateral (
         select table_name, row_id, fields, stamps from rows
          where rows.user_id = given.user_id and rows.table_name = given.table_name
            and rows.row_id = given.id
          limit 1
       ) as found`,
    params: [
      keys.map((key) => key.userId),
      keys.map((key) => key.table),
      keys.map((key) => key.id),
    ],
  };
}

/**
 * The statement that lists a table's rows whose `field` (one of `indexedFilterFields`) is the
 * given text, for each (user, value): a lookup in the field's index for each; each pair's rows
 * in id order (`collate "C"`, as `listRows`), numbered by the pair's place (`n`, from 1).
 */
export function listsStatement(
  table: TableName,
  field: string,
  pairs: ReadonlyArray<{ userId: string; value: string }>,
): { text: string; params: SqlValue[] } {
  if (!indexedFilterFields.has(field)) throw new Error(`${field} is not an indexed field`);
  return {
    // The field name is one of a fixed set, so inlining it is safe; it lets the index match.
    text: `select given.n, found.* from unnest($1::text[], $2::text[]) with ordinality
         as given (user_id, value, n)
       cross join lateral (
         select table_name, row_id, fields, stamps from rows
          where rows.user_id = given.user_id and rows.table_name = $3
            and rows.fields ->> '${field}' = given.value
       ) as found
       order by given.n, found.row_id collate "C"`,
    params: [pairs.map((pair) => pair.userId), pairs.map((pair) => pair.value), table],
  };
}

/**
 * Every key of every read in one statement: a lookup in the primary key per (user, table, id),
 * as `rowsByKeysQuery` does on PostgreSQL for one user.
 */
async function readKeys(db: SqlRunner, reads: KeyRead[]): Promise<void> {
  const asked = new Map<string, { userId: string; table: TableName; id: string }>();
  for (const read of reads)
    for (const key of read.keys)
      asked.set(`${read.userId}\u0000${rowKey(key.table, key.id)}`, {
        userId: read.userId,
        ...key,
      });
  const keys = [...asked.values()];
  let records: Record<string, unknown>[];
  try {
    const statement = keysStatement(keys);
    records = await db.query(statement.text, statement.params);
  } catch (error) {
    for (const read of reads) read.reject(error);
    return;
  }
  const byUser = new Map<string, Map<string, Record<string, unknown>>>();
  for (const record of records) {
    const userId = String(record.asked_by);
    const found = byUser.get(userId) ?? new Map<string, Record<string, unknown>>();
    byUser.set(userId, found);
    found.set(rowKey(record.table_name as TableName, String(record.row_id)), record);
  }
  for (const read of reads) {
    const found = byUser.get(read.userId);
    settle(read.resolve, read.reject, () =>
      read.keys.map((key) => {
        const record = found?.get(rowKey(key.table, key.id));
        return record === undefined ? undefined : toStoredRow(record);
      }),
    );
  }
}

/**
 * Lists of one table filtered on one indexed field, for every (user, value) in one statement:
 * a lookup in the field's index per pair, each list in id order (`collate "C"`, as `listRows`).
 * The index holds the field as text; a row is given to a read only where its field is that very
 * JSON string, as `listRows` compares.
 */
async function readLists(db: SqlRunner, reads: ListRead[]): Promise<void> {
  const first = reads[0] as ListRead;
  const { table, field } = first;
  const pairs = new Map<string, { userId: string; value: string }>();
  for (const read of reads)
    pairs.set(`${read.userId}\u0000${read.value}`, { userId: read.userId, value: read.value });
  const asked = [...pairs.values()];
  let records: Record<string, unknown>[];
  try {
    const statement = listsStatement(table, field, asked);
    records = await db.query(statement.text, statement.params);
  } catch (error) {
    for (const read of reads) read.reject(error);
    return;
  }
  const byPair = new Map<string, Record<string, unknown>[]>();
  for (const record of records) {
    const pair = asked[Number(record.n) - 1] as { userId: string; value: string };
    const key = `${pair.userId}\u0000${pair.value}`;
    const rows = byPair.get(key) ?? [];
    byPair.set(key, rows);
    rows.push(record);
  }
  for (const read of reads)
    settle(read.resolve, read.reject, () =>
      (byPair.get(`${read.userId}\u0000${read.value}`) ?? [])
        .map(toStoredRow)
        .filter((row) => row.fields[read.field] === read.value),
    );
}
