import type { Actor } from '../model/actor.ts';
import type { TableName } from '../model/tables.ts';
import type { Change } from './change.ts';
import type { HlcStamp } from './hlc.ts';
import { isWriteOnceField, writeOnceGroupsOf, type WriteOnceGroup } from './merge-rules.ts';

/**
 * The merged state of one row as every store keeps it: field values and the HLC stamp that
 * wrote each. `_createdBy`/`_updatedBy` hold the actors of the earliest and latest change;
 * `_deleted` marks a deleted row.
 */
export interface StoredRow {
  table: TableName;
  id: string;
  fields: Record<string, unknown>;
  stamps: Record<string, HlcStamp>;
}

/** The stamp under which a write-once group's current write is kept. */
function groupStamp(group: WriteOnceGroup, row: StoredRow): HlcStamp | undefined {
  return row.stamps[group.required[0]!];
}

/** JSON with object keys sorted: equal values give equal strings whatever their key order. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(
          Object.entries(inner as Record<string, unknown>).sort(([a], [b]) =>
            a < b ? -1 : a > b ? 1 : 0,
          ),
        )
      : inner,
  );
}

/** Does write `a` beat write `b` of the same group? A total order, so merge converges. */
function groupWins(
  group: WriteOnceGroup,
  a: { fields: Record<string, unknown>; hlc: HlcStamp },
  b: { fields: Record<string, unknown>; hlc: HlcStamp },
): boolean {
  const rankA = group.rank(a.fields);
  const rankB = group.rank(b.fields);
  if (rankA !== rankB) return rankA < rankB;
  if (a.hlc !== b.hlc) return group.earliest(rankA) ? a.hlc < b.hlc : a.hlc > b.hlc;
  return stableJson(pick(a.fields, group.fields)) > stableJson(pick(b.fields, group.fields));
}

function pick(fields: Record<string, unknown>, names: readonly string[]): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const name of names) if (name in fields) picked[name] = fields[name];
  return picked;
}

/** Last writer wins; equal stamps (only possible for replayed data) fall to the larger value. */
function fieldWins(
  incoming: { value: unknown; hlc: HlcStamp },
  current: { value: unknown; hlc: HlcStamp | undefined },
): boolean {
  if (current.hlc === undefined || incoming.hlc > current.hlc) return true;
  if (incoming.hlc < current.hlc) return false;
  return stableJson(incoming.value) > stableJson(current.value);
}

/**
 * Merges one change into a row (or creates it) and returns the new row; the input is not
 * mutated. Field-level last-writer-wins by HLC, except write-once groups (see merge-rules.ts).
 * Commutative, associative and idempotent over any set of changes: the one merge every store
 * uses.
 */
export function mergeChange(row: StoredRow | undefined, change: Change): StoredRow {
  const next: StoredRow = row
    ? { table: row.table, id: row.id, fields: { ...row.fields }, stamps: { ...row.stamps } }
    : { table: change.table, id: change.rowId, fields: {}, stamps: {} };
  for (const group of writeOnceGroupsOf(change.table)) {
    if (!Object.keys(change.fields).some((name) => group.fields.includes(name))) continue;
    const currentStamp = groupStamp(group, next);
    const incoming = { fields: change.fields, hlc: change.hlc };
    if (
      currentStamp === undefined ||
      groupWins(group, incoming, { fields: next.fields, hlc: currentStamp })
    ) {
      for (const name of group.fields) {
        delete next.fields[name];
        delete next.stamps[name];
        if (name in change.fields) {
          next.fields[name] = change.fields[name];
          next.stamps[name] = change.hlc;
        }
      }
    }
  }
  for (const [name, value] of Object.entries(change.fields)) {
    if (isWriteOnceField(change.table, name)) continue;
    if (
      fieldWins({ value, hlc: change.hlc }, { value: next.fields[name], hlc: next.stamps[name] })
    ) {
      next.fields[name] = value;
      next.stamps[name] = change.hlc;
    }
  }
  const actor: Actor = change.actor;
  const created = next.stamps._createdBy;
  if (
    created === undefined ||
    change.hlc < created ||
    (change.hlc === created && stableJson(actor) < stableJson(next.fields._createdBy))
  ) {
    next.fields._createdBy = actor;
    next.stamps._createdBy = change.hlc;
  }
  if (
    fieldWins(
      { value: actor, hlc: change.hlc },
      { value: next.fields._updatedBy, hlc: next.stamps._updatedBy },
    )
  ) {
    next.fields._updatedBy = actor;
    next.stamps._updatedBy = change.hlc;
  }
  return next;
}

/** Folds changes into a map of rows keyed by `table/rowId`. */
export function mergeChanges(
  rows: Map<string, StoredRow>,
  changes: Iterable<Change>,
): Map<string, StoredRow> {
  for (const change of changes) {
    const key = rowKey(change.table, change.rowId);
    rows.set(key, mergeChange(rows.get(key), change));
  }
  return rows;
}

export function rowKey(table: TableName, id: string): string {
  return `${table}/${id}`;
}

export function isDeleted(row: StoredRow | undefined): boolean {
  return row === undefined || row.fields._deleted === true;
}

/** The stamp of a row's newest write: when it last changed. */
export function lastStamp(row: StoredRow): HlcStamp | undefined {
  return row.stamps._updatedBy;
}
