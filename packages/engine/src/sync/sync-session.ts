import type { ApplyReport } from '../engine.ts';
import { EngineError, isEngineError } from '../errors.ts';
import type { Transport } from '../ports.ts';
import type { Change } from './change.ts';
import { maxPushBytes } from './protocol.ts';

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
  /**
   * Moves one entry out of the outbox into the device's list of refused changes, with the
   * relay's reason (the person sees the list). The entries after it are pushed on.
   */
  refuse(entry: OutboxEntry, reason: string): Promise<void>;
}

/** A change the relay refused at push, and why. */
export interface RefusedChange {
  id: string;
  reason: string;
}

/** Where a device keeps its pull cursor (durable, like the outbox). */
export interface CursorStore {
  get(): Promise<string | undefined>;
  set(cursor: string): Promise<void>;
}

export interface SyncRoundReport {
  pushed: number;
  /** Changes the relay refused in this round's pushes (moved out of the outbox). */
  refusedByRelay: RefusedChange[];
  pulled: number;
  /** Pulled changes this replica could not read (named by id, with the reason). */
  refused: ApplyReport['refused'];
  cursor: string | undefined;
}

/**
 * Which change of a pushed batch the relay refused: its 400 (or clock error) names the field
 * `changes.<i>…`. Undefined for a failure of the whole request (unreachable, a bad token, too
 * large), which is retried as it is.
 */
function refusedIndex(error: unknown): number | undefined {
  if (!isEngineError(error, 'invalid') && !isEngineError(error, 'clock')) return undefined;
  const match = /^changes\.(\d+)(\.|$)/.exec(error.field ?? '');
  return match ? Number(match[1]) : undefined;
}

/**
 * The relay's clock refusal as this device's person reads it (the sync status shows it): what
 * it means here, that the change waits (and every later one with it), then the relay's reason
 * without the field it names first (`changes.3.hlc: `), which is kept as the error's field.
 */
function waitingForClock(error: EngineError): EngineError {
  const prefix = error.field === undefined ? undefined : `${error.field}: `;
  const reason =
    prefix !== undefined && error.message.startsWith(prefix)
      ? error.message.slice(prefix.length)
      : error.message;
  return new EngineError(
    'clock',
    `A change waits to sync: ${reason}`,
    error.field === undefined ? undefined : { field: error.field },
  );
}

/**
 * The first entries whose changes fit in one push body (`maxPushBytes`, with room for the rest
 * of the request), at least one: an outbox of large rows (an import of long run histories,
 * whose raw model answers are kept) is pushed in smaller batches instead of refused as too large.
 */
function withinPushBytes(entries: OutboxEntry[]): OutboxEntry[] {
  let bytes = 0;
  for (let index = 0; index < entries.length; index += 1) {
    // UTF-8 takes at most 3 bytes per UTF-16 unit: an upper bound without encoding.
    bytes += JSON.stringify(entries[index]!.change).length * 3 + 1;
    if (bytes > maxPushBytes - 64 * 1024) return entries.slice(0, Math.max(1, index));
  }
  return entries;
}

/**
 * Pushes the outbox in order, `batch` changes per request, dropping each batch once the relay
 * acknowledged it. With `cursor`: when the relay's answer says the log's entries from the stored
 * cursor up to its new one are exactly this batch (every change new, `since` the stored cursor),
 * the stored cursor moves past them, since this replica wrote them and holds them already; the
 * pull after the push then does not fetch and apply them again (docs/decisions/0017). A change
 * the relay refuses as invalid (its 400 names it) moves to the refused list with the reason and
 * the rest is pushed again, so one refused change never holds back the others. A change stamped
 * too far ahead of the relay's clock waits (with every later one, all stamped later still) until
 * the relay's clock gets there: the changes before it are pushed and the clock error is thrown,
 * so the round is retried. Any other failure throws (nothing is dropped then).
 */
