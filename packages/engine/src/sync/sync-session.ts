import type { ApplyReport } from '../engine.ts';
import type { Transport } from '../ports.ts';
import type { Change } from './change.ts';

/** One change waiting in a device's outbox; `seq` orders the outbox (commit order). */
export interface OutboxEntry {
  seq: number;
  change: Change;
}

/**
 * A device's outbox as the sync round needs it. The host keeps it in durable storage
 * (IndexedDB), so it survives reloads; entries are read oldest first.
 */
export interface Outbox {
  /** The oldest `limit` entries, in `seq` order. */
  read(limit: number): Promise<OutboxEntry[]>;
  /** Removes every entry up to and including `seq` (the relay has them). */
  drop(throughSeq: number): Promise<void>;
}

/** Where a device keeps its pull cursor (durable, like the outbox). */
export interface CursorStore {
  get(): Promise<string | undefined>;
  set(cursor: string): Promise<void>;
}

export interface SyncRoundReport {
  pushed: number;
  pulled: number;
  /** Pulled changes this replica could not read (named by id, with the reason). */
  refused: ApplyReport['refused'];
  cursor: string | undefined;
}

/**
 * Pushes the outbox in order, `batch` changes per request, dropping each batch once the relay
 * acknowledged it. Throws what the transport throws (nothing is dropped then).
 */
export async function pushOutbox(options: {
  transport: Transport;
  outbox: Outbox;
  deviceId: string;
  batch?: number;
}): Promise<number> {
  const batch = options.batch ?? 500;
  let pushed = 0;
  for (;;) {
    const entries = await options.outbox.read(batch);
    if (entries.length === 0) return pushed;
    await options.transport.push({
      deviceId: options.deviceId,
      changes: entries.map((entry) => entry.change),
    });
    await options.outbox.drop(entries[entries.length - 1]!.seq);
    pushed += entries.length;
  }
}

/**
 * Pulls every page after the stored cursor and applies it; the cursor is stored after each
 * page is applied, so a reload resumes where it stopped.
 */
export async function pullAll(options: {
  transport: Transport;
  cursor: CursorStore;
  apply: (changes: unknown[]) => Promise<ApplyReport>;
  limit?: number;
}): Promise<{ pulled: number; refused: ApplyReport['refused']; cursor: string | undefined }> {
  const refused: ApplyReport['refused'] = [];
  let cursor = await options.cursor.get();
  let pulled = 0;
  for (;;) {
    const page = await options.transport.pull({ since: cursor, limit: options.limit ?? 500 });
    if (page.changes.length > 0) {
      const report = await options.apply(page.changes);
      refused.push(...report.refused);
      pulled += page.changes.length;
    }
    cursor = page.cursor;
    await options.cursor.set(cursor);
    if (!page.more) return { pulled, refused, cursor };
  }
}

/** One sync round of a device: push the outbox, then pull what is new. */
export async function syncRound(options: {
  transport: Transport;
  outbox: Outbox;
  cursor: CursorStore;
  deviceId: string;
  apply: (changes: unknown[]) => Promise<ApplyReport>;
  pushBatch?: number;
  pullLimit?: number;
}): Promise<SyncRoundReport> {
  const pushed = await pushOutbox({
    transport: options.transport,
    outbox: options.outbox,
    deviceId: options.deviceId,
    ...(options.pushBatch === undefined ? {} : { batch: options.pushBatch }),
  });
  const pull = await pullAll({
    transport: options.transport,
    cursor: options.cursor,
    apply: options.apply,
    ...(options.pullLimit === undefined ? {} : { limit: options.pullLimit }),
  });
  return { pushed, ...pull };
}
