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
  unclaimed_rounds: z.number().int().nonnegative(),
});

const dayMs = 24 * 3_600_000;

/** What one mission's claims are judged on: its leases and a reader of its rows. */
interface MissionRead {
  leases: Array<{ iterationId: string; lease: Lease }>;
  reader: StoreReader;
}

const MissionReadRecordSchema = z.object({
  mission_id: z.string(),
  leases: z.array(LeaseRecordSchema),
  rows: z.array(z.unknown()),
});

/**
 * What claims read, in one statement under the user's lock, for each mission claimed: its
 * leases, the mission row, the iteration rows claimed and the mission's iterations (what
 * `decideClaimFromStore` asks for). A user's claims wait for each other, so every round trip
 * here is paid once per batch of claims in a row. Each reader answers those reads from what
 * was read, parsed like any stored row, and asks the database for anything else.
 */
async function readForClaims(
  runner: SqlRunner,
  options: { userId: string; iterationIdsByMission: Map<string, string[]> },
): Promise<Map<string, MissionRead>> {
  const { userId } = options;
  const missions = [...options.iterationIdsByMission].map(([mission, iterations]) => ({
    mission,
    iterations,
  }));
  // Each mission's reads are subqueries on its own values, answered by the indexes as a
  // single claim's were: claims by key, rows by key and `rows_with_mission`.
  const records = await runner.query(
    `select m.mission_id,
       (select coalesce(jsonb_agg(jsonb_build_object(
                 'iteration_id', iteration_id, 'holder', holder,
                 'expires_at', expires_at, 'grants', grants,
                 'unclaimed_rounds', unclaimed_rounds)), '[]'::jsonb)
          from claims where user_id = $1 and starts_with(iteration_id, m.mission_id || '@')) as leases,
       (select coalesce(jsonb_agg(jsonb_build_object(
                 'table_name', table_name, 'row_id', row_id, 'fields', fields, 'stamps', stamps)
                 order by table_name, row_id collate "C"), '[]'::jsonb)
          from (
            select table_name, row_id, fields, stamps from rows
             where user_id = $1 and table_name = 'missions' and row_id = m.mission_id
            union
            select table_name, row_id, fields, stamps from rows
             where user_id = $1 and table_name = 'iterations' and row_id = any(m.iteration_ids)
            union
            select table_name, row_id, fields, stamps from rows
             where user_id = $1 and table_name = 'iterations'
               and fields ->> 'missionId' = m.mission_id and fields -> 'missionId' = to_jsonb(m.mission_id)
          ) as read) as rows
     from (select value ->> 'mission' as mission_id,
                  array(select jsonb_array_elements_text(value -> 'iterations')) as iteration_ids
             from jsonb_array_elements($2::jsonb)) as m`,
    [userId, jsonParam(missions)],
  );
  const database = rowReader(runner, userId);
  const read = new Map<string, MissionRead>();
  for (const record of records) {
    const parsed = MissionReadRecordSchema.parse(record);
    const missionId = parsed.mission_id;
    const rows = parsed.rows.map(toStoredRow);
    const mission = rows.find((row) => row.table === 'missions');
    const iterations = new Map(
      rows.filter((row) => row.table === 'iterations').map((row) => [row.id, row]),
    );
    const ofMission = rows.filter(
      (row) => row.table === 'iterations' && row.fields.missionId === missionId,
    );
    const claimed = new Set(options.iterationIdsByMission.get(missionId));
    read.set(missionId, {
      leases: parsed.leases.map((lease) => ({
        iterationId: lease.iteration_id,
        lease: {
          holder: lease.holder,
          expiresAt: lease.expires_at,
          grants: lease.grants,
          ...(lease.unclaimed_rounds > 0 ? { unclaimedRounds: lease.unclaimed_rounds } : {}),
        },
      })),
      reader: {
        get: async (table, id) => {
          if (table === 'missions' && id === missionId) return mission;
          if (table === 'iterations' && claimed.has(id)) return iterations.get(id);
          return database.get(table, id);
        },
        getMany: (keys) => database.getMany(keys),
        list: async (table, filter) =>
          table === 'iterations' && filter?.field === 'missionId' && filter.equals === missionId
            ? ofMission
            : database.list(table, filter),
      },
    });
  }
  return read;
}

