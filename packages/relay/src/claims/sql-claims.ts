/**
 * Leases on iteration ids, per user, in the `claims` table: one row per iteration id, granted to
 * one holder at a time by the engine's claim rule (claim-rule.ts). A lease past its expiry can be
 * taken by anyone; the holder re-claiming extends it. Each claim is judged and written in one
 * transaction under the user's lock, so two instances racing for one id get one winner.
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
import { lockUser } from '../store/change-log.ts';
import { getRow, listRows } from '../store/rows-table.ts';

const LeaseRecordSchema = z.object({
  iteration_id: z.string(),
  holder: z.string(),
  expires_at: z.number(),
});

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
  },
): Promise<ClaimResult> {
  const { userId, iterationId } = options;
  return db.transaction(async (runner) => {
    await lockUser(runner, { userId, kind: db.kind });
    const missionId = missionIdOfIteration(iterationId);
    const leases = (
      await runner.query(
        `select iteration_id, holder, expires_at::float8 as expires_at from claims
          where user_id = $1 and starts_with(iteration_id, $2)`,
        [userId, `${missionId}@`],
      )
    ).map((record) => {
      const parsed = LeaseRecordSchema.parse(record);
      return {
        iterationId: parsed.iteration_id,
        lease: { holder: parsed.holder, expiresAt: parsed.expires_at },
      };
    });
    const decision = await decideClaimFromStore({
      reader: {
        get: (table, id) => getRow(runner, userId, table, id),
        list: (table, filter) => listRows(runner, userId, table, filter),
      },
      iterationId,
      holder: options.holder,
      ttlMs: options.ttlMs,
      now: options.now,
      requesterNow: options.requesterNow,
      current: leases.find((entry) => entry.iterationId === iterationId)?.lease,
      missionLeases: leases,
    });
    if (decision.granted) {
      await runner.query(
        `insert into claims (user_id, iteration_id, holder, expires_at) values ($1, $2, $3, $4::bigint)
         on conflict (user_id, iteration_id) do update set holder = excluded.holder, expires_at = excluded.expires_at`,
        [userId, iterationId, decision.lease.holder, decision.lease.expiresAt],
      );
    }
    return claimAnswer(decision);
  });
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
      });
    },
  };
}
