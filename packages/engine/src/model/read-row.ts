import type { z } from 'zod';
import { hlcWallMs } from '../sync/hlc.ts';
import type { StoredRow } from '../sync/merge.ts';
import { ActorSchema, type Actor } from './actor.ts';
import { fieldSchema, tableSchemas, type TableName } from './tables.ts';

/** Who created and last changed a row, and when (epoch ms, from the HLC stamps). */
export interface RowMeta {
  id: string;
  createdBy: Actor | null;
  updatedBy: Actor | null;
  createdAt: number;
  updatedAt: number;
}

export type RowOf<T extends TableName> = z.infer<(typeof tableSchemas)[T]> & RowMeta;

export type ReadResult<T extends TableName> =
  { ok: true; row: RowOf<T> } | { ok: false; id: string; message: string };

/**
 * Validates a stored row against its table's schema and returns the typed value with its
 * meta. A row that fails (half-synced, or written by a newer version) is reported, not thrown.
 */
export function readRow<T extends TableName>(table: T, row: StoredRow): ReadResult<T> {
  const { _deleted: _ignoredDeleted, _createdBy, _updatedBy, ...fields } = row.fields;
  const parsed = tableSchemas[table].safeParse(fields);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      ok: false,
      id: row.id,
      message: `${table}/${row.id}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'invalid'}`,
    };
  }
  const createdBy = ActorSchema.safeParse(_createdBy);
  const updatedBy = ActorSchema.safeParse(_updatedBy);
  const createdStamp = row.stamps._createdBy;
  const updatedStamp = row.stamps._updatedBy;
  return {
    ok: true,
    row: {
      ...(parsed.data as z.infer<(typeof tableSchemas)[T]>),
      id: row.id,
      createdBy: createdBy.success ? createdBy.data : null,
      updatedBy: updatedBy.success ? updatedBy.data : null,
      createdAt: createdStamp ? hlcWallMs(createdStamp) : 0,
      updatedAt: updatedStamp ? hlcWallMs(updatedStamp) : 0,
    },
  };
}

/** The valid, not deleted rows among `rows`; invalid ones are passed to `onInvalid`. */
export function readRows<T extends TableName>(
  table: T,
  rows: StoredRow[],
  onInvalid?: (message: string) => void,
): RowOf<T>[] {
  const result: RowOf<T>[] = [];
  for (const row of rows) {
    if (row.fields._deleted === true) continue;
    const read = readRow(table, row);
    if (read.ok) result.push(read.row);
    else onInvalid?.(read.message);
  }
  return result;
}

/**
 * One field of a stored row, validated with its table's schema for that field, or undefined
 * when the row is missing or deleted or the value fails. For hot paths that need one field of
 * a row they just read whole (a full `readRow` parses every field).
 */
export function readField<T extends TableName, F extends keyof RowOf<T> & string>(
  table: T,
  row: StoredRow | undefined,
  field: F,
): RowOf<T>[F] | undefined {
  if (!row || row.fields._deleted === true) return undefined;
  const parsed = fieldSchema(table, field)?.safeParse(row.fields[field]);
  return parsed?.success ? (parsed.data as RowOf<T>[F]) : undefined;
}
