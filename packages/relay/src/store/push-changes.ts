/**
 * Ingests a device's pushed changes: in one transaction, appends the new ones to the log and
 * merges them into rows with the engine's `mergeChange`; change ids seen before are counted as
 * duplicates and change nothing. Changes must already be validated.
 */
import {
  EngineError,
  mergeChange,
  rowKey,
  type Change,
  type StoredRow,
  type TableName,
} from '@baton/engine';
import type { Database, SqlRunner, TransactionRunner } from '../db/database.ts';
import {
  appendChanges,
  insertChangeIds,
  insertPage,
  isDuplicateChangeId,
  lastSeqOf,
  pageOf,
  pageSize,
} from './change-log.ts';
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

/**
 * Merges `changes`, in order, into `rows` (as read) and puts the rows they leave: those not
 * read are inserted, the others replaced. Returns the rows put.
 */
async function mergeAndPut(
  runner: SqlRunner,
  userId: string,
  changes: readonly Change[],
  rows: ReadonlyMap<string, StoredRow>,
): Promise<Map<string, StoredRow>> {
  const merged = new Map<string, StoredRow>();
  for (const change of changes) {
    const key = rowKey(change.table, change.rowId);
    merged.set(key, mergeChange(merged.get(key) ?? rows.get(key), change));
  }
  await putRows(runner, userId, [...merged.values()], {
    isNew: (row) => !rows.has(rowKey(row.table, row.id)),
  });
  return merged;
}

/** The distinct rows `changes` write. */
function rowKeysOf(changes: readonly Change[]): Array<{ table: TableName; id: string }> {
  const keys = new Map<string, { table: TableName; id: string }>();
  for (const change of changes)
    keys.set(rowKey(change.table, change.rowId), { table: change.table, id: change.rowId });
  return [...keys.values()];
}

/**
 * Pushes of at least this many changes (a backlog, an import, a new device's first sync) put
 * their rows without reading them first, as if none were stored: nearly every such push creates
 * its rows. A stored row fails the insert on the key `(user_id, table_name, row_id)`, which is
 * rolled back, and the rows are then read and merged (`isRowStoredBefore`). Reading 1,000 rows
 * by their key took 2–3 ms of a 27 ms push on PostgreSQL and 2 of 38 on PGlite on disk; a
 * smaller push reads its rows first, as a person's edits mostly change stored rows.
 */
export const putUnreadFrom = 100;

/** Whether `error` is the insert of a row already stored (the key of `rows`). */
export function isRowStoredBefore(error: unknown): boolean {
  const { code, message } = error as { code?: unknown; message?: unknown };
  return code === '23505' && String(message).includes('rows_pkey');
}

/**
 * PostgreSQL, when every change of a push is new (nearly always: a device sends one again only
 * when it did not read the answer to the first try): the push's statements sent at once, on
 * the transaction's one connection, instead of each after the answer to the one before. The
 * rows are read first (unless `reading` is undefined: a large push, see `putUnreadFrom`); in a
 * savepoint, the ids go in (without a look: one already logged fails it on the key), then the
 * page, the quota's count and, as soon as the rows read are merged, the merged rows (a row
 * stored before, when none was read, fails them on its key). The database works through the
 * ids and the page while this process merges and serialises the rows. Returns undefined, with
 * nothing written, when a change was logged before or an unread row was stored: the caller then
 * takes the careful way (`appendChanges`), with the rows read here, if they were.
 */
async function writeAllNew(
  runner: TransactionRunner,
  options: {
    userId: string;
    changes: readonly Change[];
    now: number;
    quota: { changes: number; bytes: number } | undefined;
    reading: Promise<Map<string, StoredRow>> | undefined;
  },
): Promise<{ lastSeq: string; merged: Map<string, StoredRow> } | undefined> {
  const { userId, changes } = options;
  const page = pageOf(changes);
  try {
    return await runner.savepoint(async (inner) => {
      const writes: Array<Promise<unknown>> = [insertChangeIds(inner, userId, changes)];
      const logging = insertPage(inner, { userId, page, now: options.now });
      writes.push(logging);
      if (options.quota)
        writes.push(
          chargeQuota(inner, {
            userId,
            fresh: changes.length,
            bytes: page.bytes,
            quota: options.quota,
          }),
        );
      // Each statement above is on its way; a failed one fails those after it in the
      // savepoint, which the first failure's error stands for (postgres.js).
      const settled = Promise.allSettled(writes);
      let rows: Map<string, StoredRow>;
      try {
        rows = (await options.reading) ?? new Map<string, StoredRow>();
      } catch (error) {
        await settled;
        throw error;
      }
      const putting = mergeAndPut(inner, userId, changes, rows);
      writes.push(putting);
      await Promise.all(writes);
      return { lastSeq: (await logging).lastSeq, merged: await putting };
    });
  } catch (error) {
    if (isDuplicateChangeId(error) || (!options.reading && isRowStoredBefore(error)))
      return undefined;
    throw error;
  }
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
  const distinct = [...unique.values()];
  return userTransaction(
    options.db,
    userId,
    async (runner, end) => {
      const done = (fresh: number, merged: Map<string, StoredRow>, lastSeq: string) => {
        end.refreshDue(missionIdsTouchedBy(merged.values()));
        return {
          accepted: fresh,
          duplicates: options.changes.length - fresh,
          cursor: lastSeq,
          appended: fresh > 0,
        };
      };
      let reading: Promise<Map<string, StoredRow>> | undefined;
      // A large push's rows are put unread, once: after a failed try, they are read.
      let putUnread = distinct.length >= putUnreadFrom;
      if (runner.kind === 'postgres' && distinct.length > 0 && distinct.length <= pageSize) {
        if (!putUnread) {
          reading = getRowsByKeys(runner, userId, rowKeysOf(distinct));
          // Read again by the careful way below, if it comes to that; a failure is thrown there.
          reading.catch(() => undefined);
        }
        end.appended(distinct.map((change) => change.hlc));
        const written = await writeAllNew(runner, {
          userId,
          changes: distinct,
          now: options.now,
          quota: options.quota,
          reading,
        });
        if (written) return done(distinct.length, written.merged, written.lastSeq);
        putUnread = false;
      }
      const { inserted, lastSeq, bytes } = await appendChanges(runner, {
        userId,
        changes: distinct,
        now: options.now,
        group: end,
      });
      const fresh = distinct.filter((change) => inserted.has(change.id));
      if (fresh.length === 0)
        return done(0, new Map(), lastSeq ?? (await lastSeqOf(runner, userId)));
      if (options.quota)
        await chargeQuota(runner, { userId, fresh: fresh.length, bytes, quota: options.quota });
      const cursor = async () => lastSeq ?? (await lastSeqOf(runner, userId));
      if (putUnread) {
        try {
          const merged = await runner.savepoint((inner) =>
            mergeAndPut(inner, userId, fresh, new Map()),
          );
          return done(fresh.length, merged, await cursor());
        } catch (error) {
          if (!isRowStoredBefore(error)) throw error;
        }
      }
      // The rows read for the whole push hold those of its new changes.
      const rows = await (reading ?? getRowsByKeys(runner, userId, rowKeysOf(fresh)));
      const merged = await mergeAndPut(runner, userId, fresh, rows);
      return done(fresh.length, merged, await cursor());
    },
    // A large push commits alone; small ones may share a commit (user-writes.ts).
    { weight: unique.size },
  );
}
