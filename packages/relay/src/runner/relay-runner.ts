/**
 * The relay takes the baton: every tick it takes due entries from the due index in batches and
 * runs the engine's tick for each user with due work, with the SQL store and claims. Which
 * missions it plans is decided by the engine's plans-here.ts. Ticks never overlap; one failing user never
 * stops a tick.
 *
 * Several processes share the work: a process holds at most `batchSize` due entries waiting
 * on or in a model call (twice the model concurrency by default) and takes more as the model is
 * done with them, each leased to it (`holder`) until the tick ends, so other instances take the
 * rest instead of waiting for one to finish everything.
 * `holder` is unique per process (instance id plus a random suffix): a process restarted with
 * the same INSTANCE_ID, or a twin started by mistake, never shares a lease or a claim with it.
 */
import {
  createEngine,
  createHlc,
  hostNodeId,
  type Ids,
  type LanguageModel,
  type TickReport,
} from '@baton/engine';
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { createSqlClaims, releaseAllHeldBy } from '../claims/sql-claims.ts';
import type { Database } from '../db/database.ts';
import { newUlid } from '../ids.ts';
import type { LiveHub } from '../live/live-hub.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { Notifier } from '../notify/notifier.ts';
import { releaseDue, takeDue, type DueEntry } from '../store/due-index.ts';
import type { SqlStore } from '../store/sql-store.ts';
import { instrumentModel } from './instrument-model.ts';
import { createLimiter } from './limit-concurrency.ts';
import { missionsToPlan, plansHere } from '@baton/engine';

export interface RelayRunnerOptions {
  db: Database;
  store: SqlStore;
  live: Pick<LiveHub, 'isCovered' | 'coveredUserIds'>;
  /** Undefined: the runner does not plan (it would only record `no_model` failures). */
  model: LanguageModel | undefined;
  /** Names this instance in iterations (`runner`) and HLC stamps; stable across restarts. */
  instanceId: string;
  /** Holds this process's claims and due leases; unique per process (see `processHolder`). */
  holder?: string;
  graceMs: number;
  /** Model calls in flight at most, across users. */
  concurrency: number;
  metrics: Metrics;
  logger: Logger;
  now?: () => number;
  ids?: Ids;
  /** Lease on a claimed iteration id and on taken due entries, in ms (default 5 minutes). */
  claimTtlMs?: number;
  /**
   * Due entries waiting on or in a model call at most; more are taken as the model is done with
   * half of them (default twice `concurrency`).
   */
  batchSize?: number;
  /** Told of runs planned for a user with no device connected (their webhook); never waited on. */
  notifier?: Pick<Notifier, 'runsPlanned'>;
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
  /** The holder of this process's claims and due leases. */
  readonly holder: string;
  /** Runs one tick now (waits for a running one first). */
  tick(): Promise<RunnerTickReport>;
  /** Ticks every `intervalMs` until `close()`. */
  start(options: { intervalMs: number }): void;
  /**
   * Stops ticking; waits up to `drainMs` for the tick in flight, then aborts it; releases the
   * claims this process holds.
   */
  close(options?: { drainMs?: number }): Promise<void>;
}

/**
 * A claim holder unique to this process: the instance id (at most 55 characters of it) and 8
 * random hex digits after a `-`, which instance ids cannot contain. Matches the engine's
 * `ClaimHolderSchema`.
 */
export function processHolder(instanceId: string): string {
  return `${instanceId.slice(0, 55)}-${randomBytes(4).toString('hex')}`;
}

