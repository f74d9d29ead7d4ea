/**
 * Leases on iteration ids, per user, in the `claims` table: one row per iteration id, granted to
 * one holder at a time. A lease past its expiry can be taken by anyone; the holder re-claiming
 * extends it. The upsert is one statement, so two instances racing for one id get one winner.
 */
import type { ClaimResult, Claims } from '@baton/engine';
import { z } from 'zod';
import type { SqlRunner } from '../db/database.ts';

const ClaimRecordSchema = z.object({ holder: z.string(), expires_at: z.number() });

const toResult = (granted: boolean, record: unknown): ClaimResult => {
  const parsed = ClaimRecordSchema.parse(record);
  return { granted, holder: parsed.holder, expiresAt: parsed.expires_at };
};

export async function claimIteration(
  runner: SqlRunner,
  options: { userId: string; iterationId: string; holder: string; ttlMs: number; now: number },
): Promise<ClaimResult> {
  const expiresAt = options.now + options.ttlMs;
  const granted = await runner.query(
    `insert into claims (user_id, iteration_id, holder, expires_at) values ($1, $2, $3, $4::bigint)
     on conflict (user_id, iteration_id) do update set holder = excluded.holder, expires_at = excluded.expires_at
       where claims.expires_at <= $5::bigint or claims.holder = excluded.holder
     returning holder, expires_at::float8 as expires_at`,
    [options.userId, options.iterationId, options.holder, expiresAt, options.now],
  );
  if (granted[0]) return toResult(true, granted[0]);
  const current = await runner.query(
    'select holder, expires_at::float8 as expires_at from claims where user_id = $1 and iteration_id = $2',
    [options.userId, options.iterationId],
  );
  // The row can vanish between the two statements (released); then claim again once.
  if (!current[0]) return claimIteration(runner, options);
  return toResult(false, current[0]);
}

/** Releases a lease; with `holder`, only that holder's lease. Returns whether one was removed. */
export async function releaseIteration(
  runner: SqlRunner,
  options: { userId: string; iterationId: string; holder?: string | undefined },
): Promise<boolean> {
  const removed =
    options.holder === undefined
      ? await runner.query(
          'delete from claims where user_id = $1 and iteration_id = $2 returning 1 as removed',
          [options.userId, options.iterationId],
        )
      : await runner.query(
          'delete from claims where user_id = $1 and iteration_id = $2 and holder = $3 returning 1 as removed',
          [options.userId, options.iterationId, options.holder],
        );
  return removed.length > 0;
}

/** Releases every lease a holder has (graceful shutdown of a relay instance). */
export async function releaseAllHeldBy(
  runner: SqlRunner,
  options: { holder: string },
): Promise<number> {
  const removed = await runner.query(
    'delete from claims where holder = $1 returning 1 as removed',
    [options.holder],
  );
  return removed.length;
}

/**
 * The engine's Claims port for one user, on SQL. With `holder`, every lease is claimed and
 * released under it instead of the name the engine gives (the relay runner's instance id), so
 * each process holds its own leases (see relay-runner.ts).
 */
export function createSqlClaims(options: {
  db: SqlRunner;
  userId: string;
  now?: () => number;
  holder?: string;
}): Claims {
  const now = options.now ?? Date.now;
  const holderOf = (named: string) => options.holder ?? named;
  return {
    claim: (request) =>
      claimIteration(options.db, {
        userId: options.userId,
        ...request,
        holder: holderOf(request.holder),
        now: now(),
      }),
    async release(request) {
      await releaseIteration(options.db, {
        userId: options.userId,
        iterationId: request.iterationId,
        holder: holderOf(request.holder),
      });
    },
  };
}
