import type { Actor } from '../model/actor.ts';
import type { TableName } from '../model/tables.ts';
import type { Ids } from '../ports.ts';
import type { Change } from '../sync/change.ts';
import type { HlcStamp } from '../sync/hlc.ts';
import { isWriteOnceField } from '../sync/merge-rules.ts';
import type { StoredRow } from '../sync/merge.ts';

const importActor: Actor = { kind: 'system', source: 'import' };

/**
 * A stored row as the changes that make it: one change per stamp its fields carry, holding the
 * fields written under that stamp, with that stamp, so `mergeChange` of them into an empty row
 * gives the row back (a write-once group shares one stamp, so it stays one write). The change
 * at the row's `_createdBy` stamp carries its creator, the others its last editor; when no field
 * still carries the creation stamp (every field was written since), a change at that stamp
 * repeats a newer plain field, which it loses, so the creator is kept. One loss: when the row's
 * newest write left no field (a losing plan or decision), `_updatedBy` keeps its actor under
 * the newest stamp a field carries.
 *
 * Change ids are new (`ids.ulid()`); `deviceId` is the replica that sends them.
 */
export function rowChanges(options: {
  table: TableName;
  row: Pick<StoredRow, 'id' | 'fields' | 'stamps'>;
  ids: Ids;
  deviceId: string;
}): Change[] {
  const { table, row } = options;
  const byStamp = new Map<HlcStamp, Record<string, unknown>>();
  for (const [name, value] of Object.entries(row.fields)) {
    if (name === '_createdBy' || name === '_updatedBy') continue;
    const stamp = row.stamps[name];
    if (stamp === undefined) continue;
    let fields = byStamp.get(stamp);
    if (!fields) byStamp.set(stamp, (fields = {}));
    fields[name] = value;
  }
  const createdStamp = row.stamps._createdBy;
  const createdBy = row.fields._createdBy as Actor | undefined;
  const updatedBy = (row.fields._updatedBy as Actor | undefined) ?? createdBy ?? importActor;
  if (createdStamp !== undefined && !byStamp.has(createdStamp)) {
    const newer = Object.keys(row.fields).find(
      (name) =>
        !name.startsWith('_') &&
        !isWriteOnceField(table, name) &&
        row.stamps[name] !== undefined &&
        row.stamps[name] > createdStamp,
    );
    if (newer !== undefined) byStamp.set(createdStamp, { [newer]: row.fields[newer] });
  }
  return [...byStamp.keys()].sort().map((stamp) => ({
    id: options.ids.ulid(),
    table,
    rowId: row.id,
    fields: byStamp.get(stamp)!,
    hlc: stamp,
    actor: stamp === createdStamp && createdBy ? createdBy : updatedBy,
    deviceId: options.deviceId,
  }));
}