export async function pushOutbox(options: {
  transport: Transport;
  outbox: Outbox;
  deviceId: string;
  batch?: number;
  cursor?: CursorStore;
}): Promise<{ pushed: number; refused: RefusedChange[] }> {
  const batch = options.batch ?? 500;
  let pushed = 0;
  const refused: RefusedChange[] = [];
  for (;;) {
    const entries = withinPushBytes(await options.outbox.read(batch));
    if (entries.length === 0) return { pushed, refused };
    let answer: Awaited<ReturnType<Transport['push']>>;
    try {
      answer = await options.transport.push({
        deviceId: options.deviceId,
        changes: entries.map((entry) => entry.change),
      });
    } catch (error) {
      const index = refusedIndex(error);
      const entry = index === undefined ? undefined : entries[index];
      if (!entry) throw error;
      if (isEngineError(error, 'clock')) {
        // A stamp too far ahead of the relay's clock is accepted once the relay's clock gets
        // there; every later entry is stamped later still (the clock never goes back). So the
        // entries before it go now, and it waits in the outbox: the round is retried.
        const ready = entries.slice(0, index);
        if (ready.length > 0) {
          await options.transport.push({
            deviceId: options.deviceId,
            changes: ready.map((ready) => ready.change),
          });
          await options.outbox.drop(ready[ready.length - 1]!.seq);
          pushed += ready.length;
        }
        throw waitingForClock(error);
      }
      const reason = (error as Error).message;
      await options.outbox.refuse(entry, reason);
      refused.push({ id: entry.change.id, reason });
      continue;
    }
    await options.outbox.drop(entries[entries.length - 1]!.seq);
    pushed += entries.length;
    if (
      options.cursor &&
      answer.since !== undefined &&
      answer.duplicates === 0 &&
      answer.accepted === entries.length &&
      (await options.cursor.get()) === answer.since
    )
      await options.cursor.set(answer.cursor);
  }
}

/**
 * Pulls every page after the stored cursor and applies it; the cursor is stored after each
 * page is applied, so a reload resumes where it stopped. While a page is applied the next one
 * is already on its way (pages are still applied one after another, in order): the relay's
 * answer and the device's writes overlap instead of taking turns.
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
  const limit = options.limit ?? 500;
  let next = options.transport.pull({ since: cursor, limit });
  for (;;) {
    const page = await next;
    if (page.more) next = options.transport.pull({ since: page.cursor, limit });
    try {
      if (page.changes.length > 0) {
        const report = await options.apply(page.changes);
        refused.push(...report.refused);
        pulled += page.changes.length;
      }
      // An empty page at the stored cursor (nothing new) leaves it as it is.
      if (page.changes.length > 0 || page.cursor !== cursor) await options.cursor.set(page.cursor);
      cursor = page.cursor;
    } catch (error) {
      // The page fetched ahead is dropped with the round (its failure, too, is no news).
      if (page.more) next.catch(() => undefined);
      throw error;
    }
    if (!page.more) return { pulled, refused, cursor };
  }
}

/**
 * One sync round of a device: push the outbox, then pull what is new. Pull never waits on push:
 * when the push fails (the relay down, a refused token), the pull is still tried, and the push's
 * error is thrown after it (the caller retries the round).
 */
export async function syncRound(options: {
  transport: Transport;
  outbox: Outbox;
  cursor: CursorStore;
  deviceId: string;
  apply: (changes: unknown[]) => Promise<ApplyReport>;
  pushBatch?: number;
  pullLimit?: number;
}): Promise<SyncRoundReport> {
  let pushError: unknown;
  let push: { pushed: number; refused: RefusedChange[] } = { pushed: 0, refused: [] };
  try {
    push = await pushOutbox({
      transport: options.transport,
      outbox: options.outbox,
      deviceId: options.deviceId,
      cursor: options.cursor,
      ...(options.pushBatch === undefined ? {} : { batch: options.pushBatch }),
    });
  } catch (error) {
    pushError = error;
  }
  const pull = await pullAll({
    transport: options.transport,
    cursor: options.cursor,
    apply: options.apply,
    ...(options.pullLimit === undefined ? {} : { limit: options.pullLimit }),
  });
  if (pushError !== undefined) throw pushError;
  // Applying what was pulled can write changes of this replica (a superseded step, an undone
  // losing execution): they go now, not whenever something else next asks for a round.
  if (pull.pulled > 0) {
    const after = await pushOutbox({
      transport: options.transport,
      outbox: options.outbox,
      deviceId: options.deviceId,
      cursor: options.cursor,
      ...(options.pushBatch === undefined ? {} : { batch: options.pushBatch }),
    });
    push = { pushed: push.pushed + after.pushed, refused: [...push.refused, ...after.refused] };
  }
  return { pushed: push.pushed, refusedByRelay: push.refused, ...pull };
}
