import type { Runner, Usage } from '../model/iteration.ts';
import { readField, readRow, readRows, type RowOf } from '../model/read-row.ts';
import type { CatchUp } from '../model/schedule.ts';
import type { Claims, Clock, Ids, LanguageModel, Store } from '../ports.ts';
import { dueSlots } from '../schedule/due.ts';
import { retryDue } from '../schedule/retry.ts';
import { scheduleSince } from '../schedule/since.ts';
import { iterationIdOf } from '../schedule/slots.ts';
import { hlcWallMs, type Hlc } from '../sync/hlc.ts';
import type { StoredRow } from '../sync/merge.ts';
import type { ToolRegistry } from '../tools/registry.ts';
import { budgetBlock } from './budget.ts';
import { commitEdits } from './commit.ts';
import { claimSlot, planMission, type PlanningProgress } from './plan-slot.ts';
import { skippedIteration, stagePlan } from './stage-plan.ts';
import { supersedeEdits } from './supersede.ts';

export interface TickReport {
  planned: string[];
  failed: { iterationId: string; message: string }[];
  skipped: string[];
  /** Iteration ids another runner holds a claim on. */
  claimedElsewhere: string[];
  /** Missions paused by their budget, with the reason. */
  paused: { missionId: string; reason: string }[];
  /** Missions that broke (the tick went on with the others). */
  errors: { missionId: string; message: string }[];
}

export interface RunnerDeps {
  store: Store;
  clock: Clock;
  ids: Ids;
  hlc: Hlc;
  model: LanguageModel | undefined;
  claims: Claims | undefined;
  tools: ToolRegistry;
  runner: Runner;
  nodeId: string;
  claimTtlMs: number;
  maxRounds: number | undefined;
  onProgress: ((progress: PlanningProgress) => void) | undefined;
}

/** Gives a claimed slot back (best effort: the lease expires anyway). */
async function releaseClaim(deps: RunnerDeps, iterationId: string): Promise<void> {
  const holder = deps.runner.kind === 'relay' ? deps.runner.instanceId : deps.runner.deviceId;
  await deps.claims?.release({ iterationId, holder }).catch(() => undefined);
}

/**
 * The time this runner's next stamp would carry (its clock, or its HLC where that ran ahead):
 * what a claim says of the runner's clock, since stamps are what the relay judges at push.
 */
function stampClock(deps: RunnerDeps): number {
  return Math.max(deps.clock.now(), hlcWallMs(deps.hlc.last()));
}

/** The most attempts an iteration row records (its schema's bound). */
const maxRecordedAttempts = 1_000;

export function emptyReport(): TickReport {
  return { planned: [], failed: [], skipped: [], claimedElsewhere: [], paused: [], errors: [] };
}

/** Does this runner plan this mission at all? `runOn: relay` stays on the relay, `device` on devices. */
export function runsHere(mission: RowOf<'missions'>, runner: Runner): boolean {
  return mission.runOn === 'any' || mission.runOn === runner.kind;
}

/** One slot to plan, and where to report what became of it. */
export interface PlanSlotOptions {
  mission: RowOf<'missions'>;
  slotMs: number;
  now: number;
  trigger: 'schedule' | 'manual';
  signal: AbortSignal;
  report: TickReport;
  /** The mission's iterations as the caller just read them (spares the budget a read). */
  iterations?: StoredRow[];
  /**
   * The person asked to plan this failed slot again ("Retry"): planned as the next attempt
   * whatever the automatic retry rule says, with a claim that says so.
   */
  retry?: boolean;
}

/**
 * Plans one slot: budget, claim, re-check, model, and one batch that writes the iteration and
 * its proposals (auto steps executed). Adds what happened to `report`. `now` is the time the
 * caller planned at: the budget is counted and the model told "now" as of it. A slot that
 * already has an iteration is planned only as a retry of a failure (`retryDue`), written as the
 * next attempt under the same iteration id.
 */
