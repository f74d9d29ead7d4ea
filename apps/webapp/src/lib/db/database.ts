import { Dexie, type EntityTable, type Table } from 'dexie';
import type { Change, StoredRow, TableName } from '@baton/engine';

/** One change waiting to be pushed; `seq` orders the outbox. */
export interface OutboxEntry {
  seq?: number;
  change: Change;
}

/** A change the relay refused at push, moved out of the outbox with the relay's reason. */
export interface RefusedEntry {
  seq?: number;
  change: Change;
  reason: string;
  /** Epoch ms it was refused. */
  at: number;
}

/** Device-local settings and sync state. Never synced. */
export interface MetaEntry {
  key: MetaKey;
  value: unknown;
}

export const metaKeys = [
  'deviceId',
  'deviceName',
  'cursor',
  'relayUrl',
  'token',
  'modelEndpoint',
  'modelKey',
  'modelName',
  'lastSeenAt',
  'user',
  'hlc',
  /** JSON `{deviceId: name}` of the user's devices seen in live presence. */
  'deviceNames',
  /** `{hostId, at}`: which engine host of this browser leads, and its last heartbeat (ms). */
  'leader',
  /** The newest HLC stamp in `rows`: every host's clock passes it before it writes. */
  'latestStamp',
] as const;
export type MetaKey = (typeof metaKeys)[number];

export type BatonDatabase = Dexie & {
  rows: Table<StoredRow, [TableName, string]>;
  outbox: EntityTable<OutboxEntry, 'seq'>;
  refused: EntityTable<RefusedEntry, 'seq'>;
  meta: EntityTable<MetaEntry, 'key'>;
};

export const defaultDatabaseName = 'baton';

/**
 * Opens the `baton` IndexedDB database. The worker writes; pages only read (liveQuery).
 * Both sides declare the same schema here, so a version bump reaches both.
 */
export function openDatabase(name: string = defaultDatabaseName): BatonDatabase {
  const db = new Dexie(name) as BatonDatabase;
  db.version(1).stores({
    // Merged rows keyed by [table+id]; secondary indexes for the mission timeline and inbox.
    rows: '[table+id], table, [table+fields.missionId], [table+fields.iterationId]',
    outbox: '++seq',
    meta: 'key',
  });
  // Changes the relay refused, listed in Settings (added with per-change push refusals).
  db.version(2).stores({ refused: '++seq' });
  return db;
}
