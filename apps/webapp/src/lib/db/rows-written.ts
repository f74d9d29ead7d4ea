import { Dexie, RangeSet, type ObservabilitySet } from 'dexie';
import { z } from 'zod';
import type { TableName } from '@baton/engine';
import type { BatonDatabase } from './database.ts';

/**
 * Large writes of rows (a page of pulled changes: hundreds of rows) bypass Dexie's change
 * tracking, which names every key written in every index and then merges those key sets again
 * in every open page, once per live query: for a first pull of 10,000 tasks that was about 0.3 s
 * of the worker's time and 0.7 s of each open page's, on the same cores as the writes. Instead,
 * once such a transaction has committed, the worker says which rows it wrote in two ways:
 *
 * - on a channel of its own, the ids by table, which pages watching a table (table-watch.ts)
 *   read back, and only those;
 * - through Dexie's `storagemutated`, one range per table and index, wide enough to cover every
 *   row written, so each live query over those tables runs again as it would have. This event
 *   carries a marker part, by which a table watcher knows the ids come on the channel.
 */

/** The channel's name for one database. */
function channelName(databaseName: string): string {
  return `baton-rows-written:${databaseName}`;
}

/** What goes on the channel: the ids written, by table. */
const RowsWrittenMessageSchema = z.object({
  tables: z.record(z.string(), z.array(z.string())),
});
type RowsWrittenMessage = z.infer<typeof RowsWrittenMessageSchema>;

/** The marker part of the coarse `storagemutated` event (no index has this name). */
function markerPart(databaseName: string): string {
  return `idb://${databaseName}/rows/baton:ids-on-channel`;
}

/** Whether a `storagemutated` event is one this module fired, whose ids came on the channel. */
export function idsOnChannel(parts: ObservabilitySet, databaseName: string): boolean {
  return markerPart(databaseName) in parts;
}

/** Dexie's parts for the rows written: per table, one range per index, covering them all. */
function coarseParts(db: BatonDatabase, tables: Map<TableName, string[]>): ObservabilitySet {
  const parts: ObservabilitySet = {};
  const prefix = `idb://${db.name}/rows/`;
  const add = (part: string, from: unknown, to: unknown) => {
    const range = new RangeSet(from as never, to as never);
    const existing = parts[part];
    parts[part] = existing ? (existing as RangeSet).add(range) : range;
  };
  for (const [table, ids] of tables) {
    const sorted = [...ids].sort();
    const first = [table, sorted[0]!];
    const last = [table, sorted.at(-1)!];
    // The primary key; ':dels' is the part Dexie's counts and key-only reads listen to.
    add(prefix, first, last);
    add(`${prefix}:dels`, first, last);
    add(markerPart(db.name), first, last);
    for (const index of db.rows.schema.indexes) {
      const keyPath = index.keyPath;
      if (keyPath === 'table') add(`${prefix}${index.name}`, table, table);
      else if (Array.isArray(keyPath) && keyPath[0] === 'table')
        add(`${prefix}${index.name}`, [table, Dexie.minKey], [table, Dexie.maxKey]);
      else add(`${prefix}${index.name}`, Dexie.minKey, Dexie.maxKey);
    }
  }
  return parts;
}

/**
 * Tells every page of this browser which rows a committed transaction wrote without Dexie's
 * tracking: the ids on the channel first, then Dexie's coarse event (which Dexie sends to the
 * other contexts itself).
 */
export function announceRowsWritten(db: BatonDatabase, tables: Map<TableName, string[]>): void {
  if (tables.size === 0) return;
  const message: RowsWrittenMessage = { tables: Object.fromEntries(tables) };
  const channel = new BroadcastChannel(channelName(db.name));
  channel.postMessage(message);
  channel.close();
  Dexie.on('storagemutated').fire(coarseParts(db, tables));
}

/** Hears the ids of `table` that large writes wrote, until `close`. */
export function listenRowsWritten(options: {
  databaseName: string;
  table: TableName;
  onIds: (ids: string[]) => void;
}): { close(): void } {
  const channel = new BroadcastChannel(channelName(options.databaseName));
  channel.onmessage = (event: MessageEvent<unknown>) => {
    const parsed = RowsWrittenMessageSchema.safeParse(event.data);
    if (!parsed.success) {
      console.warn('[baton] ignored a malformed rows-written message', parsed.error.message);
      return;
    }
    const ids = parsed.data.tables[options.table];
    if (ids && ids.length > 0) options.onIds(ids);
  };
  return { close: () => channel.close() };
}