export function createRelayRunner(options: RelayRunnerOptions): RelayRunner {
  const { db, store, metrics, logger, instanceId } = options;
  const holder = options.holder ?? processHolder(instanceId);
  const now = options.now ?? Date.now;
  const ids: Ids = options.ids ?? { ulid: newUlid };
  const limiter = createLimiter(options.concurrency);
  const model = options.model && instrumentModel({ model: options.model, limiter, metrics });
  const abort = new AbortController();
  // Every model call in flight listens on this one signal (32 at once is normal).
  setMaxListeners(0, abort.signal);
  const claimTtlMs = options.claimTtlMs ?? 5 * 60_000;
  // One clock per process, with a node id of its own (a twin with the same INSTANCE_ID never
  // issues this process's stamps); every write first passes the newest stamp of the user's log.
  const hlc = createHlc({ nodeId: hostNodeId({ deviceId: instanceId, hostId: holder }) });
  const batchSize = options.batchSize ?? 2 * options.concurrency;
  let running: Promise<RunnerTickReport> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let warnedNoModel = false;

  async function tickUser(options_: {
    userId: string;
    missionIds: Set<string>;
    covered: boolean;
    tickNow: number;
    report: RunnerTickReport;
    onMissionDone: (missionId: string) => void;
  }): Promise<void> {
    const { userId, missionIds, covered, tickNow, report } = options_;
    const engine = createEngine({
      store: store.forUser(userId),
      clock: { now },
      ids,
      model,
      claims: createSqlClaims({ db, userId, now, holder }),
      nodeId: instanceId,
      runner: { kind: 'relay', instanceId },
      hlc,
      claimTtlMs,
      // Done with the model once its plan is being written: more due work is taken while the
      // plans are written, and the model's calls go on meanwhile. Counted done only once
      // written, a batch with an instant model left the model idle while it was written (one
      // tick of 200 plans: about 70 ms of 550).
      onProgress: ({ missionId, phase }) => {
        if (phase === 'writing') options_.onMissionDone(missionId);
      },
    });
    const result: TickReport = await engine.tick({
      now: tickNow,
      signal: abort.signal,
      // Only this chunk's missions are read, not all the user's active ones for each chunk.
      missionIds,
      missionFilter: (mission, { since }) =>
        missionIds.has(mission.id) &&
        plansHere({ mission, since, covered, now: tickNow, graceMs: options.graceMs }),
      concurrency: options.concurrency,
      onMissionDone: options_.onMissionDone,
    });
    report.planned.push(...result.planned);
    if (!covered && result.planned.length > 0)
      options.notifier?.runsPlanned({
        userId,
        store: store.forUser(userId),
        iterationIds: result.planned,
      });
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

  /**
   * A batch's entries as units of work: per user, the missions this instance plans, in chunks
   * of at most the model concurrency (each chunk is one engine tick, which reads its missions
   * once). The tick counts each mission as done when the engine writes its plan or is done with
   * it (`onMissionDone`), so it takes more due work while the rest of a chunk still waits on the
   * model.
   */
  function chunksOf(entries: DueEntry[], tickNow: number) {
    const byUser = new Map<string, DueEntry[]>();
    for (const entry of entries)
      byUser.set(entry.userId, [...(byUser.get(entry.userId) ?? []), entry]);
    const chunkSize = options.concurrency;
    return [...byUser].flatMap(([userId, userEntries]) => {
      const covered = options.live.isCovered(userId);
      const missionIds = [
        ...missionsToPlan({
          entries: userEntries,
          covered,
          now: tickNow,
          graceMs: options.graceMs,
        }),
      ];
      return Array.from({ length: Math.ceil(missionIds.length / chunkSize) }, (_, index) => ({
        userId,
        covered,
        missionIds: new Set(missionIds.slice(index * chunkSize, (index + 1) * chunkSize)),
      }));
    });
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
        // The start banner says so already (main.ts); this is for logs read without it.
        logger.debug('no model configured (OPENAI_BASE_URL): the relay will not plan missions');
      warnedNoModel = true;
      return report;
    }
    metrics.ticks.inc();
    const stopTimer = metrics.tickDuration.startTimer();
    // Entries stay leased to this process until the tick ends, so a later take of the same
    // tick never takes one again (one a device claimed, say) and other instances skip them.
    const taken: DueEntry[] = [];
    const inFlight = new Set<Promise<void>>();
    const users = new Set<string>();
    // The loop below waits for a mission or a chunk to finish, whichever comes first.
    let finished = false;
    let wake: (() => void) | undefined;
    const finishing = () => {
      finished = true;
      wake?.();
    };
    try {
      const tickNow = now();
      const coveredUserIds = options.live.coveredUserIds();
      let planning = 0;
      let exhausted = false;
      while (!abort.signal.aborted) {
        // Take more once half of the missions in flight are done: the model stays busy, and no
        // instance holds more than `batchSize` entries it is not yet working on.
        if (!exhausted && planning <= batchSize / 2) {
          const limit = batchSize - planning;
          const batch = await takeDue(db, {
            now: tickNow,
            limit,
            holder,
            leaseMs: claimTtlMs,
            coveredUserIds,
            graceMs: options.graceMs,
          });
          taken.push(...batch);
          if (batch.length < limit) exhausted = true;
          for (const chunk of chunksOf(batch, tickNow)) {
            planning += chunk.missionIds.size;
            users.add(chunk.userId);
            // Each mission counts as planned from the moment the engine is done with it, so
            // the next due work is taken while the rest of its chunk still waits on the model.
            const unfinished = new Set(chunk.missionIds);
            const onMissionDone = (missionId: string) => {
              if (!unfinished.delete(missionId)) return;
              planning -= 1;
              finishing();
            };
            const work: Promise<void> = tickUser({ ...chunk, tickNow, report, onMissionDone })
              .catch((error: unknown) => {
                report.errors.push(`${chunk.userId}: ${(error as Error).message}`);
                logger.error({ err: error, userId: chunk.userId }, 'tick failed for a user');
              })
              .finally(() => {
                for (const missionId of [...unfinished]) onMissionDone(missionId);
                inFlight.delete(work);
                finishing();
              });
            inFlight.add(work);
          }
        }
        if (inFlight.size === 0) {
          if (exhausted) break;
          continue;
        }
        if (!finished) await new Promise<void>((resolve) => (wake = resolve));
        finished = false;
        wake = undefined;
      }
      report.users = users.size;
      return report;
    } finally {
      await Promise.allSettled([...inFlight]);
      await releaseTaken(taken);
      stopTimer();
    }
  }

  async function releaseTaken(taken: DueEntry[]): Promise<void> {
    if (taken.length === 0) return;
    await releaseDue(db, { holder, now: now() }).catch((error: unknown) =>
      logger.warn({ err: error }, 'could not release due entries'),
    );
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
    holder,
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
      const released = await releaseAllHeldBy(db, { holder, now: now() });
      if (released > 0) logger.info({ released }, 'released claims held by this process');
    },
  };
}
