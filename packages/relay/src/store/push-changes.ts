/**
 * Ingests a device's pushed changes: in one transaction, appends the new ones to the log and
 * merges them into rows with the engine's `mergeChange`; change ids seen before are counted as
 * duplicates and change nothing. Changes must already be validated.
 */
import { mergeChange, rowKey, type Change, type StoredRow } from '@baton/engine';
import type { Database } from '../db/database.ts';
import { appendChanges, lastSeqOf, lockUser } from './change-log.ts';
import { missionIdsTouchedBy, refreshDue } from './due-index.ts';
import { getRowsByKeys, putRows } from './rows-table.ts';

export interface PushResult {
  accepted: number;
  duplicates: number;
  /** The user's log position after this push. */
  cursor: string;
  /** Whether anything was appended (the caller pokes live connections then). */
  appended: boolean;
}

export async function pushChanges(options: {
  db: Database;
  userId: string;
  changes: Change[];
  now: number;
}): Promise<PushResult> {
  const { userId } = options;
  const unique = new Map<string, Change>();
  for (const change of options.changes) if (!unique.has(change.id)) unique.set(change.id, change);
  return options.db.transaction(async (runner) => {
    await lockUser(runner, { userId, kind: options.db.kind });
    const { inserted } = await appendChanges(runner, {
      userId,
      changes: [...unique.values()],
      now: options.now,
    });
    const fresh = [...unique.values()].filter((change) => inserted.has(change.id));
    if (fresh.length > 0) {
      const keys = new Map(
        fresh.map((change) => [
          rowKey(change.table, change.rowId),
          { table: change.table, id: change.rowId },
        ]),
      );
      const rows = await getRowsByKeys(runner, userId, [...keys.values()]);
      const merged = new Map<string, StoredRow>();
      for (const change of fresh) {
        const key = rowKey(change.table, change.rowId);
        const next = mergeChange(merged.get(key) ?? rows.get(key), change);
        merged.set(key, next);
      }
      await putRows(runner, userId, [...merged.values()]);
      await refreshDue(runner, userId, missionIdsTouchedBy(merged.values()));
    }
    return {
      accepted: fresh.length,
      duplicates: options.changes.length - fresh.length,
      cursor: await lastSeqOf(runner, userId),
      appended: fresh.length > 0,
    };
  });
}