export interface ClaimRequest {
  userId: string;
  iterationId: string;
  holder: string;
  ttlMs: number;
  now: number;
  /** The claiming runner's own clock, when it says it. */
  requesterNow?: number | undefined;
  /** A person's "Retry" of a failed iteration (the engine's `decideClaim`). */
  retry?: boolean | undefined;
}

interface PendingClaim {
  request: ClaimRequest;
  resolve: (result: ClaimResult) => void;
  reject: (error: unknown) => void;
}

type ClaimOutcome = { ok: true; result: ClaimResult } | { ok: false; error: unknown };

/** Per database, each user's claims that wait for their turn in the user's writes. */
const waitingClaims = new WeakMap<Database, Map<string, PendingClaim[]>>();

/**
 * Claims an iteration id for `holder` by the engine's claim rule (`decideClaimFromStore`):
 * another holder's live lease, a plan already written, or the mission's budget (counting the
 * live leases on its other slots) refuse it. Read and written in one transaction under the
 * user's lock, so two claims of one user (two slots of one mission, say) are judged one after
 * the other, never both against the same budget.
 *
 * The claims of one user that arrive while an earlier one waits for its turn are judged with
 * it, in the order they came, in one transaction: one read for all and one write of the leases
 * granted, where each claim in turn was four statements in a row (its savepoint, read, write
 * and release). A relay planning many missions of one user claims them at once; one by one, the
 * next missions' claims waited behind them while the model had nothing to do. Each claim is
 * judged with the leases the ones before it were granted, as it would have been alone, and
 * every answer is given after the commit.
 */
export function claimIteration(db: Database, request: ClaimRequest): Promise<ClaimResult> {
  const { userId } = request;
  let waiting = waitingClaims.get(db);
  if (!waiting) waitingClaims.set(db, (waiting = new Map()));
  const byUser = waiting;
  return new Promise<ClaimResult>((resolve, reject) => {
    const pending: PendingClaim = { request, resolve, reject };
    const batch = byUser.get(userId);
    if (batch) {
      batch.push(pending);
      return;
    }
    const opened = [pending];
    byUser.set(userId, opened);
    userTransaction(
      db,
      userId,
      async (runner) => {
        // Claims arriving from now on wait for the next turn.
        if (byUser.get(userId) === opened) byUser.delete(userId);
        return judgeClaims(runner, userId, opened);
      },
      // A model call waits on each claim: they go ahead of the user's other writes waiting.
      { first: true },
    ).then(
      (outcomes) =>
        opened.forEach((claim, index) => {
          const outcome = outcomes[index] as ClaimOutcome;
          if (outcome.ok) claim.resolve(outcome.result);
          else claim.reject(outcome.error);
        }),
      (error: unknown) => {
        if (byUser.get(userId) === opened) byUser.delete(userId);
        for (const claim of opened) claim.reject(error);
      },
    );
  });
}

