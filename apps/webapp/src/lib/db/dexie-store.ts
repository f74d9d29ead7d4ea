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

/** Rows per `bulkPut`: Dexie names the keys of a put of fewer than 50 rows to live queries. */
const putSlice = 49;

function matches(row: StoredRow, filter: RowFilter | undefined): boolean {
  return filter === undefined || row.fields[filter.field] === filter.equals;
}

function byId(a: StoredRow, b: StoredRow): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function tableRange(db: BatonDatabase, table: TableName) {
  return db.rows.where('[table+id]').between([table, Dexie.minKey], [table, Dexie.maxKey]);
}

async function listRows(
  db: BatonDatabase,
  table: TableName,
  filter?: RowFilter,
): Promise<StoredRow[]> {
  const rows = await tableRange(db, table).toArray();
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
  db: BatonDatabase,
  keys: ReadonlyArray<{ table: TableName; id: string }>,
): Promise<Array<StoredRow | undefined>> {
  const asKey = (key: { table: TableName; id: string }): [TableName, string] => [key.table, key.id];
  if (keys.length < keyScanFrom) return db.rows.bulkGet(keys.map(asKey));
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
    const found = await db.rows
      .where('[table+id]')
      .between([table, sorted[0]!], [table, sorted.at(-1)!], true, true)
      .limit(bound + 1)
      .primaryKeys();
    // Too many other rows in between: asking for each key costs less than listing them.
    if (found.length > bound) unknown = true;
    for (const [, id] of found) existing.add(`${table}\u0000${id}`);
  }
  if (unknown) return db.rows.bulkGet(keys.map(asKey));
  const wanted = keys.filter((key) => existing.has(`${key.table}\u0000${key.id}`));
  const rows = new Map<string, StoredRow | undefined>();
  const read = await db.rows.bulkGet(wanted.map(asKey));
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
  const get = async (table: TableName, id: string) => db.rows.get([table, id]);
  const getMany = (keys: ReadonlyArray<{ table: TableName; id: string }>) => readMany(db, keys);
  return {
    get,
    getMany,
    list: (table, filter) => listRows(db, table, filter),
    transaction<T>(fn: (writer: StoreWriter) => Promise<T>): Promise<T> {
      return db.transaction('rw', db.rows, db.outbox, db.meta, async () => {
        const saved = (await db.meta.get('latestStamp'))?.value;
        const before = typeof saved === 'string' ? saved : undefined;
        let latest = before;
        const writer: StoreWriter = {
          get,
          getMany,
          list: (table, filter) => listRows(db, table, filter).then((rows) => rows.sort(byId)),
          latestStamp: async () => latest,
          put: async (rows) => {
            for (const row of rows)
              for (const stamp of Object.values(row.stamps))
                if (latest === undefined || stamp > latest) latest = stamp;
            // Slices under 50 rows: for those Dexie tells pages which rows changed (its
            // `storagemutated`), so an open page re-reads only them (table-watch.ts); for a
            // larger put it says "everything". The slices go out at once, in one transaction.
            const slices: StoredRow[][] = [];
            for (let start = 0; start < rows.length; start += putSlice)
              slices.push(rows.slice(start, start + putSlice));
            await Promise.all(slices.map((slice) => db.rows.bulkPut(slice)));
          },
          record: async (changes: Change[]) => {
            for (const change of changes)
              if (latest === undefined || change.hlc > latest) latest = change.hlc;
            await db.outbox.bulkAdd(changes.map((change) => ({ change })));
          },
        };
        const result = await fn(writer);
        // Every host of this browser reads it at the start of its next write (engine.ts).
        if (latest !== before) await db.meta.put({ key: 'latestStamp', value: latest });
        return result;
      });
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
