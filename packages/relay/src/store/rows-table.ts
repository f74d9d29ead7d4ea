/**
 * Reads and writes of merged rows (`rows` table) for one user. Ids sort with `collate "C"`
 * (byte order), matching the engine's memory store's string order for ordinary ids.
 */
import type { RowFilter, StoredRow, TableName } from '@baton/engine';
import { jsonParam, type SqlRunner } from '../db/database.ts';

interface RowRecord {
  table_name: string;
  row_id: string;
  fields: Record<string, unknown>;
  stamps: Record<string, string>;
}

function toStoredRow(record: RowRecord): StoredRow {
  return {
    table: record.table_name as TableName,
    id: record.row_id,
    fields: record.fields,
    stamps: record.stamps,
  };
}

export async function getRow(
  runner: SqlRunner,
  userId: string,
  table: TableName,
  id: string,
): Promise<StoredRow | undefined> {
  const records = await runner.query<RowRecord>(
    'select table_name, row_id, fields, stamps from rows where user_id = $1 and table_name = $2 and row_id = $3',
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
  const records =
    filter === undefined
      ? await runner.query<RowRecord>(
          'select table_name, row_id, fields, stamps from rows where user_id = $1 and table_name = $2 order by row_id collate "C"',
          [userId, table],
        )
      : await runner.query<RowRecord>(
          `select table_name, row_id, fields, stamps from rows
           where user_id = $1 and table_name = $2 and fields -> $3 = $4::jsonb order by row_id collate "C"`,
          [userId, table, filter.field, jsonParam(filter.equals)],
        );
  return records.map(toStoredRow);
}

/** Rows for many `table/id` keys in one query; missing rows are simply absent from the map. */
export async function getRowsByKeys(
  runner: SqlRunner,
  userId: string,
  keys: Array<{ table: TableName; id: string }>,
): Promise<Map<string, StoredRow>> {
  const found = new Map<string, StoredRow>();
  if (keys.length === 0) return found;
  const records = await runner.query<RowRecord>(
    `select rows.table_name, rows.row_id, rows.fields, rows.stamps
     from jsonb_to_recordset($2::jsonb) as wanted (table_name text, row_id text)
     join rows on rows.user_id = $1 and rows.table_name = wanted.table_name and rows.row_id = wanted.row_id`,
    [userId, jsonParam(keys.map((key) => ({ table_name: key.table, row_id: key.id })))],
  );
  for (const record of records)
    found.set(`${record.table_name}/${record.row_id}`, toStoredRow(record));
  return found;
}

/** Replaces whole rows in one statement; of two puts of one row in `rows`, the later wins. */
export async function putRows(runner: SqlRunner, userId: string, rows: StoredRow[]): Promise<void> {
  if (rows.length === 0) return;
  const latest = new Map<string, StoredRow>();
  for (const row of rows) latest.set(`${row.table}/${row.id}`, row);
  await runner.query(
    `insert into rows (user_id, table_name, row_id, fields, stamps)
     select $1, given.table_name, given.row_id, given.fields, given.stamps
     from jsonb_to_recordset($2::jsonb) as given (table_name text, row_id text, fields jsonb, stamps jsonb)
     on conflict (user_id, table_name, row_id) do update set fields = excluded.fields, stamps = excluded.stamps`,
    [
      userId,
      jsonParam(
        [...latest.values()].map((row) => ({
          table_name: row.table,
          row_id: row.id,
          fields: row.fields,
          stamps: row.stamps,
        })),
      ),
    ],
  );
}
