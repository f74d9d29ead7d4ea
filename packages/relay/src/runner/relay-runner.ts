/**
 * The relay takes the baton: every tick it finds users with due missions through the due index
 * and runs the engine's tick for each, with SQL store and claims, holder = this instance.
 * A mission is planned here when it runs on the relay (`runOn: relay`), or it may run anywhere
 * and its user has no capable device connected, or its slot is overdue by more than `graceMs`
 * (a frozen tab must not starve it). Ticks never overlap; one failing user never stops a tick.
 */
import {
  createEngine,
  createHlc,
  slotsBetween,
  type Ids,
  type LanguageModel,
  type RowOf,
  type TickReport,
} from '@baton/engine';
import { setMaxListeners } from 'node:events';
import { ulid } from 'ulid';
import { createSqlClaims, releaseAllHeldBy } from '../claims/sql-claims.ts';
import type { Database } from '../db/database.ts';
import type { LiveHub } from '../live/live-hub.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { lastStampOf } from '../store/change-log.ts';
import { releaseDue, takeDue, type DueEntry } from '../store/due-index.ts';
import type { SqlStore } from '../store/sql-store.ts';
import { instrumentModel } from './instrument-model.ts';
import { createLimiter } from './limit-concurrency.ts';

export interface RelayRunnerOptions {
  db: Database;
  store: SqlStore;
  live: Pick<LiveHub, 'isCovered' | 'coveredUserIds'>;
  /** Undefined: the runner does not plan (it would only record `no_model` failures). */
  model: LanguageModel | undefined;
  instanceId: string;
  graceMs: number;
  /** Model calls in flight at most, across users. */
  concurrency: number;
  metrics: Metrics;
  logger: Logger;
  now?: () => number;
  ids?: Ids;
  claimTtlMs?: number;
  /** Due entries looked at per tick. */
  batchSize?: number;
}

export interface RunnerTickReport {
  users: number;
  planned: string[];
  failed: string[];
  skipped: string[];
  claimedElsewhere: string[];
  errors: string[];
}

export interface RelayRunner {
  /** Runs one tick now (waits for a running one first). */
  tick(): Promise<RunnerTickReport>;
  /** Ticks every `intervalMs` until `close()`. */
  start(options: { intervalMs: number }): void;
  /**
   * Stops ticking; waits up to `drainMs` for the tick in flight, then aborts it; releases the
   * claims this instance holds.
   */
  close(options?: { drainMs?: number }): Promise<void>;
}

/**
 * Candidates among one user's due entries: a cheap pre-filter on the index (its `nextSlotAt`
 * is the oldest unplanned slot, so "overdue" here is a superset of `plansHere`).
 */
export function missionsToPlan(options: {
  entries: DueEntry[];
  covered: boolean;
  now: number;
  graceMs: number;
}): Set<string> {
  return new Set(
    options.entries
      .filter(
        (entry) =>
          entry.runOn === 'relay' ||
          !options.covered ||
          options.now - entry.nextSlotAt > options.graceMs,
      )
      .map((entry) => entry.missionId),
  );
}

/**
 * Does this instance plan the mission now? Always for `runOn: relay`; for `any` when the user
 * is not covered, or when the newest slot due now is older than `graceMs` (the device that
 * should have planned it is frozen or stuck).
 */
export function plansHere(options: {
  mission: RowOf<'missions'>;
  covered: boolean;
  now: number;
  graceMs: number;
}): boolean {
  const { mission, now } = options;
  if (mission.runOn === 'relay' || !options.covered) return true;
  const [newest] = slotsBetween(mission.schedule, mission.createdAt - 1, now, 1);
  return newest !== undefined && now - newest > options.graceMs;
}

