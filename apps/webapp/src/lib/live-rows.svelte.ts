import { readRows, type RowOf, type TableName } from '@baton/engine';
import { pageDb } from './db/page-db.ts';
import { watchTable } from './db/table-watch.ts';

/**
 * One table's readable rows as a runes-friendly value, kept by `watchTable`: a write re-reads
 * only the rows it touched, not the whole table (a page with thousands of tasks open while a
 * pull applies them reads each row once, not once per pulled page). Rows are validated with the
 * engine's schemas as `listRows` does; deleted and invalid rows are left out. Call it while a
 * component initialises.
 */
export function liveRows<T extends TableName>(
  table: T,
): { readonly value: RowOf<T>[]; readonly loaded: boolean; readonly error: string | null } {
  let value = $state.raw<RowOf<T>[]>([]);
  let loaded = $state(false);
  let error = $state<string | null>(null);
  $effect(() => {
    // Validated rows by id, kept while the stored row is the same object (unchanged since).
    const read = new Map<string, { stored: object; row: RowOf<T> | undefined }>();
    const watch = watchTable({
      db: pageDb(),
      table,
      onRows: (rows) => {
        const next = new Map<string, { stored: object; row: RowOf<T> | undefined }>();
        for (const stored of rows) {
          const known = read.get(stored.id);
          next.set(
            stored.id,
            known?.stored === stored ? known : { stored, row: readRows(table, [stored])[0] },
          );
        }
        read.clear();
        for (const [id, entry] of next) read.set(id, entry);
        value = [...next.values()].flatMap((entry) => (entry.row ? [entry.row] : []));
        loaded = true;
        error = null;
      },
      onError: (failure) => {
        error = (failure as Error)?.message ?? String(failure);
        loaded = true;
      },
    });
    return () => watch.close();
  });
  return {
    get value() {
      return value;
    },
    get loaded() {
      return loaded;
    },
    get error() {
      return error;
    },
  };
}
