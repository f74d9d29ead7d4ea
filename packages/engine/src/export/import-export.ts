import { EngineError, invalidFromZod } from '../errors.ts';
import { tableNames, type TableName } from '../model/tables.ts';
import type { Ids, StoreWriter } from '../ports.ts';
import { mergeRemoteChanges } from '../runner/apply-remote.ts';
import type { Edit } from '../runner/commit.ts';
import { ChangeSchema, type Change } from '../sync/change.ts';
import { hlcWallMs, maxDriftMs } from '../sync/hlc.ts';
import { mergeChange, stableJson, type StoredRow } from '../sync/merge.ts';
import { ExportFileSchema, ExportHeadSchema, type ExportFile } from './export-file.ts';
import { rowChanges } from './row-changes.ts';

/** What an import did: rows in the file, and how many of them were new here or changed a row. */
export interface ImportReport {
  rows: number;
  added: number;
  updated: number;
  unchanged: number;
  /** The relay user named in the file, if any. */
  user: string | null;
  exportedAt: string;
}

/** One row of the file as the changes that make it, checked with the change schema. */
interface RowImport {
  table: TableName;
  id: string;
  changes: Change[];
}

/**
 * Reads an export file and turns each row into its changes, each checked with the engine's
 * change schema (every field against its table's schema). Throws EngineError('invalid') naming
 * the first problem by its path in the file (`tables.tasks.3.fields.title: …`), or 'clock' for a
 * stamp the relay would refuse; nothing is written then.
 */
export function readExportFile(options: {
  file: unknown;
  ids: Ids;
  deviceId: string;
  now: number;
}): { file: ExportFile; rows: RowImport[] } {
  const unreadable = (error: {
    issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>;
  }) => {
    const invalid = invalidFromZod(error);
    return new EngineError(
      'invalid',
      `This is not a Baton export this version can read: ${invalid.message}.`,
      invalid.field ? { field: invalid.field } : undefined,
    );
  };
  const head = ExportHeadSchema.safeParse(options.file);
  if (!head.success) throw unreadable(head.error);
  const parsed = ExportFileSchema.safeParse(options.file);
  if (!parsed.success) throw unreadable(parsed.error);
  const rows: RowImport[] = [];
  for (const table of tableNames)
    parsed.data.tables[table].forEach((row, index) => {
      const changes = rowChanges({ table, row, ids: options.ids, deviceId: options.deviceId });
      for (const change of changes) {
        const checked = ChangeSchema.safeParse(change);
        if (!checked.success) {
          const issue = checked.error.issues[0];
          const path = ['tables', table, index, ...(issue?.path ?? [])].map(String).join('.');
          throw new EngineError(
            'invalid',
            `This is not a Baton export this version can read: ${path}: ${issue?.message ?? 'invalid'}.`,
            { field: path },
          );
        }
        if (hlcWallMs(change.hlc) > options.now + maxDriftMs)
          throw new EngineError(
            'clock',
            `tables.${table}.${index} was written more than 10 minutes ahead of this device's clock (${change.hlc}); the relay would refuse it. Check this device's clock.`,
            { field: `tables.${table}.${index}` },
          );
      }
      rows.push({ table, id: row.id, changes });
    });
  return { file: parsed.data, rows };
}

/**
 * Merges the rows of an export into the store, inside the caller's transaction, as if they had
 * been pulled: field by field the newer stamp wins, so importing a file twice, or into a replica
 * that already holds its rows, changes nothing. The changes of every row the import changed are
 * recorded as this replica's (its outbox), with their original stamps and actors, so they reach
 * the relay by the normal push and are never re-stamped as new edits
 * (docs/decisions/0010-an-import-is-a-pull-that-is-pushed.md). Returns the edits that must
 * follow, as after a pull (superseded proposals, undone losing decisions).
 */
export async function importRows(options: {
  writer: StoreWriter;
  rows: readonly RowImport[];
}): Promise<{ edits: Edit[]; added: number; updated: number; unchanged: number }> {
  const { writer, rows } = options;
  const current = await writer.getMany(rows.map((row) => ({ table: row.table, id: row.id })));
  const changed: Change[] = [];
  let added = 0;
  let updated = 0;
  rows.forEach((row, index) => {
    const before = current[index];
    if (row.changes.length === 0) return;
    const after = row.changes.reduce<StoredRow | undefined>(mergeChange, before);
    if (before === undefined) added += 1;
    else if (after !== undefined && stableJson(after) !== stableJson(before)) updated += 1;
    else return;
    changed.push(...row.changes);
  });
  const edits = changed.length > 0 ? await mergeRemoteChanges({ writer, changes: changed }) : [];
  if (changed.length > 0) await writer.record(changed);
  return { edits, added, updated, unchanged: rows.length - added - updated };
}
