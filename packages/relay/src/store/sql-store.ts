/**
 * The engine's Store port over SQL, one view per user. Every writing transaction takes the
 * user's advisory lock first (see change-log.ts), keeps the due index in step with missions and
 * iterations (at the end of its group, user-writes.ts), and after commit reports the new log
 * position through `onCommit` (live pokes).
 */
import type { Change, Store, StoredRow, StoreWriter } from '@baton/engine';
import type { Database } from '../db/database.ts';
import { lastStampOf } from './change-log.ts';
import { missionIdsTouchedBy } from './due-index.ts';
import { batchedRowReader } from './read-batch.ts';
import { rowReader } from './rows-table.ts';
import type { StagedRows } from './staged-writes.ts';
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
        // Reads outside a transaction are batched with others of the same turn (read-batch.ts).
        ...batchedRowReader(db, userId),
        async transaction(fn) {
          let lastSeq: string | undefined;
          // One write per user at a time in this process, pushes and claims included (user-writes.ts).
          const result = await userTransaction(
            db,
            userId,
            async (runner, end) => {
              // Rows put and changes recorded are staged and written with the rest of the
              // group's (user-writes.ts, staged-writes.ts); reads see them first.
              const staged = end.staged as StagedRows;
              const touched: StoredRow[] = [];
              // On PostgreSQL the group's writes run side by side, and the reads they send in
              // one turn go as one statement per kind; PGlite runs them one after the other.
              const reader =
                runner.kind === 'postgres'
                  ? batchedRowReader(runner, userId)
                  : rowReader(runner, userId);
              const writer: StoreWriter = {
                get: async (table, id) => staged.row(table, id) ?? reader.get(table, id),
                async getMany(keys) {
                  const rows = keys.map((key) => staged.row(key.table, key.id));
                  const missing = keys.filter((_, index) => rows[index] === undefined);
                  const read = missing.length > 0 ? await reader.getMany(missing) : [];
                  let next = 0;
                  return rows.map((row) => row ?? read[next++]);
                },
                list: async (table, filter) =>
                  staged.list(await reader.list(table, filter), table, filter),
                // Index-only (change_pages_newest): the newest stamp any process wrote for this
                // user, read once per group of the user's writes (user-writes.ts).
                latestStamp: () => end.latestStamp(() => lastStampOf(runner, userId)),
                async put(rows) {
                  touched.push(...rows);
                  staged.put(rows);
                },
                async record(changes: Change[]) {
                  staged.record(changes, {
                    now: now(),
                    appended: (appendedUpTo) => (lastSeq = appendedUpTo),
                  });
                },
              };
              const value = await fn(writer);
              // The due entries of the missions it touched are recomputed at the group's end,
              // in the same transaction (user-writes.ts).
              end.refreshDue(missionIdsTouchedBy(touched));
              return value;
            },
            { staged: true },
          );
          if (lastSeq !== undefined) options.onCommit?.({ userId, cursor: lastSeq });
          return result;
        },
      };
    },
  };
}