export async function planSlot(deps: RunnerDeps, options: PlanSlotOptions): Promise<string> {
  // Whatever happens (a store that throws, a crash of a tool), a host that was told a slot is
  // being planned is told when it no longer is, so no "planning…" stays on screen.
  let open: PlanningProgress | undefined;
  const tracked: RunnerDeps = {
    ...deps,
    onProgress: (progress) => {
      open = progress.phase === 'done' ? undefined : progress;
      deps.onProgress?.(progress);
    },
  };
  try {
    return await planSlotSteps(tracked, options);
  } finally {
    if (open) deps.onProgress?.({ ...open, phase: 'done' });
  }
}

async function planSlotSteps(deps: RunnerDeps, options: PlanSlotOptions): Promise<string> {
  const { mission, slotMs, report } = options;
  const { store } = deps;
  const iterationId = iterationIdOf(mission.id, slotMs);
  const iterations =
    options.iterations ??
    (await store.list('iterations', { field: 'missionId', equals: mission.id }));
  const block = budgetBlock({
    mission,
    // A retry is the run its failed attempt already counted, not one more.
    iterations,
    slot: iterationId,
    now: options.now,
  });
  if (block) {
    await pauseForBudget(deps, mission, block, report);
    return iterationId;
  }
  deps.onProgress?.({ missionId: mission.id, iterationId, phase: 'claiming' });
  const retry = options.retry === true;
  // The lease runs from about now, by this host's own clock (the relay's may differ).
  const claimedAt = deps.clock.now();
  const claim = await claimSlot(
    deps.claims,
    iterationId,
    deps.runner,
    deps.claimTtlMs,
    stampClock(deps),
    retry,
  );
  if (!claim.granted) {
    // The claims owner counts what this replica cannot see (other runners' leases and the
    // rounds they were granted): when it says the budget is spent, the mission pauses as it
    // would for a budget spent here.
    if (claim.refusal === 'budget')
      await pauseForBudget(deps, mission, claim.reason ?? 'the budget is used up.', report);
    // Refused for this runner's own clock, not because another runner plans the slot: said as
    // an error ("Run now" shows it), with the relay's reason.
    else if (claim.refusal === 'clock')
      report.errors.push({
        missionId: mission.id,
        message: `Not planned: ${claim.reason ?? "this runner's clock runs ahead of the relay's"}.`,
      });
    else report.claimedElsewhere.push(iterationId);
    deps.onProgress?.({ missionId: mission.id, iterationId, phase: 'done' });
    return iterationId;
  }
  // The person may have edited the schedule (or paused and resumed) since the tick read the
  // mission: a scheduled slot from before that edit is no longer one to plan. Another runner
  // may have planned it (or failed it again) and synced while we waited for the claim: a slot
  // that has an iteration is planned only as a retry that is due. Both rows are read at once.
  const checkSchedule = options.trigger === 'schedule' && !retry;
  const [current, existing] = checkSchedule
    ? await store.getMany([
        { table: 'missions', id: mission.id },
        { table: 'iterations', id: iterationId },
      ])
    : [undefined, await store.get('iterations', iterationId)];
  if (checkSchedule && current && slotMs <= scheduleSince(current)) {
    await releaseClaim(deps, iterationId);
    deps.onProgress?.({ missionId: mission.id, iterationId, phase: 'done' });
    return iterationId;
  }
  const attempt = nextAttempt({
    row: existing,
    catchUp: mission.catchUp,
    now: options.now,
    retry,
  });
  if (attempt === undefined) {
    deps.onProgress?.({ missionId: mission.id, iterationId, phase: 'done' });
    return iterationId;
  }
  deps.onProgress?.({ missionId: mission.id, iterationId, phase: 'planning' });
  // A run of several rounds can outlast one lease: the claim is renewed before each later round.
  // Before the first, only when half the lease is gone: the host froze or slept between the
  // claim and the call (a background tab, a closed lid), and its lease may have run out and
  // passed to another runner, which may have planned the slot meanwhile. If it passed to
  // another runner (ours expired), this run stops and writes nothing.
  const planning = new AbortController();
  const stopPlanning = () => planning.abort();
  options.signal.addEventListener('abort', stopPlanning, { once: true });
  // A host stopped while it waited for its claim (a frozen tab that woke demoted) was told
  // before the listener above existed: it must not call the model (found by the simulator,
  // seed 810713: the woken host paid for a conversation, gave the slot back, then planned it
  // again as the leader).
  if (options.signal.aborted) stopPlanning();
  let lostClaim = false;
  let budgetStop: string | undefined;
  // Rounds about to be made without the claims owner's grant (the relay out of reach): the row
  // says how many, so the owner does not take them for the rounds it granted (found by the
  // simulator, seed 821449: an offline device's failed rows won over the relay's billed
  // attempts of the same slots, and their rounds hid the relay's from the budget).
  let unclaimedRounds = 0;
  const renewClaim = async (round: number) => {
    if (round === 0 && deps.clock.now() - claimedAt < deps.claimTtlMs / 2) {
      if (claim.unclaimed === true) unclaimedRounds += 1;
      return;
    }
    const renewed = await claimSlot(
      deps.claims,
      iterationId,
      deps.runner,
      deps.claimTtlMs,
      stampClock(deps),
      retry,
    ).catch(
      () => undefined, // unreachable: keep planning on the lease we have
    );
    if (!renewed || renewed.unclaimed === true) unclaimedRounds += 1;
    if (renewed && !renewed.granted) {
      // Another round would pass the budget (other runs of the mission were let in meanwhile):
      // the run stops here and is written as failed, with the rounds it spent.
      if (renewed.refusal === 'budget') budgetStop = renewed.reason ?? 'the budget is used up.';
      else lostClaim = true;
      planning.abort();
    }
  };
  const planned = await planMission({
    store,
    clock: deps.clock,
    model: deps.model,
    tools: deps.tools,
    mission,
    slotMs,
    now: options.now,
    signal: planning.signal,
    maxRounds: deps.maxRounds,
    beforeRound: renewClaim,
    // Its history: the iterations the budget was counted on, read before the claim. The claim
    // guards this slot alone; `existing` above is this slot's row as of after it.
    iterations,
  }).finally(() => options.signal.removeEventListener('abort', stopPlanning));
  const result =
    budgetStop === undefined
      ? planned
      : {
          ...planned,
          status: 'failed' as const,
          plan: null,
          error: { code: 'budget', message: `Stopped before another model round: ${budgetStop}` },
        };
  if (lostClaim) {
    report.claimedElsewhere.push(iterationId);
    deps.onProgress?.({ missionId: mission.id, iterationId, phase: 'done' });
    return iterationId;
  }
  if (options.signal.aborted) {
    // The host is shutting down: write nothing and give the slot back, so another runner (or
    // this one after a restart) plans it instead of finding a failed iteration.
    await releaseClaim(deps, iterationId);
    deps.onProgress?.({ missionId: mission.id, iterationId, phase: 'done' });
    return iterationId;
  }
  deps.onProgress?.({ missionId: mission.id, iterationId, phase: 'writing' });
  await store.transaction(async (writer) => {
    const stamp = deps.hlc.tick(deps.clock.now());
    const edits = await stagePlan({
      writer,
      tools: deps.tools,
      mission,
      iterationId,
      slotIso: new Date(slotMs).toISOString(),
      trigger: options.trigger,
      runner: deps.runner,
      stamp,
      // The slot's usage counts every attempt: a retry's plan must not hide what the failed
      // attempts before it spent (the budget reads it).
      result: {
        ...result,
        usage: withUnclaimed(
          {
            ...result.usage,
            promptTokens: result.usage.promptTokens + attempt.spent.promptTokens,
            completionTokens: result.usage.completionTokens + attempt.spent.completionTokens,
            rounds: result.usage.rounds + attempt.spent.rounds,
          },
          Math.min(unclaimedRounds, result.usage.rounds) + attempt.spent.unclaimedRounds,
        ),
      },
      attempts: attempt.attempts,
    });
    await commitEdits({ writer, edits, stamp, ids: deps.ids, deviceId: deps.nodeId });
    // Another runner's plan of this slot may have been synced in while the model answered: if
    // it wins, the extra pending proposals of this plan are superseded in the same batch.
    const superseded = await supersedeEdits({ writer, iterationIds: [iterationId] });
    if (superseded.length > 0)
      await commitEdits({
        writer,
        edits: superseded,
        stamp: deps.hlc.tick(deps.clock.now()),
        ids: deps.ids,
        deviceId: deps.nodeId,
      });
  });
  deps.onProgress?.({ missionId: mission.id, iterationId, phase: 'done' });
  if (result.status === 'planned') report.planned.push(iterationId);
  else report.failed.push({ iterationId, message: result.error?.message ?? 'failed' });
  if (budgetStop !== undefined) await pauseForBudget(deps, mission, budgetStop, report);
  return iterationId;
}

