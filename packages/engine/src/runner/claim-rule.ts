/**
 * The rule that grants leases on iteration ids (design §2, "Claims"), pure so that every holder
 * of the claims table (the relay's SQL, the memory claims, the simulator's relay) applies the
 * same one.
 */
import type { ClaimResult, StoreReader } from '../ports.ts';
import type { RowOf } from '../model/read-row.ts';
import { readRow } from '../model/read-row.ts';
import { retryDue } from '../schedule/retry.ts';
import { maxDriftMs } from '../sync/hlc.ts';
import type { StoredRow } from '../sync/merge.ts';
import { budgetVerdict } from './budget.ts';

/** A lease on one iteration id. */
export interface Lease {
  holder: string;
  /** Epoch ms. */
  expiresAt: number;
  /**
   * How many claims on the iteration id were granted, renewals and earlier holders included:
   * one per model round a runner may have made (runners claim before each round). The owner
   * keeps it, and the lease, for a day after it expires or is released.
   */
  grants?: number;
  /**
   * Epoch ms of the owner's clock when the lease was last granted (renewals included). A lease
   * granted after its holder's live connection ended is not released with that connection: the
   * holder was heard from since.
   */
  grantedAt?: number;
  /**
   * Rounds the iteration's row recorded beyond every claim granted on the id, as of the last
   * grant: attempts made without a claim (the claims owner was out of reach, or its leases of
   * the id were gone). They paid for none of this lease's grants (see `decideClaimFromStore`).
   */
  unclaimedRounds?: number;
}

/** Why a claim was refused: another holder's live lease, a plan already written, the budget. */
export type ClaimRefusal = 'held' | 'planned' | 'budget' | 'clock';

export type ClaimDecision =
  | { granted: true; lease: Lease }
  | { granted: false; lease: Lease | undefined; refusal: ClaimRefusal; reason: string };

/**
 * Whether `holder` gets the lease on an iteration id at `now`. Refused while another holder's
 * lease lives; refused when the iteration already holds a plan (planned or skipped, or failed
 * where the retry rule does not call for another attempt), so a runner that was away stops and
 * pulls instead of paying for a second conversation; and a new lease is refused when another run
 * would pass the mission's budget, counting the other live leases on its slots as runs, so
 * budgets hold across every runner. A renewal by the holder (before another model round) is
 * refused when another round would pass the budget, counting the rounds granted to the runs in
 * flight. Otherwise granted for `ttlMs` (a renewal extends the lease).
 *
 * `iteration` is the iteration row as the claims' owner holds it; `mission` the mission row
 * with its `iterations` and `otherLeases` (live leases on its other slots). Without them only
 * the lease itself is judged.
 */
