import { Dexie, RangeSet, type ObservabilitySet } from 'dexie';
import { z } from 'zod';
import { HlcStampSchema, tableNames, type StoredRow, type TableName } from '@baton/engine';
import type { BatonDatabase } from './database.ts';

/**
 * The worker's writes of rows bypass Dexie's change tracking. For a large one (a page of pulled
 * changes: hundreds of rows) that tracking names every key written in every index and then
 * merges those key sets again in every open page, once per live query: for a first pull of
 * 10,000 tasks that was about 0.3 s of the worker's time and 0.7 s of each open page's, on the
 * same cores as the writes. For a small one (a task added here or on another device) a page
 * told only the keys reads the rows back from IndexedDB, one more round trip between the write
 * and the row on screen. Instead, once such a transaction has committed, the worker says what
 * it wrote in two ways:
 *
 * - on a channel of its own: the rows themselves when they are few (`smallWrite`), else their
 *   ids by table, which pages watching a table (table-watch.ts) read back, and only those;
 * - through Dexie's `storagemutated`, one range per table and index, wide enough to cover every
 *   row written, so each live query over those tables runs again as it would have. This event
 *   carries a marker part, by which a table watcher knows the rows come on the channel.
 *
 * A small write's rows also go on the channel as soon as they are put (`announceRowsPut`), so a
 * page draws them without waiting for IndexedDB's commit; a transaction that then fails has
 * pages read them back (`announceRowsUndone`).
 */

/** Up to this many rows, a write's rows go on the channel whole; above it, their ids. */
export const smallWrite = 50;

/** The channel's name for one database. */
function channelName(databaseName: string): string {
  return `baton-rows-written:${databaseName}`;
}

/** A stored row as it goes on the channel: checked again where it is heard. */
const StoredRowSchema = z.object({
  table: z.enum(tableNames as [TableName, ...TableName[]]),
  id: z.string(),
  fields: z.record(z.string(), z.unknown()),
  stamps: z.record(z.string(), HlcStampSchema),
});

/** What goes on the channel: the rows written (a small write), or their ids by table. */
const RowsWrittenMessageSchema = z.union([
  z.object({ rows: z.array(StoredRowSchema) }),
  z.object({ tables: z.record(z.string(), z.array(z.string())) }),
]);
type RowsWrittenMessage = z.infer<typeof RowsWrittenMessageSchema>;

/** The marker part of the coarse `storagemutated` event (no index has this name). */
function markerPart(databaseName: string): string {
  return `idb://${databaseName}/rows/baton:ids-on-channel`;
}

/** Whether a `storagemutated` event is one this module fired, whose rows came on the channel. */
export function announcedOnChannel(parts: ObservabilitySet, databaseName: string): boolean {
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
 * tracking (`written`, in the order put; a row put twice counts once, as last put): the rows or
 * their ids on the channel first, then Dexie's coarse event (which Dexie sends to the other
 * contexts itself).
 */
export function announceRowsWritten(db: BatonDatabase, written: readonly StoredRow[]): void {
  if (written.length === 0) return;
  const last = new Map<string, StoredRow>();
  for (const row of written) last.set(`${row.table}\u0000${row.id}`, row);
  const tables = new Map<TableName, string[]>();
  for (const row of last.values()) {
    const ids = tables.get(row.table);
    if (ids) ids.push(row.id);
    else tables.set(row.table, [row.id]);
  }
  const message: RowsWrittenMessage =
    last.size <= smallWrite ? { rows: [...last.values()] } : { tables: Object.fromEntries(tables) };
  post(db, message);
  Dexie.on('storagemutated').fire(coarseParts(db, tables));
}

/**
 * Tells live queries of every page that a committed transaction wrote to other tables without
 * Dexie's tracking (the outbox, the saved stamp): all of a table's keys, or the keys named.
 * Dexie sends the event to the other contexts itself.
 */
export function announceTablesWritten(
  db: BatonDatabase,
  written: { outbox?: 'all'; meta?: string[] },
): void {
  const parts: ObservabilitySet = {};
  if (written.outbox) parts[`idb://${db.name}/outbox/`] = new RangeSet(Dexie.minKey, Dexie.maxKey);
  if (written.meta && written.meta.length > 0)
    parts[`idb://${db.name}/meta/`] = new RangeSet().addKeys(written.meta);
  if (Object.keys(parts).length > 0) Dexie.on('storagemutated').fire(parts);
}

/** Posts one message on the database's channel. */
function post(db: BatonDatabase, message: RowsWrittenMessage): void {
  const channel = new BroadcastChannel(channelName(db.name));
  channel.postMessage(message);
  channel.close();
}

/**
 * Shows pages the rows of a small write as soon as they are put, before the transaction has
 * committed (it commits or fails a few ms later): a page then draws a row that reached this
 * device in the time IndexedDB takes to commit it, not after. Only the channel hears it; live
 * queries run again on the announcement after the commit (`announceRowsWritten`), which sends
 * the rows once more. Should the transaction fail, `announceRowsUndone` has pages read the
 * rows back as IndexedDB still holds them. IndexedDB starts a read only after every write
 * transaction begun before it has ended, so a page that reads a row back in between reads
 * what that write committed, not what it replaced.
 */
export function announceRowsPut(db: BatonDatabase, put: readonly StoredRow[]): void {
  if (put.length > 0 && put.length <= smallWrite) post(db, { rows: [...put] });
}

/** Has pages read back rows shown before their transaction failed (`announceRowsPut`). */
export function announceRowsUndone(db: BatonDatabase, put: readonly StoredRow[]): void {
  if (put.length === 0) return;
  const tables: Record<string, string[]> = {};
  for (const row of put) (tables[row.table] ??= []).push(row.id);
  post(db, { tables });
}

/**
 * Hears what writes of `table` wrote, until `close`: `onRows` with the rows of a small write,
 * `onIds` with the ids of a large one.
 */
export function listenRowsWritten(options: {
  databaseName: string;
  table: TableName;
  onRows: (rows: StoredRow[]) => void;
  onIds: (ids: string[]) => void;
}): { close(): void } {
  const channel = new BroadcastChannel(channelName(options.databaseName));
  channel.onmessage = (event: MessageEvent<unknown>) => {
    const parsed = RowsWrittenMessageSchema.safeParse(event.data);
    if (!parsed.success) {
      console.warn('[baton] ignored a malformed rows-written message', parsed.error.message);
      return;
    }
    if ('rows' in parsed.data) {
      const rows = parsed.data.rows.filter((row) => row.table === options.table);
      if (rows.length > 0) options.onRows(rows);
      return;
    }
    const ids = parsed.data.tables[options.table];
    if (ids && ids.length > 0) options.onIds(ids);
  };
  return { close: () => channel.close() };
}
