/**
 * Making concurrency tests race for real on PostgreSQL. Requests sent "at once" through one pool
 * often still run one after the other (a statement takes a millisecond), so a test that only
 * fires them together rarely sees the interleaving it is about. These helpers hold a lock in a
 * transaction of their own until the contenders queue behind it, then let them go together.
 * PostgreSQL only: PGlite runs one query at a time and never waits on a lock.
 */
import type { Database, SqlRunner } from '../db/database.ts';

/** Sessions of this database waiting on a lock (a table, a row, an advisory lock). */
export async function sessionsWaitingOnLocks(runner: SqlRunner): Promise<number> {
  // Inside a transaction PostgreSQL keeps its first look at pg_stat_activity; look afresh.
  await runner.query('select pg_stat_clear_snapshot()');
  const [record] = await runner.query<{ waiting: number }>(
    `select count(*)::int as waiting from pg_stat_activity
     where datname = current_database() and wait_event_type = 'Lock'`,
  );
  return record?.waiting ?? 0;
}

/** Polls `condition` every 10 ms; throws `message` after `timeoutMs`. */
export async function waitUntil(
  condition: () => Promise<boolean>,
  options: { message: string; timeoutMs?: number },
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${options.message}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Starts `contenders` while a transaction holds `lock` (e.g. `lock table claims in exclusive
 * mode`), and commits it only once `waiting` sessions queue behind the lock, so the contenders'
 * statements start together. Resolves to their results in order (rejects with the first
 * failure, after all have settled).
 */
export async function startTogether<T>(
  db: Database,
  options: { lock: string; waiting: number; contenders: () => Array<Promise<T>> },
): Promise<T[]> {
  let settled: Promise<Array<PromiseSettledResult<T>>> | undefined;
  await db.transaction(async (blocker) => {
    await blocker.query(options.lock);
    settled = Promise.allSettled(options.contenders());
    await waitUntil(async () => (await sessionsWaitingOnLocks(blocker)) >= options.waiting, {
      message: `${options.waiting} sessions waiting behind "${options.lock}"`,
    });
  });
  return (await settled!).map((result) => {
    if (result.status === 'rejected') throw result.reason;
    return result.value;
  });
}
