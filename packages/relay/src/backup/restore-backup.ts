import { EngineError } from '@baton/engine';
import type { Database, SqlRunner } from '../db/database.ts';
import { jsonParam } from '../db/database.ts';
import { foldStatements } from '../db/migrate.ts';
import {
  BackupEndSchema,
  BackupHeaderSchema,
  BackupRowLineSchema,
  type BackupHeader,
} from './backup-file.ts';
import { quoted, relayTables, type RelayTable } from './relay-tables.ts';

const batchSize = 500;

function problem(lineNumber: number, message: string): EngineError {
  return new EngineError('invalid', `line ${lineNumber}: ${message}`);
}

function parseLine(text: string, lineNumber: number): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw problem(lineNumber, 'not JSON (is this a backup made by `npm run relay -- backup`?)');
  }
}

/** Tables that hold rows now, with how many. */
async function rowsHeld(runner: SqlRunner, tables: RelayTable[]): Promise<string[]> {
  const held: string[] = [];
  for (const table of tables) {
    const [row] = await runner.query<{ n: number }>(
      `select count(*)::float8 as n from ${quoted(table.name)}`,
    );
    if (row && row.n > 0) held.push(`${table.name} (${row.n})`);
  }
  return held;
}

async function insertBatch(
  runner: SqlRunner,
  table: RelayTable,
  rows: Record<string, unknown>[],
): Promise<void> {
  // Only the columns the backup has: one it lacks (a backup of an older relay) takes its default.
  const columns = table.columns
    .filter((column) => rows.some((row) => Object.hasOwn(row, column)))
    .map(quoted)
    .join(', ');
  await runner.query(
    `insert into ${quoted(table.name)} (${columns})
       ${table.identity.length > 0 ? 'overriding system value' : ''}
     select ${columns} from jsonb_populate_recordset(null::${quoted(table.name)}, $1::jsonb)`,
    [jsonParam(rows)],
  );
}

/**
 * Loads a backup (its lines, in order) into `db`, in one transaction: all of it or nothing.
 * Refused, naming the reason, when the file is not a whole backup of this version, names a
 * table or column this relay's schema lacks, or when the database already holds rows (unless
 * `force`, which empties every table first). Identity sequences continue after the restored
 * values, so new changes follow the restored log. Returns the rows restored per table.
 */
export async function restoreBackup(options: {
  db: Database;
  lines: AsyncIterable<string>;
  force: boolean;
}): Promise<{ header: BackupHeader; rows: Record<string, number> }> {
  const { db } = options;
  return db.transaction(async (runner) => {
    const tables = await relayTables(runner);
    const byName = new Map(tables.map((table) => [table.name, table]));
    const held = await rowsHeld(runner, tables);
    if (held.length > 0) {
      if (!options.force)
        throw new EngineError(
          'conflict',
          `The database is not empty: ${held.join(', ')}. Restore into an empty database, or add --force to replace everything in it with the backup.`,
        );
      await runner.query(`truncate ${tables.map((table) => quoted(table.name)).join(', ')}`);
    }
    let header: BackupHeader | undefined;
    let end: Record<string, number> | undefined;
    const counts: Record<string, number> = {};
    let pending: { table: RelayTable; rows: Record<string, unknown>[] } | undefined;
    const flush = async () => {
      if (pending && pending.rows.length > 0)
        await insertBatch(runner, pending.table, pending.rows);
      pending = undefined;
    };
    let lineNumber = 0;
    for await (const text of options.lines) {
      lineNumber += 1;
      if (text.trim() === '') continue;
      if (end) throw problem(lineNumber, 'there is more after the end line');
      const value = parseLine(text, lineNumber);
      if (!header) {
        const parsed = BackupHeaderSchema.safeParse(value);
        if (!parsed.success)
          throw problem(lineNumber, parsed.error.issues[0]?.message ?? 'not a backup header');
        header = parsed.data;
        for (const name of header.tables)
          if (!byName.has(name))
            throw problem(
              lineNumber,
              `the backup has a table "${name}" this relay does not know (a backup of a newer relay?)`,
            );
        continue;
      }
      const row = BackupRowLineSchema.safeParse(value);
      if (!row.success) {
        const last = BackupEndSchema.safeParse(value);
        if (!last.success) throw problem(lineNumber, 'neither a row nor the end line');
        end = last.data.rows;
        continue;
      }
      const table = byName.get(row.data.table);
      if (!table || !header.tables.includes(table.name))
        throw problem(lineNumber, `a row of "${row.data.table}", a table the header does not list`);
      for (const column of Object.keys(row.data.row))
        if (!table.columns.includes(column))
          throw problem(
            lineNumber,
            `column "${column}" of ${table.name} is not in this relay's schema`,
          );
      if (pending?.table !== table) await flush();
      pending ??= { table, rows: [] };
      pending.rows.push(row.data.row);
      counts[table.name] = (counts[table.name] ?? 0) + 1;
      if (pending.rows.length >= batchSize) await flush();
    }
    await flush();
    // A backup of an earlier relay holds its log in `changes`, one row per change: into pages.
    for (const statement of foldStatements()) await runner.query(statement);
    if (!header) throw new EngineError('invalid', 'The file is empty.');
    if (!end)
      throw new EngineError(
        'invalid',
        `The backup ends at line ${lineNumber} without its end line: it is cut short. Nothing was restored.`,
      );
    for (const [name, count] of Object.entries(end))
      if ((counts[name] ?? 0) !== count)
        throw new EngineError(
          'invalid',
          `The end line counts ${count} rows of ${name}, the file holds ${counts[name] ?? 0}. Nothing was restored.`,
        );
    for (const table of tables)
      for (const column of table.identity)
        await runner.query(
          `select setval(pg_get_serial_sequence($1, $2), coalesce((select max(${quoted(column)}) from ${quoted(table.name)}), 0) + 1, false)`,
          [quoted(table.name), column],
        );
    return { header, rows: counts };
  });
}
