/**
 * Ingests a device's pushed changes: in one transaction, appends the new ones to the log and
 * merges them into rows with the engine's `mergeChange`; change ids seen before are counted as
 * duplicates and change nothing. Changes must already be validated.
 */
import { EngineError, mergeChange, rowKey, type Change, type StoredRow } from '@baton/engine';
import type { Database, SqlRunner } from '../db/database.ts';
import { appendChanges, lastSeqOf } from './change-log.ts';
import { missionIdsTouchedBy } from './due-index.ts';
import { getRowsByKeys, putRows } from './rows-table.ts';
import { userTransaction } from './user-writes.ts';

export interface PushResult {
  accepted: number;
  duplicates: number;
  /** The user's log position after this push. */
  cursor: string;
  /** Whether anything was appended (the caller pokes live connections then). */
  appended: boolean;
}

/**
 * Adds a push's new changes to the user's stored total (`user_usage`, counted from the log the
 * first time) and refuses the push, rolling it back, when the total would pass the quota.
 * Bytes are the changes' JSON text, approximately what the log holds.
 */
async function chargeQuota(
  runner: SqlRunner,
  options: {
    userId: string;
    fresh: number;
    bytes: number;
    quota: { changes: number; bytes: number };
  },
): Promise<void> {
  const { bytes } = options;
  // The common case touches one row; the user's first push after the quota came in counts the
  // log once (the fresh changes are in it already).
  let [usage] = await runner.query<{ changes: string; bytes: string }>(
    `update user_usage set changes = changes + $2, bytes = bytes + $3 where user_id = $1
     returning changes::text as changes, bytes::text as bytes`,
    [options.userId, options.fresh, bytes],
  );
  if (!usage)
    [usage] = await runner.query<{ changes: string; bytes: string }>(
      `insert into user_usage (user_id, changes, bytes)
         select $1, coalesce(sum(last_seq - first_seq + 1), 0), coalesce(sum(bytes), 0)
           from change_pages where user_id = $1
       returning changes::text as changes, bytes::text as bytes`,
      [options.userId],
    );
  const changes = Number(usage?.changes ?? 0);
  const stored = Number(usage?.bytes ?? 0);
  if (changes > options.quota.changes || stored > options.quota.bytes)
    throw new EngineError(
      'too_large',
      changes > options.quota.changes
        ? `Your storage at this relay is full: this push would make ${changes.toLocaleString('en')} changes, and the limit is ${options.quota.changes.toLocaleString('en')} (USER_MAX_CHANGES). Nothing was stored; ask the relay's admin to raise it.`
        : `Your storage at this relay is full: this push would make ${stored.toLocaleString('en')} bytes, and the limit is ${options.quota.bytes.toLocaleString('en')} (USER_MAX_BYTES). Nothing was stored; ask the relay's admin to raise it.`,
    );
}

export async function pushChanges(options: {
  db: Database;
  userId: string;
  changes: Change[];
  now: number;
  /** What the user may store; a push that would pass it is refused whole (413). */
  quota?: { changes: number; bytes: number };
}): Promise<PushResult> {
  const { userId } = options;
  const unique = new Map<string, Change>();
  for (const change of options.changes) if (!unique.has(change.id)) unique.set(change.id, change);
  return userTransaction(
    options.db,
    userId,
    async (runner, end) => {
      const { inserted, lastSeq, bytes } = await appendChanges(runner, {
        userId,
        changes: [...unique.values()],
        now: options.now,
        group: end,
      });
      const fresh = [...unique.values()].filter((change) => inserted.has(change.id));
      if (options.quota && fresh.length > 0)
        await chargeQuota(runner, { userId, fresh: fresh.length, bytes, quota: options.quota });
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
        await putRows(runner, userId, [...merged.values()], {
          isNew: (row) => !rows.has(rowKey(row.table, row.id)),
        });
        end.refreshDue(missionIdsTouchedBy(merged.values()));
      }
      return {
        accepted: fresh.length,
        duplicates: options.changes.length - fresh.length,
        cursor: lastSeq ?? (await lastSeqOf(runner, userId)),
        appended: fresh.length > 0,
      };
    },
    // A large push commits alone; small ones may share a commit (user-writes.ts).
    { weight: unique.size },
  );
}
