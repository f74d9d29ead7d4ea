/**
 * Reads and writes of merged rows (`rows` table) for one user. Ids sort with `collate "C"`
 * (byte order), matching the engine's memory store's string order for ordinary ids. Every row
 * read back is parsed (`StoredRowRecordSchema`): a known table, fields, and an HLC stamp per
 * stamped field; a row that fails is a broken invariant and throws.
 *
 * A row whose fields were all written by one change (every row a push creates, and any row
 * until a later change writes only some of its fields) keeps that change's stamp once, as a
 * JSON string in `stamps`, instead of an object repeating it for each field: `storedStamps` and
 * `toStoredRow` turn one form into the other, so no reader sees the difference. Half of a new
 * task row's JSON was its stamps; the insert of a 1,000-change push's rows took about half as
 * long without them (docs/decisions/0014-one-stamp-per-row.md).
 */
import {
  EngineError,
  isHlcStamp,
  tableNames,
  rowKey,
  type RowFilter,
  type StoredRow,
  type StoreReader,
  type TableName,
} from '@baton/engine';
import { z } from 'zod';
import { jsonParam, type SqlRunner, type SqlValue } from '../db/database.ts';

/** One record of the `rows` table as SQL returns it. */
export const StoredRowRecordSchema = z.object({
  table_name: z.enum(tableNames as [TableName, ...TableName[]]),
  row_id: z.string().min(1),
  fields: z.record(z.string(), z.unknown()),
  stamps: z.union([
    z.string().refine(isHlcStamp, 'must be an HLC stamp'),
    z.record(z.string(), z.string().refine(isHlcStamp, 'must be an HLC stamp')),
  ]),
});

const columns = 'table_name, row_id, fields, stamps';

export function toStoredRow(record: unknown): StoredRow {
  const parsed = StoredRowRecordSchema.safeParse(record);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new EngineError(
      'internal',
      `A stored row is unreadable (${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}).`,
    );
  }
  const { table_name, row_id, fields, stamps } = parsed.data;
  if (typeof stamps !== 'string') return { table: table_name, id: row_id, fields, stamps };
  const expanded: Record<string, string> = {};
  for (const name of Object.keys(fields)) expanded[name] = stamps;
  return { table: table_name, id: row_id, fields, stamps: expanded };
}

/**
 * What `rows.stamps` holds for `row`: its one stamp when each of its fields has a value and a
 * stamp, and all the stamps are the same (`toStoredRow` gives each field that stamp again);
 * otherwise the object of stamps by field.
 */
export function storedStamps(row: StoredRow): string | Record<string, string> {
  let stamp: string | undefined;
  let count = 0;
  for (const [name, fieldStamp] of Object.entries(row.stamps)) {
    if (row.fields[name] === undefined || (stamp !== undefined && fieldStamp !== stamp))
      return row.stamps;
    stamp = fieldStamp;
    count += 1;
  }
  if (stamp === undefined) return row.stamps;
  // Each stamp's field has a value; a field with a value and no stamp keeps the object too.
  let fields = 0;
  for (const value of Object.values(row.fields)) if (value !== undefined) fields += 1;
  return fields === count ? stamp : row.stamps;
}

/**
 * Filter fields with an index `(user_id, table_name, (fields ->> name))` (migrate.ts). A string
 * filter on one of them reads through the index; the `->` comparison keeps exact JSON equality.
 */
export const indexedFilterFields: ReadonlySet<string> = new Set(['missionId', 'iterationId']);

export async function getRow(
  runner: SqlRunner,
  userId: string,
  table: TableName,
  id: string,
): Promise<StoredRow | undefined> {
  const records = await runner.query(
    `select ${columns} from rows where user_id = $1 and table_name = $2 and row_id = $3`,
    [userId, table, id],
  );
  return records[0] && toStoredRow(records[0]);
}

export async function listRows(
  runner: SqlRunner,
  userId: string,
  table: TableName,
  filter?: RowFilter,
): Promise<StoredRow[]> {
  let records: unknown[];
  if (filter === undefined) {
    records = await runner.query(
      `select ${columns} from rows where user_id = $1 and table_name = $2 order by row_id collate "C"`,
      [userId, table],
    );
  } else if (indexedFilterFields.has(filter.field) && typeof filter.equals === 'string') {
    // The field name is one of a fixed set, so inlining it is safe; it lets the index match.
    records = await runner.query(
      `select ${columns} from rows
       where user_id = $1 and table_name = $2 and fields ->> '${filter.field}' = $3
         and fields -> '${filter.field}' = $4::jsonb
       order by row_id collate "C"`,
      [userId, table, filter.equals, jsonParam(filter.equals)],
    );
  } else {
    records = await runner.query(
      `select ${columns} from rows
       where user_id = $1 and table_name = $2 and fields -> $3 = $4::jsonb order by row_id collate "C"`,
      [userId, table, filter.field, jsonParam(filter.equals)],
    );
  }
  return records.map(toStoredRow);
}

