import { invalidFromZod } from '../errors.ts';
import type { Actor } from '../model/actor.ts';
import type { TableName } from '../model/tables.ts';
import type { Ids, StoreWriter } from '../ports.ts';
import { ChangeSchema, type Change } from '../sync/change.ts';
import type { HlcStamp } from '../sync/hlc.ts';
import { mergeChange } from '../sync/merge.ts';

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
  stamp: HlcStamp;
  ids: Ids;
  deviceId: string;
}): Promise<Change[]> {
  const changes: Change[] = [];
  for (const edit of options.edits) {
    const candidate = {
      id: options.ids.ulid(),
      table: edit.table,
      rowId: edit.rowId,
      fields: edit.fields,
      hlc: options.stamp,
      actor: edit.actor,
      deviceId: options.deviceId,
    };
    const parsed = ChangeSchema.safeParse(candidate);
    if (!parsed.success) throw invalidFromZod(parsed.error);
    const change = candidate as Change;
    const row = mergeChange(await options.writer.get(change.table, change.rowId), change);
    await options.writer.put([row]);
    changes.push(change);
  }
  if (changes.length > 0) await options.writer.record(changes);
  return changes;
}
