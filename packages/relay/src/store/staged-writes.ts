/**
 * The rows and changes the engine's writes in one group put and record (user-writes.ts), held
 * in memory and written at once when the group needs them in the database: before a write that
 * reads the tables itself (a push, a claim), and before the due refresh at the group's end.
 * Thirty-two plans written one after the other were, each, a savepoint, an insert of its rows,
 * an insert into the log and the savepoint's release; now the group writes all of their rows in
 * one statement and all of their changes in another. The engine's reads in a write see what the
 * group staged before the database (`StagedRows`), as they saw their own writes before.
 *
 * On PostgreSQL the writes of a group may run side by side (user-writes.ts): each stage then
 * notes what it read, and `conflicted` says whether a write kept into the group after the stage
 * was made put a row it read (or one that enters or leaves a list it read). Such a write is run
 * again after the others, so every kept write read what the writes kept before it put.
 */
import type { Change, RowFilter, StoredRow, TableName } from '@baton/engine';
import type { TransactionRunner } from '../db/database.ts';
import { appendChanges } from './change-log.ts';
import { putRows } from './rows-table.ts';

/** What one write of the group stages; kept by the group only if the write succeeds. */
export interface StagedRows {
  /** The row as the group (this write included) last put it, or undefined. */
  row(table: TableName, id: string): StoredRow | undefined;
  /** `stored` (a list read from the database) as the group's staged rows change it. */
  list(stored: StoredRow[], table: TableName, filter: RowFilter | undefined): StoredRow[];
  put(rows: StoredRow[]): void;
  /**
   * Changes to append to the user's log, numbered when the group writes them; `appended` is then
   * told the log's new last position.
   */
  record(changes: Change[], options: { now: number; appended: (lastSeq: string) => void }): void;
}

interface Recorded {
  changes: Change[];
  now: number;
  appended: (lastSeq: string) => void;
}

export interface StagedGroup {
  /**
   * A stage for one write over what the group holds; `keep` adds it to the group; `conflicted`
   * says whether writes kept since the stage was made put a row it read (see above).
   */
  stage(): StagedRows & { keep(): void; conflicted(): boolean };
  /** Writes what the group holds (rows, then the log) and empties it. */
  flush(runner: TransactionRunner): Promise<void>;
}

const keyOf = (table: string, id: string) => `${table}/${id}`;

/** `order by row_id collate "C"`: by the ids' UTF-8 bytes. */
const byIdBytes = (a: StoredRow, b: StoredRow) =>
  Buffer.compare(Buffer.from(a.id, 'utf8'), Buffer.from(b.id, 'utf8'));

/** What `fields -> field = value` (JSON equality of a scalar) says of `row`. */
const matches = (row: StoredRow, filter: RowFilter | undefined) =>
  filter === undefined || row.fields[filter.field] === filter.equals;

export function createStagedGroup(options: {
  userId: string;
  /** Told of the stamps appended, as `appendChanges` tells a group (user-writes.ts). */
  group: { appended(stamps: Iterable<string>): void };
}): StagedGroup {
  let rows = new Map<string, StoredRow>();
  let recorded: Recorded[] = [];
  /** The rows each kept write put, in the order they were kept (for `conflicted`). */
  const keptPuts: Array<Map<string, StoredRow>> = [];
  return {
    stage() {
      const own = new Map<string, StoredRow>();
      const ownRecorded: Recorded[] = [];
      const current = (key: string) => own.get(key) ?? rows.get(key);
      const keptBefore = keptPuts.length;
      const readKeys = new Set<string>();
      const readLists: Array<{
        table: TableName;
        filter: RowFilter | undefined;
        ids: Set<string>;
      }> = [];
      return {
        row: (table, id) => {
          const key = keyOf(table, id);
          readKeys.add(key);
          const row = current(key);
          return row && structuredClone(row);
        },
        list(stored, table, filter) {
          const listed = new Map(stored.map((row) => [row.id, row]));
          for (const [key, row] of [...rows, ...own]) {
            if (row.table !== table) continue;
            // A row the group put since: as it is now, in the list or out of it.
            const now = current(key) as StoredRow;
            if (matches(now, filter)) listed.set(now.id, structuredClone(now));
            else listed.delete(now.id);
          }
          readLists.push({ table, filter, ids: new Set(listed.keys()) });
          return [...listed.values()].sort(byIdBytes);
        },
        conflicted() {
          for (const puts of keptPuts.slice(keptBefore))
            for (const [key, row] of puts) {
              // A row it put without reading it first is a conflict as well.
              if (readKeys.has(key) || own.has(key)) return true;
              for (const read of readLists)
                // A row of a list it read may have changed or left it; another may have entered.
                if (read.table === row.table && (read.ids.has(row.id) || matches(row, read.filter)))
                  return true;
            }
          return false;
        },
        put(put) {
          for (const row of put) own.set(keyOf(row.table, row.id), structuredClone(row));
        },
        record(changes, recordOptions) {
          // Counted at once, so the group's next write stamps after them (see GroupEnd).
          options.group.appended(changes.map((change) => change.hlc));
          ownRecorded.push({ changes, ...recordOptions });
        },
        keep() {
          for (const [key, row] of own) rows.set(key, row);
          recorded.push(...ownRecorded);
          keptPuts.push(own);
        },
      };
    },
    async flush(runner) {
      const put = [...rows.values()];
      const toRecord = recorded;
      rows = new Map();
      recorded = [];
      if (put.length > 0) await putRows(runner, options.userId, put);
      if (toRecord.length === 0) return;
      const appended = await appendChanges(runner, {
        userId: options.userId,
        changes: toRecord.flatMap((entry) => entry.changes),
        now: Math.max(...toRecord.map((entry) => entry.now)),
        made: true,
        group: options.group,
      });
      if (appended.lastSeq === undefined) return;
      for (const entry of toRecord) entry.appended(appended.lastSeq);
    },
  };
}