/**
 * The statement that reads a user's rows by key, all keys in one, as each planner reads best
 * (`getRowsByKeys`). The primary key answers each id, whatever the planner's statistics say (a
 * join on a recordset, estimated at 100 rows without them, was planned through
 * `rows_by_iteration` and read every row of the table once per key). How to ask depends on the
 * planner:
 * - PostgreSQL (15 here): `row_id = any(...)` was planned, for 1,000 ids of a user holding
 *   60,000 rows, as a walk through all of them on the key's first two columns (9.7 ms) before
 *   the table had statistics and as a scan of the table (5.4 ms) after, both growing with the
 *   user's rows. A lateral subquery per key (its `limit` keeps it a subquery, not a join the
 *   planner may turn into a scan) takes 2.4 ms at any size.
 * - PGlite (PostgreSQL 17, never any statistics): `any(...)` walks the key once for the whole
 *   sorted list, 1.7 ms, where the lateral subquery took 7.5 ms. With keys of several tables
 *   it asks for every id in every one of them; rows not asked for are left out after.
 */
export function rowsByKeysQuery(
  kind: SqlRunner['kind'],
  userId: string,
  keys: ReadonlyArray<{ table: TableName; id: string }>,
): { text: string; params: SqlValue[] } {
  if (kind === 'pglite')
    return {
      text: `select ${columns} from rows
       where user_id = $1 and table_name = any($2::text[]) and row_id = any($3::text[])`,
      params: [userId, [...new Set(keys.map((key) => key.table))], keys.map((key) => key.id)],
    };
  return {
    text: `select found.* from unnest($2::text[], $3::text[]) as given (table_name, id)
       cross join lateral (
         select ${columns} from rows
          where rows.user_id = $1 and rows.table_name = given.table_name and rows.row_id = given.id
          limit 1
       ) as found`,
    params: [userId, keys.map((key) => key.table), keys.map((key) => key.id)],
  };
}

/**
 * Rows for many `table/id` keys in one statement (`rowsByKeysQuery`); missing rows are simply
 * absent from the map. One statement for all tables: a plan's write reads its iteration and its
 * proposals, which were two queries, one after the other.
 */
export async function getRowsByKeys(
  runner: SqlRunner,
  userId: string,
  keys: Array<{ table: TableName; id: string }>,
): Promise<Map<string, StoredRow>> {
  const found = new Map<string, StoredRow>();
  if (keys.length === 0) return found;
  const wanted = new Set(keys.map((key) => rowKey(key.table, key.id)));
  const query = rowsByKeysQuery(runner.kind, userId, keys);
  for (const record of await runner.query(query.text, query.params)) {
    const row = toStoredRow(record);
    const key = rowKey(row.table, row.id);
    if (wanted.has(key)) found.set(key, row);
  }
  return found;
}

/**
 * Writes whole rows in one statement; of two puts of one row in `rows`, the later wins. `isNew`
 * names rows the caller knows are not stored yet (it read them under the user's lock): those are
 * inserted without the conflict check an upsert pays for each row.
 */
export async function putRows(
  runner: SqlRunner,
  userId: string,
  rows: StoredRow[],
  options: { isNew?: (row: StoredRow) => boolean } = {},
): Promise<void> {
  if (rows.length === 0) return;
  const latest = new Map<string, StoredRow>();
  for (const row of rows) latest.set(`${row.table}/${row.id}`, row);
  const inserts: StoredRow[] = [];
  const upserts: StoredRow[] = [];
  for (const row of latest.values()) (options.isNew?.(row) ? inserts : upserts).push(row);
  // Each row as an array of its columns, `[table, id, fields, stamps]`: PostgreSQL parses the
  // parameter whole, and without an object and its four keys around each row, 1,000 new task
  // rows went in in 23.2 ms instead of 26.2–27.8 (a scratch run on PostgreSQL, the two taking
  // turns; 13.6–14.1 against 14.8–15.0 ms on PGlite). Each element's parts are taken from the
  // parsed array: `jsonb_to_recordset` with jsonb columns took 13–15 ms for 1,000 new task rows
  // on PostgreSQL, objects taken apart this way 11 ms (an earlier scratch run).
  const records = (list: StoredRow[]) =>
    jsonParam(list.map((row) => [row.table, row.id, row.fields, storedStamps(row)]));
  const select = `select $1, given ->> 0, given ->> 1, given -> 2, given -> 3
     from jsonb_array_elements($2::jsonb) as given`;
  if (inserts.length > 0)
    await runner.query(`insert into rows (user_id, table_name, row_id, fields, stamps) ${select}`, [
      userId,
      records(inserts),
    ]);
  if (upserts.length > 0)
    await runner.query(
      `insert into rows (user_id, table_name, row_id, fields, stamps) ${select}
       on conflict (user_id, table_name, row_id) do update set fields = excluded.fields, stamps = excluded.stamps`,
      [userId, records(upserts)],
    );
}

/** The engine's reads of one user's rows through `runner` (a pool or a transaction). */
export function rowReader(runner: SqlRunner, userId: string): StoreReader {
  return {
    get: (table, id) => getRow(runner, userId, table, id),
    async getMany(keys) {
      const found = await getRowsByKeys(runner, userId, [...keys]);
      return keys.map((key) => found.get(rowKey(key.table, key.id)));
    },
    list: (table, filter) => listRows(runner, userId, table, filter),
  };
}