/** Judges a batch of one user's claims in order; a claim that throws fails alone. */
async function judgeClaims(
  runner: SqlRunner,
  userId: string,
  claims: PendingClaim[],
): Promise<ClaimOutcome[]> {
  const iterationIdsByMission = new Map<string, string[]>();
  for (const { request } of claims) {
    const missionId = missionIdOfIteration(request.iterationId);
    iterationIdsByMission.set(missionId, [
      ...(iterationIdsByMission.get(missionId) ?? []),
      request.iterationId,
    ]);
  }
  const read = await readForClaims(runner, { userId, iterationIdsByMission });
  // Each mission's leases as the claims before this one left them.
  const leasesByMission = new Map<string, Array<{ iterationId: string; lease: Lease }>>();
  const stale = new Set<string>();
  let staleBefore = Number.NEGATIVE_INFINITY;
  const granted = new Map<string, Lease>();
  const outcomes: ClaimOutcome[] = [];
  for (const { request } of claims) {
    try {
      const missionId = missionIdOfIteration(request.iterationId);
      const missionRead = read.get(missionId);
      if (!missionRead) throw new Error(`no claim read for ${missionId}`);
      // Rows whose lease ended over a day ago are no use to the budget any more: they go now
      // (a statement only when there are some).
      const before = request.now - dayMs;
      const all = leasesByMission.get(missionId) ?? missionRead.leases;
      const leases = all.filter((entry) => {
        if (entry.lease.expiresAt >= before) return true;
        stale.add(entry.iterationId);
        staleBefore = Math.max(staleBefore, before);
        return false;
      });
      const decision = await decideClaimFromStore({
        reader: missionRead.reader,
        iterationId: request.iterationId,
        holder: request.holder,
        ttlMs: request.ttlMs,
        now: request.now,
        requesterNow: request.requesterNow,
        retry: request.retry,
        current: leases.find((entry) => entry.iterationId === request.iterationId)?.lease,
        missionLeases: leases,
      });
      if (decision.granted) {
        const lease = { ...decision.lease, grants: decision.lease.grants ?? 1 };
        granted.set(request.iterationId, lease);
        leasesByMission.set(missionId, [
          ...leases.filter((entry) => entry.iterationId !== request.iterationId),
          { iterationId: request.iterationId, lease },
        ]);
      } else leasesByMission.set(missionId, leases);
      outcomes.push({ ok: true, result: claimAnswer(decision) });
    } catch (error) {
      outcomes.push({ ok: false, error });
    }
  }
  if (stale.size > 0)
    await runner.query(
      'delete from claims where user_id = $1 and iteration_id = any($2::text[]) and expires_at < $3::bigint',
      [userId, [...stale], staleBefore],
    );
  if (granted.size > 0)
    await runner.query(
      `insert into claims (user_id, iteration_id, holder, expires_at, grants, granted_at,
                           unclaimed_rounds)
       select $1, lease.iteration_id, lease.holder, lease.expires_at, lease.grants, lease.granted_at,
              lease.unclaimed_rounds
         from jsonb_to_recordset($2::jsonb)
           as lease(iteration_id text, holder text, expires_at bigint, grants integer,
                    granted_at bigint, unclaimed_rounds integer)
       on conflict (user_id, iteration_id) do update
         set holder = excluded.holder, expires_at = excluded.expires_at, grants = excluded.grants,
             granted_at = excluded.granted_at, unclaimed_rounds = excluded.unclaimed_rounds`,
      [
        userId,
        jsonParam(
          [...granted].map(([iterationId, lease]) => ({
            iteration_id: iterationId,
            holder: lease.holder,
            expires_at: lease.expiresAt,
            grants: lease.grants,
            granted_at: lease.grantedAt ?? null,
            unclaimed_rounds: lease.unclaimedRounds ?? 0,
          })),
        ),
      ],
    );
  return outcomes;
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
 * Releases the live leases one holder has for a user, granted before `endedAt` (its live
 * connection ended then, and it did not come back within the grace: a browser closed
 * mid-plan). A lease granted after it ended stays: the holder asked for it since, so it is
 * still there, planning without a live connection. Returns the iteration ids released.
 */
export async function releaseUserHolder(
  runner: SqlRunner,
  options: { userId: string; holder: string; now: number; endedAt: number },
): Promise<string[]> {
  const released = await runner.query(
    `update claims set expires_at = $3::bigint
      where user_id = $1 and holder = $2 and expires_at > $3::bigint
        and (granted_at is null or granted_at <= $4::bigint)
      returning iteration_id`,
    [options.userId, options.holder, options.now, options.endedAt],
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
