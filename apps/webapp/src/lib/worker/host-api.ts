import {
  EngineError,
  readRows,
  type Actor,
  type Decision,
  type Engine,
  type MissionDraft,
  type TickReport,
} from '@baton/engine';
import { runNowGate } from '../run-now-gate.ts';
import type { BatonDatabase } from '../db/database.ts';
import { createApiCall, safely } from './api-call.ts';
import { createDataApi } from './data-api.ts';
import { dryRunPlanOf, replayViewOf } from './dry-run-plan.ts';
import type { DebugState, EngineApi, EngineStatus, RunNowOutcome } from './engine-api.ts';
import type { HostSettings } from './host-settings.ts';
import type { MetaStore } from './meta.ts';
import type { RelayTarget } from './relay-http.ts';
import { createSettingsApi } from './settings-api.ts';
import type { SyncClient } from './sync-client.ts';
import { createPushApi } from './push-api.ts';
import { createWebhookApi } from './webhook-api.ts';
import type { TickLoop } from './tick-loop.ts';

/** What the API object works with; the host owns all of it. */
export interface HostApiContext {
  db: BatonDatabase;
  deviceId: string;
  /** The page origin, the relay address when none is set. */
  origin: string;
  settings: HostSettings;
  target: () => RelayTarget;
  actor: Actor;
  engine: Engine;
  sync: SyncClient;
  meta: MetaStore;
  tickLoop: TickLoop;
  status: () => EngineStatus;
  announce: () => void;
  /** After a write: the leader pushes soon; a follower tells the leader to. */
  nudge: () => void;
  /** A tick and a sync round now, on the leader (a follower forwards it and returns). */
  poke: () => Promise<void>;
  networkChanged: (online: boolean) => void;
  settingsSaved: (changed: { connection: boolean }) => void;
}

/**
 * The EngineApi the pages call (except `hello`, answered by the worker entry): every input is
 * checked with `inputSchemas`, every failure comes back as data, and every call ends with a
 * nudge to sync and a status announcement.
 */
