/**
 * The relay's backup: every table it keeps (users, token hashes, the change log, merged rows,
 * claims, the due index, devices, usage…) as JSON lines, read in one repeatable-read transaction
 * so the file is one moment of the database:
 *
 *   {"format":"baton-relay-backup","version":2,"createdAt":"…","database":"pglite","tables":[…]}
 *   {"table":"users","row":{"id":"usr_…","name":"ada","created_at":…}}
 *   …
 *   {"end":true,"rows":{"users":1,"tokens":1,…}}
 *
 * The end line says the file is whole: a restore refuses a file without it.
 */
import { z } from 'zod';
import type { Database } from '../db/database.ts';
import { quoted, relayTables } from './relay-tables.ts';

export const backupFormat = 'baton-relay-backup';
/**
 * 2 since `rows.stamps` may hold a row's one stamp as a string (store/rows-table.ts): a relay
 * from before reads only objects there, so it refuses the file by its version instead of failing
 * on its rows. Files of version 1 hold nothing this relay cannot read.
 */
export const backupVersion = 2;
const versionsRestored = [1, 2] as const;
const pageSize = 1_000;

const TableNameSchema = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'not a table name');

export const BackupHeaderSchema = z.object({
  format: z.literal(backupFormat, { error: `not a Baton relay backup (format "${backupFormat}")` }),
  version: z.literal(versionsRestored, {
    error: `this relay restores backups of version ${versionsRestored.join(' or ')}`,
  }),
  createdAt: z.iso.datetime(),
  database: z.enum(['pglite', 'postgres']),
  tables: z.array(TableNameSchema),
});
export type BackupHeader = z.infer<typeof BackupHeaderSchema>;

export const BackupRowLineSchema = z.object({
  table: TableNameSchema,
  row: z.record(z.string(), z.unknown()),
});

export const BackupEndSchema = z.object({
  end: z.literal(true),
  rows: z.record(TableNameSchema, z.number().int().nonnegative()),
});

/**
 * Writes the backup of `db` through `write` (one call per page of lines, awaited: the caller's
 * backpressure holds the reading). Returns the rows per table.
 */
export async function writeBackup(options: {
  db: Database;
  write: (text: string) => Promise<void>;
  now?: () => number;
}): Promise<Record<string, number>> {
  const { db, write } = options;
  return db.transaction(async (runner) => {
    await runner.query('set transaction isolation level repeatable read');
    const tables = await relayTables(runner);
    const header: BackupHeader = {
      format: backupFormat,
      version: backupVersion,
      createdAt: new Date((options.now ?? Date.now)()).toISOString(),
      database: db.kind,
      tables: tables.map((table) => table.name),
    };
    await write(`${JSON.stringify(header)}\n`);
    const counts: Record<string, number> = {};
    for (const table of tables) {
      let count = 0;
      const order = table.key.map((column) => quoted(column.name)).join(', ');
      const keyText = table.key.map(
        (column, index) => `t.${quoted(column.name)}::text as k${index}`,
      );
      let after: string[] | undefined;
      for (;;) {
        const where =
          after === undefined || table.key.length === 0
            ? ''
            : `where (${order}) > (${table.key.map((column, index) => `$${index + 1}::${column.type}`).join(', ')})`;
        // The row as PostgreSQL writes it (numbers keep every digit); the key to page on.
        const page = await runner.query<Record<string, string>>(
          `select row_to_json(t)::text as line${keyText.length > 0 ? `, ${keyText.join(', ')}` : ''}
             from ${quoted(table.name)} t ${where}
             ${table.key.length > 0 ? `order by ${order} limit ${pageSize}` : ''}`,
          after ?? [],
        );
        if (page.length === 0) break;
        await write(
          page.map((row) => `{"table":${JSON.stringify(table.name)},"row":${row.line}}\n`).join(''),
        );
        count += page.length;
        if (table.key.length === 0 || page.length < pageSize) break;
        const last = page[page.length - 1]!;
        after = table.key.map((_column, index) => last[`k${index}`]!);
      }
      counts[table.name] = count;
    }
    await write(`${JSON.stringify({ end: true, rows: counts })}\n`);
    return counts;
  });
}
