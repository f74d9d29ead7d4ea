import type { TableName } from '../model/tables.ts';
import type { RowFilter, Store, StoreWriter } from '../ports.ts';
import type { Change } from '../sync/change.ts';
import { rowKey, type StoredRow } from '../sync/merge.ts';

export interface MemoryStore extends Store {
  /** Changes recorded on this replica, in order (the outbox or commit log). */
  readonly recorded: Change[];
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

function matches(row: StoredRow, filter: RowFilter | undefined): boolean {
  return filter === undefined || row.fields[filter.field] === filter.equals;
}

/**
 * The reference Store: rows in a Map, transactions applied on commit. Serialises
 * transactions so concurrent callers see all-or-nothing writes, like the real stores.
 */
export function createMemoryStore(): MemoryStore {
  const rows = new Map<string, StoredRow>();
  const recorded: Change[] = [];
  let queue: Promise<unknown> = Promise.resolve();

  const list = async (table: TableName, filter?: RowFilter) =>
    [...rows.values()]
      .filter((row) => row.table === table && matches(row, filter))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map(clone);

  return {
    recorded,
    get: async (table, id) => {
      const row = rows.get(rowKey(table, id));
      return row && clone(row);
    },
    list,
    transaction<T>(fn: (writer: StoreWriter) => Promise<T>): Promise<T> {
      const run = async () => {
        const pending = new Map<string, StoredRow>();
        const pendingChanges: Change[] = [];
        const writer: StoreWriter = {
          get: async (table, id) => {
            const key = rowKey(table, id);
            const row = pending.get(key) ?? rows.get(key);
            return row && clone(row);
          },
          list: async (table, filter) => {
            const merged = new Map<string, StoredRow>();
            for (const row of await list(table)) merged.set(row.id, row);
            for (const row of pending.values())
              if (row.table === table) merged.set(row.id, clone(row));
            return [...merged.values()]
              .filter((row) => matches(row, filter))
              .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
          },
          put: async (puts) => {
            for (const row of puts) pending.set(rowKey(row.table, row.id), clone(row));
          },
          record: async (changes) => {
            pendingChanges.push(...changes.map(clone));
          },
        };
        const result = await fn(writer);
        for (const [key, row] of pending) rows.set(key, row);
        recorded.push(...pendingChanges);
        return result;
      };
      const next = queue.then(run, run);
      queue = next.catch(() => undefined);
      return next;
    },
  };
}
