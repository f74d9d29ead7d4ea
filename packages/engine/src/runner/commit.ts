import { invalidFromZod } from '../errors.ts';
import type { Actor } from '../model/actor.ts';
import type { TableName } from '../model/tables.ts';
import type { Ids, StoreWriter } from '../ports.ts';
import { ChangeSchema, type Change } from '../sync/change.ts';
import type { HlcStamp } from '../sync/hlc.ts';
import { mergeChange, type StoredRow } from '../sync/merge.ts';

/** One row's fields to write, by one actor. */
export interface Edit {
  table: TableName;
  rowId: string;
  fields: Record<string, unknown>;
  actor: Actor;
}

/**
 * Turns edits into changes stamped with one HLC, validates each with the change schema, merges
 * them into their rows and records them, all inside the caller's transaction. One stamp per
 * commit keeps a plan and its proposals together in merge order.
 */
export async function commitEdits(options: {
  writer: StoreWriter;
  edits: Edit[];
  /** The commit's stamp, or how to tick it once the rows are read (see `readFirst`, engine.ts). */
  stamp: HlcStamp | (() => HlcStamp);
  ids: Ids;
  deviceId: string;
}): Promise<Change[]> {
  const changes: Change[] = [];
  if (options.edits.length === 0) return changes;
  // The rows are read in one go and written in one go: a plan's iteration and proposals are
  // one read and one write, not a round trip per edit. Edits of one row chain in order.
  const keyOf = (table: TableName, rowId: string) => `${table}/${rowId}`;
  const keys = new Map<string, { table: TableName; id: string }>();
  for (const edit of options.edits)
    keys.set(keyOf(edit.table, edit.rowId), { table: edit.table, id: edit.rowId });
  const stored = await options.writer.getMany([...keys.values()]);
  const rows = new Map<string, StoredRow | undefined>(
    [...keys.keys()].map((key, index) => [key, stored[index]]),
  );
  const stamp = typeof options.stamp === 'function' ? options.stamp() : options.stamp;
  const written = new Map<string, StoredRow>();
  for (const edit of options.edits) {
    const candidate = {
      id: options.ids.ulid(),
      table: edit.table,
      rowId: edit.rowId,
      fields: edit.fields,
      hlc: stamp,
      actor: edit.actor,
      deviceId: options.deviceId,
    };
    const parsed = ChangeSchema.safeParse(candidate);
    if (!parsed.success) throw invalidFromZod(parsed.error);
    const change = candidate as Change;
    const key = keyOf(change.table, change.rowId);
    const row = mergeChange(rows.get(key), change);
    rows.set(key, row);
    written.set(key, row);
    changes.push(change);
  }
  await options.writer.put([...written.values()]);
  await options.writer.record(changes);
  return changes;
}
