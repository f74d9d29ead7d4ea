import { Dexie, cmp, type IntervalTree, type ObservabilitySet } from 'dexie';
import type { StoredRow, TableName } from '@baton/engine';
import type { BatonDatabase } from './database.ts';
import { announcedOnChannel, listenRowsWritten } from './rows-written.ts';

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
 * Whether `incoming` holds everything `held` does: each field `held` has a stamp for, stamped
 * the same or later. A stored row only moves forward (a merge keeps each field's latest stamp,
 * a local write stamps later still), so of two versions of a row the later one holds the
 * earlier, and an announcement that arrives after a later one's does not.
 */
export function holdsAll(incoming: StoredRow, held: StoredRow): boolean {
  for (const [field, stamp] of Object.entries(held.stamps)) {
    const newer = incoming.stamps[field];
    if (newer === undefined || newer < stamp) return false;
  }
  return true;
}

/** Whether two versions of a row are the same: the same stamps and the same fields. */
export function sameVersion(a: StoredRow, b: StoredRow): boolean {
  return holdsAll(a, b) && holdsAll(b, a) && JSON.stringify(a.fields) === JSON.stringify(b.fields);
}

/**
 * Keeps one table's stored rows as IndexedDB holds them, for a page: one read of the table at
 * the start, then, after each write anywhere in this browser (the worker's), only what that
 * write touched. The worker's store announces its writes on a channel of its own
 * (rows-written.ts): the rows themselves for a small write, used as they come (unless this
 * watch already holds a later version, which another host's write can bring first: then the
 * row is read back), and the ids of a large one, read back. A small write's rows come twice,
 * when put and once committed (rows-written.ts): the second time, a version already held
 * changes nothing, and `onRows` is not called for it. A write that bypassed the store is
 * heard through Dexie's `storagemutated`: the rows it names are read back, and a write Dexie
 * cannot narrow reads the table again. `onRows` gets every row (deleted ones too), in no
 * particular order, after each step that changed something; steps run one at a time.
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
  /** Runs `step` after the ones before it; `onRows` follows unless the step says `'same'`. */
  const enqueue = (step: () => Promise<void | 'same'>) => {
    queue = queue
      .then(() => (closed ? 'same' : step()))
      .then((outcome) => {
        if (!closed && outcome !== 'same') options.onRows([...rows.values()]);
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
  const readSome = async (ids: string[]) => {
    const found = await db.rows.bulkGet(ids.map((id) => [table, id] as [TableName, string]));
    ids.forEach((id, index) => {
      const row = found[index];
      if (row) rows.set(id, row);
      else rows.delete(id);
    });
  };
  const take = (written: StoredRow[]) => async (): Promise<void | 'same'> => {
    const behind: string[] = [];
    let changed = false;
    for (const row of written) {
      const held = rows.get(row.id);
      // The same version again: a small write is announced when put and once committed.
      if (held && sameVersion(row, held)) continue;
      if (!held || holdsAll(row, held)) {
        rows.set(row.id, row);
        changed = true;
      } else behind.push(row.id);
    }
    if (behind.length > 0) await readSome(behind);
    else if (!changed) return 'same';
  };
  const heard = (parts: ObservabilitySet) => {
    // The store's writes come on their own channel (below); their Dexie event is only a range.
    if (announcedOnChannel(parts, db.name)) return;
    const touched = touchedIds(parts, { databaseName: db.name, table });
    if (touched === 'all') enqueue(readAll);
    else if (touched.length > 0) enqueue(() => readSome(touched));
  };
  Dexie.on('storagemutated', heard);
  const written = listenRowsWritten({
    databaseName: db.name,
    table,
    onRows: (written) => enqueue(take(written)),
    onIds: (ids) => enqueue(() => readSome(ids)),
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
