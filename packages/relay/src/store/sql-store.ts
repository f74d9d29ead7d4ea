/**
 * The engine's Store port over SQL, one view per user. Every writing transaction takes the
 * user's advisory lock first (see change-log.ts), keeps the due index in step with missions and
 * iterations (at the end of its group, user-writes.ts), and after commit reports the new log
 * position through `onCommit` (live pokes).
 */
import { rowKey, type Change, type Store, type StoredRow, type StoreWriter } from '@baton/engine';
import type { Database } from '../db/database.ts';
import { appendChanges, lastStampOf } from './change-log.ts';
import { missionIdsTouchedBy } from './due-index.ts';
import { batchedRowReader } from './read-batch.ts';
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
        // Reads outside a transaction are batched with others of the same turn (read-batch.ts).
        ...batchedRowReader(db, userId),
        async transaction(fn) {
          let lastSeq: string | undefined;
          // One write per user at a time in this process, pushes and claims included (user-writes.ts).
          const result = await userTransaction(db, userId, async (runner, end) => {
            const touched: StoredRow[] = [];
            // On PostgreSQL a transaction's statements go down one connection in order, so the
            // writes whose answers the engine does not read (put, record) are sent without
            // waiting for them: they travel with the next statement instead of a round trip
            // each, and every later read in the transaction still sees them. All are awaited
            // before the transaction ends; one that fails fails it, as it would have at once.
            // (PGlite runs in this process: there is no round trip to save.)
            const sent: Promise<unknown>[] = [];
            const send = async (write: Promise<unknown>) => {
              if (db.kind !== 'postgres') {
                await write;
                return;
              }
              write.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
              sent.push(write);
            };
            // A row this transaction put is read back from here: under the user's lock nobody
            // else writes it meanwhile (the engine reads back the iteration it just wrote).
            const reader = rowReader(runner, userId);
            const written = new Map<string, StoredRow>();
            const writer: StoreWriter = {
              ...reader,
              get: async (table, id) => {
                const row = written.get(rowKey(table, id));
                return row ? structuredClone(row) : reader.get(table, id);
              },
              async getMany(keys) {
                const missing = keys.filter((key) => !written.has(rowKey(key.table, key.id)));
                const read = missing.length > 0 ? await reader.getMany(missing) : [];
                const found = new Map(
                  missing.map((key, index) => [rowKey(key.table, key.id), read[index]]),
                );
                return keys.map((key) => {
                  const name = rowKey(key.table, key.id);
                  const row = written.get(name);
                  return row ? structuredClone(row) : found.get(name);
                });
              },
              // Index-only (changes_user_hlc): the newest stamp any process wrote for this user,
              // read once per group of the user's writes (user-writes.ts).
              latestStamp: () => end.latestStamp(() => lastStampOf(runner, userId)),
              async put(rows) {
                touched.push(...rows);
                for (const row of rows)
                  written.set(rowKey(row.table, row.id), structuredClone(row));
                await send(putRows(runner, userId, rows));
              },
              async record(changes: Change[]) {
                await send(
                  appendChanges(runner, {
                    userId,
                    changes,
                    now: now(),
                    made: true,
                    group: end,
                  }).then((appended) => {
                    if (appended.lastSeq !== undefined) lastSeq = appended.lastSeq;
                  }),
                );
              },
            };
            const value = await fn(writer);
            // The due entries of the missions it touched are recomputed at the group's end,
            // in the same transaction (user-writes.ts).
            end.refreshDue(missionIdsTouchedBy(touched));
            await Promise.all(sent);
            return value;
          });
          if (lastSeq !== undefined) options.onCommit?.({ userId, cursor: lastSeq });
          return result;
        },
      };
    },
  };
}