export function createHostApi(context: HostApiContext): Omit<EngineApi, 'hello'> {
  const { deviceId, actor, engine, sync, meta, tickLoop } = context;
  const { serial } = tickLoop;
  const call = createApiCall({
    after: () => {
      context.nudge();
      context.announce();
    },
  });

  /**
   * Where a mission may plan is the mission's rule (docs/decisions/0008), checked here too,
   * not only on the page: Run now, Dry run and Retry all plan on this device.
   */
  async function assertRunsHere(missionId: string): Promise<void> {
    const stored = await context.db.rows.get(['missions', missionId]);
    const [mission] = stored ? readRows('missions', [stored]) : [];
    if (!mission) return;
    const gate = runNowGate({
      runOn: mission.runOn,
      deviceModel: Boolean(context.settings.modelEndpoint),
    });
    if (!gate.ok)
      throw new EngineError(mission.runOn === 'relay' ? 'conflict' : 'no_model', gate.reason);
  }

  /** What came of planning one slot by hand, from the engine's report. */
  function runOutcome(iterationId: string, report: TickReport): RunNowOutcome {
    tickLoop.countPlanned(report.planned.length);
    const failure = report.failed.find((failed) => failed.iterationId === iterationId);
    return {
      iterationId,
      status: report.planned.includes(iterationId)
        ? 'planned'
        : failure
          ? 'failed'
          : report.claimedElsewhere.includes(iterationId)
            ? 'claimed_elsewhere'
            : 'unchanged',
      message: failure?.message ?? report.errors[0]?.message ?? null,
    };
  }

  return {
    createMission: (input) =>
      call('createMission', input, async ({ draft }) => ({
        id: await engine.createMission({ draft: draft as MissionDraft, actor }),
      })),
    updateMission: (input) =>
      call('updateMission', input, async ({ id, patch }) => {
        await engine.updateMission({ id, patch: patch as Partial<MissionDraft>, actor });
        return null;
      }),
    runNow: (input) =>
      call('runNow', input, async ({ missionId }) => {
        await assertRunsHere(missionId);
        const { iterationId, report } = await serial(() => engine.runNow({ missionId }));
        return runOutcome(iterationId, report);
      }),
    retryIteration: (input) =>
      call('retryIteration', input, async ({ iterationId }) => {
        const stored = await context.db.rows.get(['iterations', iterationId]);
        const missionId = stored?.fields.missionId;
        if (typeof missionId === 'string') await assertRunsHere(missionId);
        const { report } = await serial(() => engine.retryIteration({ iterationId }));
        return runOutcome(iterationId, report);
      }),
    dryRun: (input) =>
      call('dryRun', input, async ({ missionId }) => {
        await assertRunsHere(missionId);
        return dryRunPlanOf(await serial(() => engine.dryRun({ missionId })));
      }),
    replayIteration: (input) =>
      call('replayIteration', input, async ({ iterationId, model }) => {
        const stored = await context.db.rows.get(['iterations', iterationId]);
        const missionId = stored?.fields.missionId;
        if (typeof missionId === 'string') await assertRunsHere(missionId);
        const outcome = await serial(() =>
          engine.replayIteration({ iterationId, model: model || undefined }),
        );
        return replayViewOf(outcome);
      }),
    decide: (input) =>
      call('decide', input, async (request) => {
        const outcome = await engine.decide({
          proposalId: request.proposalId,
          verdict: request.verdict,
          ...(request.editedParams ? { editedParams: request.editedParams } : {}),
          ...(request.feedback ? { feedback: request.feedback } : {}),
          actor,
        });
        const decision = 'decision' in outcome ? (outcome.decision as Decision) : undefined;
        return decision
          ? {
              status: outcome.status,
              alreadyDecided: { verdict: decision.verdict, by: decision.by, at: decision.at },
            }
          : { status: outcome.status, alreadyDecided: null };
      }),
    revertIteration: (input) =>
      call('revertIteration', input, async ({ iterationId }) => {
        await engine.revertIteration({ iterationId, actor });
        return null;
      }),
    setFeedback: (input) =>
      call('setFeedback', input, async ({ iterationId, feedback }) => {
        await engine.setFeedback({ iterationId, feedback, actor });
        return null;
      }),
    saveRow: (input) =>
      call('saveRow', input, async ({ table, id, fields }) => ({
        id: await engine.saveRow({ table, ...(id ? { id } : {}), fields, actor }),
      })),
    deleteRow: (input) =>
      call('deleteRow', input, async ({ table, id }) => {
        await engine.deleteRow({ table, id, actor });
        return null;
      }),
    ...createSettingsApi({
      db: context.db,
      deviceId,
      origin: context.origin,
      settings: context.settings,
      target: context.target,
      call,
      saved: context.settingsSaved,
    }),
    ...createDataApi({ engine, settings: context.settings, call }),
    ...createWebhookApi({ origin: context.origin, target: context.target, call }),
    ...createPushApi({ target: context.target, call }),
    markSeen: (input) =>
      call('markSeen', input, async ({ at }) => {
        await meta.set('lastSeenAt', String(at));
        return null;
      }),
    networkChanged: (input) =>
      call('networkChanged', input, async ({ online }) => {
        context.networkChanged(online);
        return null;
      }),
    poke: () =>
      safely(async () => {
        await context.poke();
        return null;
      }),
    status: () => safely(() => context.status()),
    debugState: () =>
      safely((): DebugState => ({
        ...context.status(),
        cursor: sync.state.cursor,
        ticks: tickLoop.ticks,
        plannedByThisDevice: tickLoop.plannedByThisDevice,
        pushes: sync.state.pushes,
        pulls: sync.state.pulls,
        liveConnected: sync.state.liveConnected,
      })),
  };
}
