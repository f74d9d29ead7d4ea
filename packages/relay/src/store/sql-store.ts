/**
 * The engine's Store port over SQL, one view per user. Every writing transaction takes the
 * user's advisory lock first (see change-log.ts), keeps the due index in step with missions and
 * iterations, and after commit reports the new log position through `onCommit` (live pokes).
 */
import type { Change, Store, StoredRow, StoreWriter } from '@baton/engine';
import type { Database } from '../db/database.ts';
import { appendChanges, lastStampOf } from './change-log.ts';
import { missionIdsTouchedBy, refreshDue } from './due-index.ts';
import { putRows, rowReader } from './rows-table.ts';
import { userTransaction } from './user-writes.ts';

export interface SqlStoreOptions {
  db: Database;
  /** Called after a transaction that appended to a user's log commits. */
  onCommit?: (commit: { userId: string; cursor: string }) => void;
  /** Epoch ms for `committed_at`; Date.now by default. */
  now?: () => number;
}

export interface SqlStore {
  forUser(userId: string): Store;
}

export function createSqlStore(options: SqlStoreOptions): SqlStore {
  const { db } = options;
  const now = options.now ?? Date.now;
  return {
    forUser(userId) {
      return {
        ...rowReader(db, userId),
        async transaction(fn) {
          let lastSeq: string | undefined;
          // One write per user at a time in this process, pushes and claims included (user-writes.ts).
          const result = await userTransaction(db, userId, async (runner) => {
            const touched: StoredRow[] = [];
            const writer: StoreWriter = {
              ...rowReader(runner, userId),
              // Index-only (changes_user_hlc): the newest stamp any process wrote for this user.
              latestStamp: () => lastStampOf(runner, userId),
              async put(rows) {
                await putRows(runner, userId, rows);
                touched.push(...rows);
              },
              async record(changes: Change[]) {
                const appended = await appendChanges(runner, {
                  userId,
                  changes,
                  now: now(),
                  made: true,
                });
                if (appended.lastSeq !== undefined) lastSeq = appended.lastSeq;
              },
            };
            const value = await fn(writer);
            await refreshDue(runner, userId, missionIdsTouchedBy(touched));
            return value;
          });
          if (lastSeq !== undefined) options.onCommit?.({ userId, cursor: lastSeq });
          return result;
        },
      };
    },
  };
}