/** Pauses a mission whose budget is spent, with the reason shown to the person. */
async function pauseForBudget(
  deps: RunnerDeps,
  mission: RowOf<'missions'>,
  reason: string,
  report: TickReport,
): Promise<void> {
  await deps.store.transaction((writer) =>
    commitEdits({
      writer,
      edits: [
        {
          table: 'missions',
          rowId: mission.id,
          fields: { state: 'paused', pausedReason: reason },
          actor: { kind: 'system', source: 'budget' },
        },
      ],
      stamp: deps.hlc.tick(deps.clock.now()),
      ids: deps.ids,
      deviceId: deps.nodeId,
    }),
  );
  report.paused.push({ missionId: mission.id, reason });
}

/**
 * Which attempt at a slot planning it now would be, and the tokens earlier attempts spent: 1
 * when it has no iteration, the failed iteration's `attempts + 1` when its retry is due
 * (`retryDue`) or the person asked for it (`retry`, a failed iteration only), undefined when
 * the slot is taken (planned, skipped, or failed and not to be retried now).
 */
function nextAttempt(options: {
  row: StoredRow | undefined;
  catchUp: CatchUp;
  now: number;
  retry: boolean;
}):
  | {
      attempts: number;
      spent: {
        promptTokens: number;
        completionTokens: number;
        rounds: number;
        unclaimedRounds: number;
      };
    }
  | undefined {
  const { row } = options;
  if (!row || row.fields._deleted === true)
    return {
      attempts: 1,
      spent: { promptTokens: 0, completionTokens: 0, rounds: 0, unclaimedRounds: 0 },
    };
  const read = readRow('iterations', row);
  if (!read.ok || read.row.status !== 'failed') return undefined;
  const asked = options.retry && read.row.attempts < maxRecordedAttempts;
  if (!asked && !retryDue({ iteration: read.row, catchUp: options.catchUp, now: options.now }))
    return undefined;
  return {
    attempts: read.row.attempts + 1,
    spent: {
      promptTokens: read.row.usage?.promptTokens ?? 0,
      completionTokens: read.row.usage?.completionTokens ?? 0,
      rounds: read.row.usage?.rounds ?? 0,
      unclaimedRounds: read.row.usage?.unclaimedRounds ?? 0,
    },
  };
}