export function decideClaim(options: {
  current: Lease | undefined;
  holder: string;
  ttlMs: number;
  now: number;
  iteration?: StoredRow | undefined;
  mission?: {
    row: RowOf<'missions'>;
    iterations: readonly StoredRow[];
    /** Live leases on the mission's other slots with no plan yet: runs in flight. */
    otherLeases: number;
    /** The rounds each of those leases was granted (`Lease.grants`), when known. */
    otherLeaseRounds?: readonly number[];
    /** The day's expired leases on its other slots that never wrote a plan: runs spent. */
    abandoned?: number;
    /** The rounds each of those was granted, when known. */
    abandonedRounds?: readonly number[];
    /** Granted rounds on its slots that no iteration row records (see `Lease.grants`). */
    unrecordedRounds?: number;
    /** Live leases on its other slots retrying a failed attempt, not recorded yet. */
    retriesInFlight?: number;
  };
  /** The runner's own clock, when it says it. */
  requesterNow?: number | undefined;
  /** A person's "Retry" of a failed iteration: granted whatever the automatic retry rule says. */
  retry?: boolean | undefined;
}): ClaimDecision {
  const { current, holder, now } = options;
  // A runner whose clock runs far ahead could not push what it plans (its stamps would be
  // refused until the relay's clock got there): the slot is better left to another.
  if (options.requesterNow !== undefined && options.requesterNow > now + maxDriftMs)
    return {
      granted: false,
      lease: current && current.expiresAt > now ? current : undefined,
      refusal: 'clock',
      reason: `this runner's clock is ${Math.ceil((options.requesterNow - now) / 60_000)} minutes ahead of the relay's, which accepts ${maxDriftMs / 60_000} at most; check its date and time`,
    };
  const live = current && current.expiresAt > now ? current : undefined;
  if (live && live.holder !== holder)
    return { granted: false, lease: live, refusal: 'held', reason: `held by ${live.holder}` };
  const renewal = live !== undefined;
  // A renewal continues a run the rule already let in (a retry included); a plan written
  // meanwhile by someone else still stops it.
  const planned = plannedReason(
    options.iteration,
    options.mission?.row,
    now,
    renewal || options.retry === true,
  );
  if (planned) return { granted: false, lease: live, refusal: 'planned', reason: planned };
  if (options.mission) {
    // A renewal is judged as one more round of the run it continues, so runs admitted together
    // cannot each take more rounds than the budget has left (found by the simulator: seed
    // 598484 with the relay's pokes drawn otherwise; see decision 0005).
    const block = budgetVerdict({
      mission: options.mission.row,
      iterations: options.mission.iterations,
      ...(options.iteration ? { slot: options.iteration.id } : {}),
      now,
      renewal,
      inFlight: options.mission.otherLeases,
      abandoned: options.mission.abandoned ?? 0,
      ...(options.mission.otherLeaseRounds
        ? { inFlightRounds: options.mission.otherLeaseRounds }
        : {}),
      ...(options.mission.abandonedRounds
        ? { abandonedRounds: options.mission.abandonedRounds }
        : {}),
      unrecordedRounds: options.mission.unrecordedRounds ?? 0,
      retriesInFlight: options.mission.retriesInFlight ?? 0,
    });
    // A run in flight whose cost is unknown makes the next wait (as another holder's lease
    // would); a budget used up is refused as such, and the runner pauses the mission.
    if (block)
      return {
        granted: false,
        lease: undefined,
        refusal: block.kind === 'wait' ? 'held' : 'budget',
        reason: block.reason,
      };
  }
  const grants = current?.grants ?? 0;
  // Rounds the row holds that no claim paid for: those are not this id's granted rounds. A row
  // by an older version does not say which they were; beyond the grants, they cannot be claimed.
  const unclaimedRounds = Math.max(
    current?.unclaimedRounds ?? 0,
    recordedRounds(options.iteration) - grants,
  );
  return {
    granted: true,
    lease: {
      holder,
      expiresAt: now + options.ttlMs,
      grants: grants + 1,
      grantedAt: now,
      ...(unclaimedRounds > 0 ? { unclaimedRounds } : {}),
    },
  };
}

/**
 * Why an iteration needs no (more) planning, or undefined when it may be planned. A failed one
 * may be planned again when `anotherAttempt` (a renewal, or a person's retry) or when the retry
 * rule calls for it.
 */
function plannedReason(
  row: StoredRow | undefined,
  mission: RowOf<'missions'> | undefined,
  now: number,
  anotherAttempt: boolean,
): string | undefined {
  if (!row || row.fields._deleted === true) return undefined;
  const status = row.fields.status;
  if (status === 'planned' || status === 'skipped') return `the iteration is already ${status}`;
  if (status !== 'failed' || anotherAttempt) return undefined;
  const read = readRow('iterations', row);
  if (read.ok && mission && retryDue({ iteration: read.row, catchUp: mission.catchUp, now }))
    return undefined;
  return 'the iteration already failed and is not due for another attempt';
}

/** The model rounds an iteration row records (its attempts' calls), 0 for none or unreadable. */
function recordedRounds(row: StoredRow | undefined): number {
  return usageCount(row, 'rounds');
}

/**
 * Of those, the rounds the row says were made without a claim (`Usage.unclaimedRounds`): they
 * paid for none of the rounds the owner granted.
 */
function recordedUnclaimedRounds(row: StoredRow | undefined): number {
  return Math.min(usageCount(row, 'unclaimedRounds'), recordedRounds(row));
}

function usageCount(row: StoredRow | undefined, field: 'rounds' | 'unclaimedRounds'): number {
  if (!row || row.fields._deleted === true) return 0;
  const { usage } = row.fields;
  if (!usage || typeof usage !== 'object') return 0;
  const count = (usage as Record<string, unknown>)[field];
  return typeof count === 'number' && Number.isSafeInteger(count) ? Math.max(0, count) : 0;
}

/** The answer to a claim (what `Claims.claim` resolves with and the relay sends). */
export function claimAnswer(decision: ClaimDecision): ClaimResult {
  if (decision.granted)
    return { granted: true, holder: decision.lease.holder, expiresAt: decision.lease.expiresAt };
  return {
    granted: false,
    holder: decision.lease?.holder ?? '',
    expiresAt: decision.lease?.expiresAt ?? 0,
    refusal: decision.refusal,
    reason: decision.reason,
  };
}

/** The mission id of an iteration id (`missionId@slotIso`). */
export function missionIdOfIteration(iterationId: string): string {
  const at = iterationId.lastIndexOf('@');
  return at < 0 ? iterationId : iterationId.slice(0, at);
}

