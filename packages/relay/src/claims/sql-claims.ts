/**
 * Leases on iteration ids, per user, in the `claims` table: one row per iteration id, granted to
 * one holder at a time by the engine's claim rule (claim-rule.ts). A lease past its expiry can be
 * taken by anyone; the holder re-claiming extends it. Each claim is judged and written in one
 * transaction under the user's lock, so two instances racing for one id get one winner. A row
 * stays a day after its lease ends (released leases end at once) with the count of claims
 * granted on the id, which the budget reads; older rows go when the mission is next claimed.
 */
import {
  claimAnswer,
  decideClaimFromStore,
  missionIdOfIteration,
  type ClaimResult,
  type Claims,
} from '@baton/engine';
import { z } from 'zod';
import type { Database, SqlRunner } from '../db/database.ts';
import { userTransaction } from '../store/user-writes.ts';
import { rowReader } from '../store/rows-table.ts';

const LeaseRecordSchema = z.object({
  iteration_id: z.string(),
  holder: z.string(),
  expires_at: z.number(),
  grants: z.number().int().nonnegative(),
});

const dayMs = 24 * 3_600_000;

/**
 * Claims an iteration id for `holder` by the engine's claim rule (`decideClaimFromStore`):
 * another holder's live lease, a plan already written, or the mission's budget (counting the
 * live leases on its other slots) refuse it. Read and written in one transaction under the
 * user's lock, so two claims of one user (two slots of one mission, say) are judged one after
 * the other, never both against the same budget.
 */
export async function claimIteration(
  db: Database,
  options: {
    userId: string;
    iterationId: string;
    holder: string;
    ttlMs: number;
    now: number;
    /** The claiming runner's own clock, when it says it. */
    requesterNow?: number | undefined;
    /** A person's "Retry" of a failed iteration (the engine's `decideClaim`). */
    retry?: boolean | undefined;
  },
): Promise<ClaimResult> {
  const { userId, iterationId } = options;
  return userTransaction(db, userId, async (runner) => {
    const missionId = missionIdOfIteration(iterationId);
    const all = (
      await runner.query(
        `select iteration_id, holder, expires_at::float8 as expires_at, grants from claims
          where user_id = $1 and starts_with(iteration_id, $2)`,
        [userId, `${missionId}@`],
      )
    ).map((record) => {
      const parsed = LeaseRecordSchema.parse(record);
      return {
        iterationId: parsed.iteration_id,
        lease: { holder: parsed.holder, expiresAt: parsed.expires_at, grants: parsed.grants },
      };
    });
    // Rows whose lease ended over a day ago are no use to the budget any more: they go now
    // (a statement only when there are some).
    const staleBefore = options.now - dayMs;
    const stale = all.filter((entry) => entry.lease.expiresAt < staleBefore);
    if (stale.length > 0)
      await runner.query(
        'delete from claims where user_id = $1 and iteration_id = any($2::text[]) and expires_at < $3::bigint',
        [userId, stale.map((entry) => entry.iterationId), staleBefore],
      );
    const leases = all.filter((entry) => entry.lease.expiresAt >= staleBefore);
    const decision = await decideClaimFromStore({
      reader: rowReader(runner, userId),
      iterationId,
      holder: options.holder,
      ttlMs: options.ttlMs,
      now: options.now,
      requesterNow: options.requesterNow,
      retry: options.retry,
      current: leases.find((entry) => entry.iterationId === iterationId)?.lease,
      missionLeases: leases,
    });
    if (decision.granted) {
      await runner.query(
        `insert into claims (user_id, iteration_id, holder, expires_at, grants) values ($1, $2, $3, $4::bigint, $5)
         on conflict (user_id, iteration_id) do update
           set holder = excluded.holder, expires_at = excluded.expires_at, grants = excluded.grants`,
        [
          userId,
          iterationId,
          decision.lease.holder,
          decision.lease.expiresAt,
          decision.lease.grants ?? 1,
        ],
      );
    }
    return claimAnswer(decision);
  });
}

/**
 * Releases a live lease (it ends at `now`; the row and its grants stay for the budget); with
 * `holder`, only that holder's lease. Returns whether one was released.
 */
export async function releaseIteration(
  runner: SqlRunner,
  options: { userId: string; iterationId: string; holder?: string | undefined; now: number },
): Promise<boolean> {
  const released =
    options.holder === undefined
      ? await runner.query(
          `update claims set expires_at = $3::bigint
            where user_id = $1 and iteration_id = $2 and expires_at > $3::bigint returning 1 as released`,
          [options.userId, options.iterationId, options.now],
        )
      : await runner.query(
          `update claims set expires_at = $4::bigint
            where user_id = $1 and iteration_id = $2 and holder = $3 and expires_at > $4::bigint
            returning 1 as released`,
          [options.userId, options.iterationId, options.holder, options.now],
        );
  return released.length > 0;
}

/**
 * Releases the live leases one holder has for a user (its live connection ended and it did not
 * come back within the grace: a browser closed mid-plan). Returns the iteration ids released.
 */
export async function releaseUserHolder(
  runner: SqlRunner,
  options: { userId: string; holder: string; now: number },
): Promise<string[]> {
  const released = await runner.query(
    `update claims set expires_at = $3::bigint
      where user_id = $1 and holder = $2 and expires_at > $3::bigint returning iteration_id`,
    [options.userId, options.holder, options.now],
  );
  return released.map((row) => String(row.iteration_id));
}

/** Releases every live lease a holder has (graceful shutdown of a relay instance). */
export async function releaseAllHeldBy(
  runner: SqlRunner,
  options: { holder: string; now: number },
): Promise<number> {
  const released = await runner.query(
    `update claims set expires_at = $2::bigint where holder = $1 and expires_at > $2::bigint
     returning 1 as released`,
    [options.holder, options.now],
  );
  return released.length;
}

/**
 * The engine's Claims port for one user, on SQL. With `holder`, every lease is claimed and
 * released under it instead of the name the engine gives (the relay runner's instance id), so
 * each process holds its own leases (see relay-runner.ts).
 */
export function createSqlClaims(options: {
  db: Database;
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
        iterationId: request.iterationId,
        ttlMs: request.ttlMs,
        holder: holderOf(request.holder),
        now: now(),
      }),
    async release(request) {
      await releaseIteration(options.db, {
        userId: options.userId,
        iterationId: request.iterationId,
        holder: holderOf(request.holder),
        now: now(),
      });
    },
  };
}