/** A usage with its unclaimed rounds, said only when there are any. */
function withUnclaimed(usage: Usage, unclaimedRounds: number): Usage {
  const { unclaimedRounds: _, ...rest } = usage;
  return unclaimedRounds > 0 ? { ...rest, unclaimedRounds } : rest;
}

/**
 * Due slots of one mission: records missed ones as skipped, plans the rest, and plans again
 * failed slots whose retry is due. `since` is where its slots start (`scheduleSince`).
 */
async function tickMission(
  deps: RunnerDeps,
  mission: RowOf<'missions'>,
  since: number,
  now: number,
  signal: AbortSignal,
  report: TickReport,
): Promise<void> {
  const iterations = await deps.store.list('iterations', {
    field: 'missionId',
    equals: mission.id,
  });
  const failed = readRows(
    'iterations',
    iterations.filter((row) => row.fields.status === 'failed'),
  );
  const due = dueSlots({
    missionId: mission.id,
    schedule: mission.schedule,
    catchUp: mission.catchUp,
    since,
    now,
    existing: new Set(iterations.map((row) => row.id)),
    retry: new Set(
      failed
        .filter((iteration) => retryDue({ iteration, catchUp: mission.catchUp, now }))
        .map((iteration) => iteration.id),
    ),
  });
  if (due.skip.length > 0) {
    await deps.store.transaction(async (writer) => {
      const stamp = deps.hlc.tick(deps.clock.now());
      const edits = [];
      // An edit of the schedule (or a pause and resume) merged since the tick read the mission
      // moves where its slots start: no slot from before it is recorded.
      const current = await writer.get('missions', mission.id);
      const startsAfter = current ? Math.max(since, scheduleSince(current)) : since;
      for (const slot of due.skip) {
        const iterationId = iterationIdOf(mission.id, slot);
        if (slot <= startsAfter) continue;
        if (await writer.get('iterations', iterationId)) continue;
        edits.push(
          skippedIteration({
            mission,
            iterationId,
            slotIso: new Date(slot).toISOString(),
            runner: deps.runner,
            stamp,
          }),
        );
        report.skipped.push(iterationId);
      }
      await commitEdits({ writer, edits, stamp, ids: deps.ids, deviceId: deps.nodeId });
    });
  }
  for (const [index, slot] of due.plan.entries()) {
    if (signal.aborted) return;
    await planSlot(deps, {
      mission,
      slotMs: slot,
      now,
      trigger: 'schedule',
      signal,
      report,
      // Read just now, and nothing was written since unless skipped slots were (the budget
      // does not count those) or an earlier slot was planned.
      ...(index === 0 ? { iterations } : {}),
    });
    if (index === due.plan.length - 1) return;
    // The budget may have paused it (or the person, meanwhile): plan no further slots then.
    const fresh = await deps.store.get('missions', mission.id);
    if (readField('missions', fresh, 'state') !== 'active') return;
  }
}

