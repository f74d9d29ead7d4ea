import type { SqlRunner } from '../db/database.ts';

/** A table of the relay's schema, with the columns of its primary key (in key order). */
export interface RelayTable {
  name: string;
  columns: string[];
  key: Array<{ name: string; type: string }>;
  /** Columns filled by an identity sequence (`changes.seq`): restored as they were. */
  identity: string[];
}

/**
 * Every table of the relay's schema, read from the database itself, so a table added by a later
 * migration is backed up without a change here. `users` first, since others refer to it.
 */
export async function relayTables(runner: SqlRunner): Promise<RelayTable[]> {
  const columns = await runner.query<{
    table_name: string;
    column_name: string;
    data_type: string;
    is_identity: string;
  }>(
    `select c.table_name, c.column_name, c.data_type, c.is_identity
       from information_schema.columns c
       join information_schema.tables t
         on t.table_schema = c.table_schema and t.table_name = c.table_name
      where c.table_schema = current_schema() and t.table_type = 'BASE TABLE'
      order by c.table_name, c.ordinal_position`,
  );
  const keys = await runner.query<{ table_name: string; column_name: string }>(
    `select k.table_name, k.column_name
       from information_schema.table_constraints c
       join information_schema.key_column_usage k
         on k.constraint_name = c.constraint_name and k.table_schema = c.table_schema
        and k.table_name = c.table_name
      where c.table_schema = current_schema() and c.constraint_type = 'PRIMARY KEY'
      order by k.table_name, k.ordinal_position`,
  );
  const tables = new Map<string, RelayTable>();
  for (const column of columns) {
    let table = tables.get(column.table_name);
    if (!table)
      tables.set(
        column.table_name,
        (table = { name: column.table_name, columns: [], key: [], identity: [] }),
      );
    table.columns.push(column.column_name);
    if (column.is_identity === 'YES') table.identity.push(column.column_name);
  }
  for (const key of keys) {
    const table = tables.get(key.table_name);
    const type = columns.find(
      (column) => column.table_name === key.table_name && column.column_name === key.column_name,
    )?.data_type;
    if (table && type) table.key.push({ name: key.column_name, type });
  }
  const rank = (name: string) => (name === 'users' ? 0 : 1);
  return [...tables.values()].sort(
    (a, b) => rank(a.name) - rank(b.name) || (a.name < b.name ? -1 : 1),
  );
}

/** `"name"`: an identifier from the catalogue, quoted. */
export function quoted(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
