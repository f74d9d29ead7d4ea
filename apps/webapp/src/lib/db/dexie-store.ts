import { Dexie } from 'dexie';
import type {
  Change,
  Outbox,
  RowFilter,
  Store,
  StoredRow,
  StoreWriter,
  TableName,
} from '@baton/engine';
import type { BatonDatabase } from './database.ts';
import {
  announceRowsPut,
  announceRowsUndone,
  announceRowsWritten,
  announceTablesWritten,
  smallWrite,
} from './rows-written.ts';

/** A request's answer as a promise. */
function answered(request: IDBRequest): Promise<unknown> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('IndexedDB refused a write'));
  });
}

function matches(row: StoredRow, filter: RowFilter | undefined): boolean {
  return filter === undefined || row.fields[filter.field] === filter.equals;
}

function byId(a: StoredRow, b: StoredRow): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

type RowsTable = BatonDatabase['rows'];

function tableRange(rows: RowsTable, table: TableName) {
  return rows.where('[table+id]').between([table, Dexie.minKey], [table, Dexie.maxKey]);
}

async function listRows(
  from: RowsTable,
  table: TableName,
  filter?: RowFilter,
): Promise<StoredRow[]> {
  const rows = await tableRange(from, table).toArray();
  return rows.filter((row) => matches(row, filter));
}

/** Below this many keys a plain `bulkGet`; above, existing keys are looked up first. */
const keyScanFrom = 32;

/**
 * The rows at `keys`, in order (undefined where none). For many keys, first one key-only read
 * per table over the range the wanted ids span (bounded to a few times their number) says which
 * exist, so rows not stored yet — most of a first pull — cost no read of their own: a `get` per
 * key is one IndexedDB request each, a key range is one for all.
 */
async function readMany(
  from: RowsTable,
  keys: ReadonlyArray<{ table: TableName; id: string }>,
): Promise<Array<StoredRow | undefined>> {
  const asKey = (key: { table: TableName; id: string }): [TableName, string] => [key.table, key.id];
  if (keys.length < keyScanFrom) return from.bulkGet(keys.map(asKey));
  const idsByTable = new Map<TableName, string[]>();
  for (const key of keys) {
    const ids = idsByTable.get(key.table);
    if (ids) ids.push(key.id);
    else idsByTable.set(key.table, [key.id]);
  }
  const existing = new Set<string>();
  let unknown = false;
  for (const [table, ids] of idsByTable) {
    const sorted = [...ids].sort();
    const bound = sorted.length * 4;
    const found = await from
      .where('[table+id]')
      .between([table, sorted[0]!], [table, sorted.at(-1)!], true, true)
      .limit(bound + 1)
      .primaryKeys();
    // Too many other rows in between: asking for each key costs less than listing them.
    if (found.length > bound) unknown = true;
    for (const [, id] of found) existing.add(`${table}\u0000${id}`);
  }
  if (unknown) return from.bulkGet(keys.map(asKey));
  const wanted = keys.filter((key) => existing.has(`${key.table}\u0000${key.id}`));
  const rows = new Map<string, StoredRow | undefined>();
  const read = await from.bulkGet(wanted.map(asKey));
  wanted.forEach((key, index) => rows.set(`${key.table}\u0000${key.id}`, read[index]));
  return keys.map((key) => rows.get(`${key.table}\u0000${key.id}`));
}

/**
 * The engine's Store port on Dexie. Rows live in `rows` keyed by [table+id]; `record` appends
 * to the `outbox`, which the sync client pushes in `seq` order. A transaction spans both
 * tables (and the newest stamp kept in `meta`), so a write and its outbox entries commit
 * together or not at all.
 */