/**
 * `decideClaim` with what it needs read from the claims owner's store: the iteration row, the
 * mission with its iterations, and the leases of the last day on the mission's other slots that
 * have no iteration yet (runs granted, not written). The owner passes its leases of the mission.
 */
export async function decideClaimFromStore(options: {
  reader: StoreReader;
  iterationId: string;
  holder: string;
  ttlMs: number;
  now: number;
  current: Lease | undefined;
  requesterNow?: number | undefined;
  /** Leases on the mission's slots (expired ones may be included), by iteration id. */
  missionLeases: ReadonlyArray<{ iterationId: string; lease: Lease }>;
  /** A person's "Retry" of a failed iteration (see `decideClaim`). */
  retry?: boolean | undefined;
}): Promise<ClaimDecision> {
  const { reader, iterationId, now } = options;
  const iteration = await reader.get('iterations', iterationId);
  const missionRow = await reader.get('missions', missionIdOfIteration(iterationId));
  const read =
    missionRow && missionRow.fields._deleted !== true ? readRow('missions', missionRow) : undefined;
  let mission:
    | {
        row: RowOf<'missions'>;
        iterations: StoredRow[];
        otherLeases: number;
        otherLeaseRounds: number[];
        abandoned: number;
        abandonedRounds: number[];
        unrecordedRounds: number;
        retriesInFlight: number;
      }
    | undefined;
  if (read?.ok) {
    const iterations = await reader.list('iterations', { field: 'missionId', equals: read.row.id });
    // Runs the budget counts from their iteration rows (planned or failed).
    const written = new Set(
      iterations
        .filter((row) => row.fields.status === 'planned' || row.fields.status === 'failed')
        .map((row) => row.id),
    );
    // A lease whose run never wrote its plan (in flight, or its runner went away after the model
    // call, and the slot was skipped since) still spent: it counts for a day, as the run it may
    // have been.
    const unwritten = options.missionLeases.filter(
      (entry) =>
        entry.iterationId !== iterationId &&
        now - entry.lease.expiresAt < 24 * 3_600_000 &&
        !written.has(entry.iterationId),
    );
    const live = unwritten.filter((entry) => entry.lease.expiresAt > now);
    const roundsOf = (entries: typeof unwritten) =>
      entries.map((entry) => Math.max(1, entry.lease.grants ?? 1));
    // A runner cut off after its claim may have spent rounds that no row records (its failed
    // attempt lost to another's, or never arrived): the rounds granted on a slot beyond those
    // its row records are charged, so budgets hold for every runner the relay let in. Rounds
    // the row recorded without a claim (`Usage.unclaimedRounds`, or `Lease.unclaimedRounds` for
    // a row that does not say) pay for none of them. A live lease on another slot whose failed
    // row does not record all its grants yet is a retry in flight: its cost is unknown, so it is
    // charged as a run (seed 598484: retries of slots that had failed offline looked paid for
    // by their rows' rounds, and a budget was passed).
    const byId = new Map(iterations.map((row) => [row.id, row]));
    let unrecordedRounds = 0;
    let retriesInFlight = 0;
    for (const entry of options.missionLeases) {
      if (now - entry.lease.expiresAt >= 24 * 3_600_000) continue;
      if (entry.iterationId !== iterationId && !written.has(entry.iterationId)) continue;
      const row = byId.get(entry.iterationId);
      // The rounds the row made under claims: those it says were unclaimed do not count (a
      // device cut off from the relay failed the slots the relay attempted meanwhile, and its
      // rows won the merge: seed 821449), nor those beyond the grants as of the last grant.
      const recorded =
        row && written.has(row.id)
          ? Math.max(
              0,
              recordedRounds(row) -
                Math.max(entry.lease.unclaimedRounds ?? 0, recordedUnclaimedRounds(row)),
            )
          : 0;
      const unrecorded = Math.max(0, (entry.lease.grants ?? 0) - recorded);
      if (
        unrecorded > 0 &&
        entry.iterationId !== iterationId &&
        entry.lease.expiresAt > now &&
        row?.fields.status === 'failed'
      )
        retriesInFlight += 1;
      else unrecordedRounds += unrecorded;
    }
    mission = {
      row: read.row,
      iterations,
      otherLeases: live.length,
      otherLeaseRounds: roundsOf(live),
      abandoned: unwritten.length - live.length,
      abandonedRounds: roundsOf(unwritten.filter((entry) => entry.lease.expiresAt <= now)),
      unrecordedRounds,
      retriesInFlight,
    };
  }
  return decideClaim({
    current: options.current,
    holder: options.holder,
    ttlMs: options.ttlMs,
    now,
    iteration,
    requesterNow: options.requesterNow,
    retry: options.retry,
    ...(mission ? { mission } : {}),
  });
}