/** Which missions a tick plans, told where each one's slots start (`scheduleSince`). */
export type MissionFilter = (mission: RowOf<'missions'>, context: { since: number }) => boolean;

/**
 * One tick: every active mission that runs here (and passes `missionFilter`) gets its due
 * slots planned, at most `concurrency` missions at once. One failing mission never stops it.
 */
export async function tick(
  deps: RunnerDeps,
  options: {
    now: number;
    signal: AbortSignal;
    missionFilter?: MissionFilter | undefined;
    /** Only these missions, read by id (a relay tick plans a few of a user's many). */
    missionIds?: ReadonlySet<string> | undefined;
    concurrency?: number | undefined;
    /**
     * Told once of each mission as the tick is done with it (and at once of each of
     * `missionIds` it does not run): a host that ticks many missions at once takes more due
     * work as they finish, not only when the slowest of them has.
     */
    onMissionDone?: ((missionId: string) => void) | undefined;
  },
): Promise<TickReport> {
  const report = emptyReport();
  const missions: { mission: RowOf<'missions'>; since: number }[] = [];
  const rows = options.missionIds
    ? (
        await deps.store.getMany([...options.missionIds].map((id) => ({ table: 'missions', id })))
      ).filter((row): row is StoredRow => row?.fields.state === 'active')
    : await deps.store.list('missions', { field: 'state', equals: 'active' });
  for (const row of rows) {
    if (row.fields._deleted === true) continue;
    const read = readRow('missions', row);
    if (read.ok) missions.push({ mission: read.row, since: scheduleSince(row) });
    else report.errors.push({ missionId: row.id, message: read.message });
  }
  const runnable = missions.filter(
    ({ mission, since }) =>
      mission.schedule.kind !== 'manual' &&
      runsHere(mission, deps.runner) &&
      (options.missionFilter?.(mission, { since }) ?? true),
  );
  // Once for each mission: as it is done, or at once for one of `missionIds` not run here.
  const told = new Set<string>();
  const done = (missionId: string) => {
    if (told.has(missionId)) return;
    told.add(missionId);
    options.onMissionDone?.(missionId);
  };
  const runs = new Set(runnable.map(({ mission }) => mission.id));
  for (const missionId of options.missionIds ?? []) if (!runs.has(missionId)) done(missionId);
  let next = 0;
  const worker = async () => {
    while (next < runnable.length && !options.signal.aborted) {
      const { mission, since } = runnable[next++]!;
      try {
        await tickMission(deps, mission, since, options.now, options.signal, report);
      } catch (error) {
        report.errors.push({ missionId: mission.id, message: (error as Error).message });
      } finally {
        done(mission.id);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 1) }, worker));
  // Those an abort left unstarted.
  for (const { mission } of runnable) done(mission.id);
  return report;
}
