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
  type Lease,
  type StoreReader,
} from '@baton/engine';
import { z } from 'zod';
import { jsonParam, type Database, type SqlRunner } from '../db/database.ts';
import { userTransaction } from '../store/user-writes.ts';
import { rowReader, toStoredRow } from '../store/rows-table.ts';

const LeaseRecordSchema = z.object({
  iteration_id: z.string(),
  holder: z.string(),
  expires_at: z.number(),
  grants: z.number().int().nonnegative(),
});

const dayMs = 24 * 3_600_000;

/**
 * What a claim reads, in one statement under the user's lock: the mission's leases, the mission
 * row, the iteration row and the mission's iterations (what `decideClaimFromStore` asks for).
 * Each of a user's claims waits for the one before it, so every round trip here is paid once
 * per claim in a row: one instead of four. The reader answers those reads from what was read,
 * parsed like any stored row, and asks the database for anything else.
 */
async function readForClaim(
  runner: SqlRunner,
  options: { userId: string; iterationId: string; missionId: string },
): Promise<{ leases: Array<{ iterationId: string; lease: Lease }>; reader: StoreReader }> {
  const { userId, iterationId, missionId } = options;
  const [record] = await runner.query<{ leases: unknown; rows: unknown }>(
    `select
       (select coalesce(jsonb_agg(jsonb_build_object(
                 'iteration_id', iteration_id, 'holder', holder,
                 'expires_at', expires_at, 'grants', grants)), '[]'::jsonb)
          from claims where user_id = $1 and starts_with(iteration_id, $3)) as leases,
       (select coalesce(jsonb_agg(jsonb_build_object(
                 'table_name', table_name, 'row_id', row_id, 'fields', fields, 'stamps', stamps)
                 order by table_name, row_id collate "C"), '[]'::jsonb)
          from (
            select table_name, row_id, fields, stamps from rows
             where user_id = $1 and table_name = 'missions' and row_id = $2
            union
            select table_name, row_id, fields, stamps from rows
             where user_id = $1 and table_name = 'iterations' and row_id = $4
            union
            select table_name, row_id, fields, stamps from rows
             where user_id = $1 and table_name = 'iterations'
               and fields ->> 'missionId' = $2 and fields -> 'missionId' = $5::jsonb
          ) as read) as rows`,
    [userId, missionId, `${missionId}@`, iterationId, jsonParam(missionId)],
  );
  const leases = z
    .array(LeaseRecordSchema)
    .parse(record?.leases ?? [])
    .map((parsed) => ({
      iterationId: parsed.iteration_id,
      lease: { holder: parsed.holder, expiresAt: parsed.expires_at, grants: parsed.grants },
    }));
  const rows = z
    .array(z.unknown())
    .parse(record?.rows ?? [])
    .map(toStoredRow);
  const mission = rows.find((row) => row.table === 'missions');
  const iteration = rows.find((row) => row.table === 'iterations' && row.id === iterationId);
  const ofMission = rows.filter(
    (row) => row.table === 'iterations' && row.fields.missionId === missionId,
  );
  const database = rowReader(runner, userId);
  const reader: StoreReader = {
    get: async (table, id) => {
      if (table === 'missions' && id === missionId) return mission;
      if (table === 'iterations' && id === iterationId) return iteration;
      return database.get(table, id);
    },
    getMany: (keys) => database.getMany(keys),
    list: async (table, filter) =>
      table === 'iterations' && filter?.field === 'missionId' && filter.equals === missionId
        ? ofMission
        : database.list(table, filter),
  };
  return { leases, reader };
}

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
    const { leases: all, reader } = await readForClaim(runner, { userId, iterationId, missionId });
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
      reader,
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