export function createDexieStore(db: BatonDatabase): Store {
  return {
    get: async (table, id) => db.rows.get([table, id]),
    getMany: (keys) => readMany(db.rows, keys),
    list: (table, filter) => listRows(db.rows, table, filter),
    async transaction<T>(fn: (writer: StoreWriter) => Promise<T>): Promise<T> {
      // Rows put without Dexie's tracking, in order: announced once the transaction commits.
      const untracked: StoredRow[] = [];
      // Those of them shown to pages before the commit (a small write's).
      const shown: StoredRow[] = [];
      // Outbox entries and the saved stamp, written without Dexie's tracking too.
      let recorded = false;
      let stampSaved = false;
      let idbTransaction: IDBTransaction | undefined;
      const committed = db.transaction('rw', db.rows, db.outbox, db.meta, async (tx) => {
        idbTransaction = tx.idbtrans;
        // Tables bound to this transaction: requests made after a wait still join it.
        const rows = tx.table('rows') as RowsTable;
        const meta = tx.table('meta') as BatonDatabase['meta'];
        // Each awaited request is a round trip to the browser's storage process, so requests
        // go out without waiting where nothing needs their answer: the saved stamp is asked for
        // at once, and writes (rows, outbox, the stamp) are waited for only before the next
        // read, not at the end (the commit goes with them). IndexedDB runs one transaction's
        // requests in the order made.
        const saved = meta.get('latestStamp').then((entry) => {
          const value = entry?.value;
          return typeof value === 'string' ? value : undefined;
        });
        let newestWritten: string | undefined;
        const writes: Array<Promise<unknown>> = [];
        /**
         * Every write is a request of IndexedDB's own, made without Dexie: a failed one that
         * nothing handles aborts the whole transaction (IndexedDB's default), even once its
         * commit was asked for (below). Dexie's writes handle their own failures and would
         * leave that to a wait that no longer comes.
         */
        const issue = (write: Promise<unknown>) => {
          // Its failure is thrown where it is waited for (the next read), and aborts the
          // transaction; until then it is not an unhandled rejection.
          write.catch(() => undefined);
          writes.push(write);
        };
        const settle = async () => {
          while (writes.length > 0) await Promise.all(writes.splice(0));
        };
        const newest = async () => {
          const before = await saved;
          return newestWritten !== undefined && (before === undefined || newestWritten > before)
            ? newestWritten
            : before;
        };
        const note = (stamp: string) => {
          if (newestWritten === undefined || stamp > newestWritten) newestWritten = stamp;
        };
        const writer: StoreWriter = {
          get: async (table, id) => {
            await settle();
            return rows.get([table, id]);
          },
          getMany: async (keys) => {
            await settle();
            return readMany(rows, keys);
          },
          list: async (table, filter) => {
            await settle();
            return (await listRows(rows, table, filter)).sort(byId);
          },
          latestStamp: newest,
          put: async (written) => {
            for (const row of written) for (const stamp of Object.values(row.stamps)) note(stamp);
            // Without Dexie's tracking: pages are told what was written once the transaction
            // commits, the rows themselves when they are few, and those few already when put
            // (rows-written.ts). Every put of rows goes out here, at once, so they reach
            // IndexedDB in the order made.
            const store = tx.idbtrans.objectStore('rows');
            for (const row of written) {
              // A value IndexedDB cannot store throws here, failing the transaction.
              issue(answered(store.put(row)));
              untracked.push(row);
            }
            // A small write's rows are shown at once; a large one's once it has committed.
            if (untracked.length <= smallWrite) {
              announceRowsPut(db, written);
              shown.push(...written);
            }
          },
          record: async (changes: Change[]) => {
            const store = tx.idbtrans.objectStore('outbox');
            for (const change of changes) {
              note(change.hlc);
              issue(answered(store.add({ change })));
              recorded = true;
            }
          },
        };
        const result = await fn(writer);
        // Every host of this browser reads it at the start of its next write (engine.ts).
        const before = await saved;
        const latest = await newest();
        if (latest !== before) {
          issue(
            answered(tx.idbtrans.objectStore('meta').put({ key: 'latestStamp', value: latest })),
          );
          stampSaved = true;
        }
        // The commit is asked for with the last writes, not after their answers: one round
        // trip to the browser's storage less before the outbox can be pushed. A write that
        // fails still aborts the whole transaction (see `issue`), and the commit with it; one
        // that failed already has ended it, and its error is the one thrown (below).
        if (!tx.idbtrans.error) tx.idbtrans.commit();
        return result;
      });
      let result: T;
      try {
        result = await committed;
      } catch (error) {
        // Rows shown before a commit that did not come (announceRowsPut): read back.
        announceRowsUndone(db, shown);
        // A write that failed unwaited ended the transaction: its reason, not Dexie's word
        // that the transaction ended before the function did.
        throw idbTransaction?.error ?? error;
      }
      announceRowsWritten(db, untracked);
      announceTablesWritten(db, {
        ...(recorded ? { outbox: 'all' } : {}),
        ...(stampSaved ? { meta: ['latestStamp'] } : {}),
      });
      return result;
    },
  };
}

/** Changes waiting in the outbox, oldest first. */
export async function readOutbox(
  db: BatonDatabase,
  limit = Infinity,
): Promise<Array<{ seq: number; change: Change }>> {
  const entries = await db.outbox.orderBy('seq').limit(limit).toArray();
  return entries.map((entry) => ({ seq: entry.seq ?? 0, change: entry.change }));
}

/** Removes pushed entries up to and including `seq`. */
export async function dropOutbox(db: BatonDatabase, upToSeq: number): Promise<void> {
  await db.outbox.where('seq').belowOrEqual(upToSeq).delete();
}

/**
 * The engine's `Outbox` over the Dexie outbox: `read` gives the oldest entries in `seq` order,
 * `drop` removes every entry up to and including a seq (entries recorded since stay), `refuse`
 * moves one entry to the `refused` table with the relay's reason, in one transaction.
 */
export function createDexieOutbox(db: BatonDatabase, now: () => number = Date.now): Outbox {
  return {
    read: (limit) => readOutbox(db, limit),
    drop: (throughSeq) => dropOutbox(db, throughSeq),
    refuse: (entry, reason) =>
      db.transaction('rw', db.outbox, db.refused, async () => {
        await db.outbox.delete(entry.seq);
        await db.refused.add({ change: entry.change, reason, at: now() });
      }),
  };
}
