import type { TableName } from '../model/tables.ts';
import type { RowFilter, Store, StoreWriter } from '../ports.ts';
import type { Change } from '../sync/change.ts';
import { rowKey, type StoredRow } from '../sync/merge.ts';

export interface MemoryStore extends Store {
  /** Changes recorded on this replica, in order (the outbox or commit log). */
  readonly recorded: Change[];
}

/**
 * A deep copy of stored data. Rows and changes hold JSON values only (they travel as JSON), so a
 * plain walk does it; structuredClone costs several times more per row, and the simulator reads
 * rows millions of times.
 */
function clone<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(clone) as T;
  const copy: Record<string, unknown> = {};
  for (const key in value) copy[key] = clone((value as Record<string, unknown>)[key]);
  return copy as T;
}

function matches(row: StoredRow, filter: RowFilter | undefined): boolean {
  return filter === undefined || row.fields[filter.field] === filter.equals;
}

function byId(a: StoredRow, b: StoredRow): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * The reference Store: rows in a Map, transactions applied on commit. Serialises
 * transactions so concurrent callers see all-or-nothing writes, like the real stores.
 * Filtered lists use an index per (table, field), built on first use and kept up to date on
 * commit, so a tick over many missions stays linear.
 */
export function createMemoryStore(): MemoryStore {
  const tables = new Map<TableName, Map<string, StoredRow>>();
  const indexes = new Map<string, Map<unknown, Set<string>>>();
  const recorded: Change[] = [];
  let latest: string | undefined;
  let queue: Promise<unknown> = Promise.resolve();

  const tableRows = (table: TableName) => {
    let rows = tables.get(table);
    if (!rows) tables.set(table, (rows = new Map()));
    return rows;
  };
  const indexKey = (table: TableName, field: string) => `${table}\u0000${field}`;
  const indexOf = (table: TableName, field: string) => {
    const key = indexKey(table, field);
    let index = indexes.get(key);
    if (!index) {
      index = new Map();
      for (const row of tableRows(table).values()) addTo(index, row.fields[field], row.id);
      indexes.set(key, index);
    }
    return index;
  };
  function addTo(index: Map<unknown, Set<string>>, value: unknown, id: string): void {
    let ids = index.get(value);
    if (!ids) index.set(value, (ids = new Set()));
    ids.add(id);
  }
  function commitRow(row: StoredRow): void {
    for (const stamp of Object.values(row.stamps))
      if (latest === undefined || stamp > latest) latest = stamp;
    const rows = tableRows(row.table);
    const previous = rows.get(row.id);
    for (const [key, index] of indexes) {
      const [table, field] = key.split('\u0000') as [TableName, string];
      if (table !== row.table) continue;
      if (previous) index.get(previous.fields[field])?.delete(row.id);
      addTo(index, row.fields[field], row.id);
    }
    rows.set(row.id, row);
  }

  const list = async (table: TableName, filter?: RowFilter) => {
    const rows = tableRows(table);
    const found = filter
      ? [...(indexOf(table, filter.field).get(filter.equals) ?? [])].map((id) => rows.get(id)!)
      : [...rows.values()];
    return found.sort(byId).map(clone);
  };

  return {
    recorded,
    get: async (table, id) => {
      const row = tables.get(table)?.get(id);
      return row && clone(row);
    },
    getMany: async (keys) =>
      keys.map((key) => {
        const row = tables.get(key.table)?.get(key.id);
        return row && clone(row);
      }),
    list,
    transaction<T>(fn: (writer: StoreWriter) => Promise<T>): Promise<T> {
      const run = async () => {
        const pending = new Map<string, StoredRow>();
        const pendingChanges: Change[] = [];
        const read = (table: TableName, id: string) => {
          const row = pending.get(rowKey(table, id)) ?? tables.get(table)?.get(id);
          return row && clone(row);
        };
        const writer: StoreWriter = {
          get: async (table, id) => read(table, id),
          getMany: async (keys) => keys.map((key) => read(key.table, key.id)),
          list: async (table, filter) => {
            const merged = new Map<string, StoredRow>();
            for (const row of await list(table, filter)) merged.set(row.id, row);
            for (const row of pending.values()) {
              if (row.table !== table) continue;
              if (matches(row, filter)) merged.set(row.id, clone(row));
              else merged.delete(row.id);
            }
            return [...merged.values()].sort(byId);
          },
          put: async (puts) => {
            for (const row of puts) pending.set(rowKey(row.table, row.id), clone(row));
          },
          record: async (changes) => {
            pendingChanges.push(...changes.map(clone));
          },
          latestStamp: async () => latest,
        };
        const result = await fn(writer);
        for (const row of pending.values()) commitRow(row);
        for (const change of pendingChanges)
          if (latest === undefined || change.hlc > latest) latest = change.hlc;
        recorded.push(...pendingChanges);
        return result;
      };
      const next = queue.then(run, run);
      queue = next.catch(() => undefined);
      return next;
    },
  };
}
