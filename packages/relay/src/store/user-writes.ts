/**
 * One user's writing transactions run one at a time in this process, in arrival order, and each
 * takes a pooled connection only when its turn comes: a flood of one user's pushes and claims
 * waits here, not on the user's advisory lock while holding connections other users need. The
 * advisory lock (`lockUser`) still orders them across processes.
 */
import type { Database, SqlRunner } from '../db/database.ts';
import { lockUser } from './change-log.ts';
import { createKeyedQueue } from './keyed-queue.ts';

const queues = new WeakMap<Database, ReturnType<typeof createKeyedQueue>>();

/** Runs `fn` in a write transaction for `userId`, after the user's earlier ones, under its lock. */
export function userTransaction<T>(
  db: Database,
  userId: string,
  fn: (runner: SqlRunner) => Promise<T>,
): Promise<T> {
  let queue = queues.get(db);
  if (!queue) queues.set(db, (queue = createKeyedQueue()));
  return queue.run(userId, () =>
    db.transaction(async (runner) => {
      await lockUser(runner, { userId, kind: db.kind });
      return fn(runner);
    }),
  );
}
