import { Dexie, cmp, type IntervalTree, type ObservabilitySet } from 'dexie';
import type { StoredRow, TableName } from '@baton/engine';
import type { BatonDatabase } from './database.ts';
import { idsOnChannel, listenRowsWritten } from './rows-written.ts';

/** The primary-key ranges of one mutated part, in key order (Dexie's interval tree). */
function* ranges(tree: IntervalTree | null | undefined): Generator<{ from: unknown; to: unknown }> {
  if (!tree || !('from' in tree)) return;
  yield* ranges(tree.l);
  yield { from: tree.from, to: tree.to };
  yield* ranges(tree.r);
}

/**
 * What a write touched in `table`: the ids of its rows, or `'all'` when Dexie could not say
 * which (a range, a cleared table, a page back from the back-forward cache).
 */
export function touchedIds(
  parts: ObservabilitySet,
  options: { databaseName: string; table: TableName },
): string[] | 'all' {
  if ('all' in parts) return 'all';
  const ids: string[] = [];
  for (const range of ranges(parts[`idb://${options.databaseName}/rows/`])) {
    if (cmp(range.from, range.to) !== 0) return 'all';
    const key = range.from;
    if (Array.isArray(key) && key[0] === options.table && typeof key[1] === 'string')
      ids.push(key[1]);
  }
  return ids;
}

/**
 * Keeps one table's stored rows as IndexedDB holds them, for a page: one read of the table at
 * the start, then, after each write anywhere in this browser (the worker's), a read of only the
 * rows that write touched. Dexie's `storagemutated` names them for a put of fewer than 50 rows;
 * the worker's store announces the ids of larger puts on a channel of their own
 * (rows-written.ts); a write Dexie cannot narrow otherwise reads the table again. `onRows` gets every row (deleted ones too),
 * in no particular order, after each read that changed something; reads run one at a time.
 */
export function watchTable(options: {
  db: BatonDatabase;
  table: TableName;
  onRows: (rows: StoredRow[]) => void;
  onError: (error: unknown) => void;
}): { close(): void } {
  const { db, table } = options;
  const rows = new Map<string, StoredRow>();
  let closed = false;
  let queue: Promise<void> = Promise.resolve();
  const enqueue = (read: () => Promise<void>) => {
    queue = queue
      .then(() => (closed ? undefined : read()))
      .then(() => {
        if (!closed) options.onRows([...rows.values()]);
      })
      .catch((error: unknown) => {
        if (!closed) options.onError(error);
      });
  };
  const readAll = async () => {
    const all = await db.rows.where('table').equals(table).toArray();
    rows.clear();
    for (const row of all) rows.set(row.id, row);
  };
  const readSome = (ids: string[]) => async () => {
    const found = await db.rows.bulkGet(ids.map((id) => [table, id] as [TableName, string]));
    ids.forEach((id, index) => {
      const row = found[index];
      if (row) rows.set(id, row);
      else rows.delete(id);
    });
  };
  const heard = (parts: ObservabilitySet) => {
    // A large write's ids come on their own channel (below); its Dexie event is only a range.
    if (idsOnChannel(parts, db.name)) return;
    const touched = touchedIds(parts, { databaseName: db.name, table });
    if (touched === 'all') enqueue(readAll);
    else if (touched.length > 0) enqueue(readSome(touched));
  };
  Dexie.on('storagemutated', heard);
  const written = listenRowsWritten({
    databaseName: db.name,
    table,
    onIds: (ids) => enqueue(readSome(ids)),
  });
  enqueue(readAll);
  return {
    close() {
      closed = true;
      Dexie.on('storagemutated').unsubscribe(heard);
      written.close();
    },
  };
}
