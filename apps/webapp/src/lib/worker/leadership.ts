import { z } from 'zod';
import type { BatonDatabase } from '../db/database.ts';

/** The Web Lock every engine host of this origin asks for; whoever holds it leads. */
export const leaderLockName = 'baton-engine-leader';

const LeaderRowSchema = z.object({ hostId: z.string(), at: z.number() });
type LeaderRow = z.infer<typeof LeaderRowSchema>;

/** Runs `task` every `ms` until the returned function is called (injectable for tests). */
export type Every = (task: () => void, ms: number) => () => void;

export interface LeadershipOptions {
  db: BatonDatabase;
  /** This host, unique per worker instance. */
  hostId: string;
  /** `navigator.locks`; where Web Locks are missing, the IndexedDB row alone is a lease. */
  locks: LockManager | undefined;
  /** Called when this host starts or stops leading; stopping must end planning and sync at once. */
  onChange: (leading: boolean) => void;
  /** Called after each heartbeat this host wrote as leader. */
  onHeartbeat?: () => void;
  now?: () => number;
  every?: Every;
  random?: () => number;
  /** How often the leader writes its heartbeat and followers read it (default 2 s). */
  heartbeatMs?: number;
  /** A heartbeat older than this (default 10 s, plus jitter) means the leader is frozen. */
  staleMs?: number;
}

export interface Leadership {
  /**
   * True while this host leads and its own heartbeat is fresh: a leader that was frozen stops
   * acting on its own until a heartbeat confirms it still leads.
   */
  isLeader(): boolean;
  /** Gives up the lead (lock and row) and stops watching. */
  close(): Promise<void>;
}

const defaultEvery: Every = (task, ms) => {
  const timer = setInterval(task, ms);
  return () => clearInterval(timer);
};

/**
 * One leader among every engine host of this browser profile: SharedWorkers of any build and
 * dedicated per-tab workers alike. The leader holds the `baton-engine-leader` Web Lock (released
 * by the browser when its worker ends, so the next host takes over at once) and writes a heartbeat
 * row `leader = {hostId, at}` in IndexedDB every `heartbeatMs`. A frozen tab keeps its lock, so a
 * follower that sees the heartbeat go stale takes the lock with `steal: true`; the browser then
 * tells the old holder its lock is gone, and its next heartbeat finds another host's row: either
 * way it stops leading at once. Where Web Locks are missing, the row alone is a lease: written in
 * a transaction only when absent, stale or already ours.
 */
export function createLeadership(options: LeadershipOptions): Leadership {
  const { db, hostId, locks } = options;
  const now = options.now ?? Date.now;
  const every = options.every ?? defaultEvery;
  const random = options.random ?? Math.random;
  const heartbeatMs = options.heartbeatMs ?? 2_000;
  const staleMs = options.staleMs ?? 10_000;
  let leading = false;
  let confirmedAt = -Infinity;
  let closed = false;
  let checking = false;
  let stealing = false;
  /** Ends the callback that holds the lock, which releases it. */
  let release: (() => void) | undefined;
  /** Our waiting (non-stealing) lock request. */
  let queued: AbortController | undefined;

  async function readRow(): Promise<LeaderRow | undefined> {
    const parsed = LeaderRowSchema.safeParse((await db.meta.get('leader'))?.value);
    return parsed.success ? parsed.data : undefined;
  }

  /** Writes our heartbeat if `allowed(current row)`, in one transaction; true when written. */
  function writeRowIf(allowed: (row: LeaderRow | undefined) => boolean): Promise<boolean> {
    return db.transaction('rw', db.meta, async () => {
      if (!allowed(await readRow())) return false;
      await db.meta.put({ key: 'leader', value: { hostId, at: now() } });
      return true;
    });
  }

  const isStale = (row: LeaderRow | undefined, limit: number) => !row || now() - row.at > limit;

  function lead(): void {
    if (leading || closed) return;
    leading = true;
    confirmedAt = now();
    options.onChange(true);
  }

  function stepDown(): void {
    release?.();
    release = undefined;
    if (!leading) return;
    leading = false;
    confirmedAt = -Infinity;
    options.onChange(false);
  }

  /** Waits for the lock (or takes it, with `steal`) and leads while holding it. */
  function requestLock(steal: boolean): void {
    if (!locks || closed) return;
    const controller = steal ? undefined : new AbortController();
    if (controller) queued = controller;
    else stealing = true;
    const held = locks.request(
      leaderLockName,
      controller ? { signal: controller.signal } : { steal: true },
      async () => {
        if (queued === controller) queued = undefined;
        if (closed) return;
        await writeRowIf(() => true);
        if (steal) {
          // Another follower may have stolen at the same moment: lead only if, a heartbeat
          // later, the row is still ours.
          await new Promise((resolve) => setTimeout(resolve, heartbeatMs));
          stealing = false;
          if (closed || !(await writeRowIf((row) => row?.hostId === hostId))) return;
        }
        const released = new Promise<void>((resolve) => (release = resolve));
        lead();
        await released;
      },
    );
    held
      .catch(() => {
        // Stolen by a host that found us frozen, or our own waiting request cancelled for a steal.
      })
      .finally(() => {
        if (!steal && controller?.signal.aborted) return;
        if (steal) stealing = false;
        stepDown();
        if (!closed) requestLock(false);
      });
  }

  async function check(): Promise<void> {
    if (closed || checking) return;
    checking = true;
    try {
      if (leading) {
        if (await writeRowIf((row) => row?.hostId === hostId)) {
          confirmedAt = now();
          options.onHeartbeat?.();
        } else stepDown();
        return;
      }
      // Jitter, so two followers rarely decide to take over in the same heartbeat.
      const limit = staleMs + random() * heartbeatMs * 2;
      if (!isStale(await readRow(), limit)) return;
      if (locks) {
        if (stealing) return;
        queued?.abort();
        queued = undefined;
        requestLock(true);
      } else if (await writeRowIf((row) => isStale(row, staleMs) || row?.hostId === hostId)) {
        lead();
      }
    } catch (error) {
      console.warn('[baton] leader heartbeat failed', error);
    } finally {
      checking = false;
    }
  }

  const stop = every(() => void check(), heartbeatMs);
  if (locks) requestLock(false);
  else void check();

  return {
    isLeader: () => leading && now() - confirmedAt < staleMs,
    async close() {
      closed = true;
      stop();
      queued?.abort();
      const wasLeading = leading;
      stepDown();
      if (wasLeading) {
        await db.transaction('rw', db.meta, async () => {
          if ((await readRow())?.hostId === hostId) await db.meta.delete('leader');
        });
      }
    },
  };
}