export function createRelayRunner(options: RelayRunnerOptions): RelayRunner {
  const { db, store, metrics, logger, instanceId } = options;
  const now = options.now ?? Date.now;
  const ids: Ids = options.ids ?? { ulid: () => ulid() };
  const limiter = createLimiter(options.concurrency);
  const model = options.model && instrumentModel({ model: options.model, limiter, metrics });
  const abort = new AbortController();
  // Every model call in flight listens on this one signal (32 at once is normal).
  setMaxListeners(0, abort.signal);
  // Due entries stay taken this long when an instance dies mid-tick; then another takes them.
  const leaseMs = options.claimTtlMs ?? 5 * 60_000;
  let running: Promise<RunnerTickReport> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let warnedNoModel = false;

  async function tickUser(
    userId: string,
    missionIds: Set<string>,
    covered: boolean,
    tickNow: number,
    report: RunnerTickReport,
  ): Promise<void> {
    const engine = createEngine({
      store: store.forUser(userId),
      clock: { now },
      ids,
      model,
      claims: createSqlClaims({ db, userId, now }),
      nodeId: instanceId,
      runner: { kind: 'relay', instanceId },
      hlc: createHlc({ nodeId: instanceId, ...withLast(await lastStampOf(db, userId)) }),
      ...(options.claimTtlMs === undefined ? {} : { claimTtlMs: options.claimTtlMs }),
    });
    const result: TickReport = await engine.tick({
      now: tickNow,
      signal: abort.signal,
      missionFilter: (mission) =>
        missionIds.has(mission.id) &&
        plansHere({ mission, covered, now: tickNow, graceMs: options.graceMs }),
      concurrency: options.concurrency,
    });
    report.planned.push(...result.planned);
    report.failed.push(...result.failed.map((failure) => failure.iterationId));
    report.skipped.push(...result.skipped);
    report.claimedElsewhere.push(...result.claimedElsewhere);
    report.errors.push(...result.errors.map((error) => `${error.missionId}: ${error.message}`));
    metrics.plans.inc({ outcome: 'planned' }, result.planned.length);
    metrics.plans.inc({ outcome: 'failed' }, result.failed.length);
    metrics.plans.inc({ outcome: 'skipped' }, result.skipped.length);
    metrics.plans.inc({ outcome: 'claimed_elsewhere' }, result.claimedElsewhere.length);
    metrics.claims.inc({ result: 'refused' }, result.claimedElsewhere.length);
    metrics.claims.inc({ result: 'granted' }, result.planned.length + result.failed.length);
    for (const paused of result.paused)
      logger.info(
        { userId, missionId: paused.missionId, reason: paused.reason },
        'mission paused by its budget',
      );
    for (const error of result.errors)
      logger.warn(
        { userId, missionId: error.missionId, message: error.message },
        'mission failed in tick',
      );
    if (result.planned.length + result.failed.length + result.skipped.length > 0) {
      logger.info(
        { userId, planned: result.planned, failed: result.failed, skipped: result.skipped.length },
        'relay planned',
      );
    }
  }

  async function runTick(): Promise<RunnerTickReport> {
    const report: RunnerTickReport = {
      users: 0,
      planned: [],
      failed: [],
      skipped: [],
      claimedElsewhere: [],
      errors: [],
    };
    if (!model) {
      if (!warnedNoModel)
        logger.warn('no model configured (OPENAI_BASE_URL): the relay will not plan missions');
      warnedNoModel = true;
      return report;
    }
    metrics.ticks.inc();
    const stopTimer = metrics.tickDuration.startTimer();
    try {
      const tickNow = now();
      const due = await takeDue(db, {
        now: tickNow,
        limit: options.batchSize ?? 1_000,
        instanceId,
        leaseMs: leaseMs,
        coveredUserIds: options.live.coveredUserIds(),
        graceMs: options.graceMs,
      });
      const byUser = new Map<string, DueEntry[]>();
      for (const entry of due)
        byUser.set(entry.userId, [...(byUser.get(entry.userId) ?? []), entry]);
      const work = [...byUser].flatMap(([userId, entries]) => {
        const covered = options.live.isCovered(userId);
        const missionIds = missionsToPlan({
          entries,
          covered,
          now: tickNow,
          graceMs: options.graceMs,
        });
        return [{ userId, missionIds, covered, taken: entries.map((entry) => entry.missionId) }];
      });
      report.users = work.filter((item) => item.missionIds.size > 0).length;
      let next = 0;
      const worker = async () => {
        while (next < work.length && !abort.signal.aborted) {
          const { userId, missionIds, covered, taken } = work[next++]!;
          try {
            if (missionIds.size > 0) await tickUser(userId, missionIds, covered, tickNow, report);
          } catch (error) {
            report.errors.push(`${userId}: ${(error as Error).message}`);
            logger.error({ err: error, userId }, 'tick failed for a user');
          } finally {
            await releaseDue(db, { userId, missionIds: taken, instanceId }).catch(
              (error: unknown) =>
                logger.warn({ err: error, userId }, 'could not release due entries'),
            );
          }
        }
      };
      await Promise.all(
        Array.from({ length: Math.min(options.concurrency, Math.max(1, work.length)) }, worker),
      );
      return report;
    } finally {
      stopTimer();
    }
  }

  function tick(): Promise<RunnerTickReport> {
    const previous = running ?? Promise.resolve(undefined);
    const current = previous.catch(() => undefined).then(runTick);
    running = current;
    void current
      .finally(() => {
        if (running === current) running = undefined;
      })
      .catch(() => undefined);
    return current;
  }

  return {
    tick,
    start({ intervalMs }) {
      const loop = async () => {
        if (closed) return;
        try {
          await tick();
        } catch (error) {
          logger.error({ err: error }, 'tick failed');
        }
        if (!closed) timer = setTimeout(loop, intervalMs);
      };
      timer = setTimeout(loop, 0);
    },
    async close({ drainMs = 10_000 } = {}) {
      closed = true;
      if (timer) clearTimeout(timer);
      const inFlight = running;
      if (inFlight) {
        let drainTimer: NodeJS.Timeout | undefined;
        const drained = await Promise.race([
          inFlight.then(
            () => true,
            () => true,
          ),
          new Promise<boolean>(
            (resolve) => (drainTimer = setTimeout(() => resolve(false), drainMs)),
          ),
        ]);
        clearTimeout(drainTimer);
        if (!drained) {
          abort.abort();
          await inFlight.catch(() => undefined);
        }
      }
      const released = await releaseAllHeldBy(db, { holder: instanceId });
      if (released > 0) logger.info({ released }, 'released claims held by this instance');
    },
  };
}

function withLast(last: string | undefined): { last?: string } {
  return last === undefined ? {} : { last };
}
