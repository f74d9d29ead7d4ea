import {
  EngineError,
  type Actor,
  type Decision,
  type Engine,
  type MissionDraft,
} from '@baton/engine';
import type { z } from 'zod';
import { defaultDeviceName } from './device-name.ts';
import {
  inputSchemas,
  type DebugState,
  type EngineApi,
  type EngineStatus,
  type Result,
  type Settings,
} from './engine-api.ts';
import { errorData } from './error-data.ts';
import type { HostSettings, SettingKey } from './host-settings.ts';
import type { MetaStore } from './meta.ts';
import { relayFetch, type RelayTarget } from './relay-http.ts';
import type { SyncClient } from './sync-client.ts';
import type { TickLoop } from './tick-loop.ts';

/** What the API object works with; the host owns all of it. */
export interface HostApiContext {
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
  isLeader: () => boolean;
  status: () => EngineStatus;
  announce: () => void;
}

/**
 * The EngineApi the pages call: every input is checked with `inputSchemas`, every failure comes
 * back as data, and every call ends with a sync kick and a status announcement.
 */
export function createHostApi(context: HostApiContext): EngineApi {
  const { deviceId, settings, target, actor, engine, sync, meta, tickLoop, announce } = context;
  const { serial } = tickLoop;

  /** Validates the input, runs `fn`, and turns any failure into data. */
  async function call<K extends keyof typeof inputSchemas, T>(
    name: K,
    input: unknown,
    fn: (value: z.output<(typeof inputSchemas)[K]>) => Promise<T>,
  ): Promise<Result<T>> {
    const parsed = inputSchemas[name].safeParse(input);
    if (!parsed.success) return { ok: false, error: errorData(parsed.error) };
    try {
      const value = await fn(parsed.data as z.output<(typeof inputSchemas)[K]>);
      return { ok: true, value };
    } catch (error) {
      return { ok: false, error: errorData(error) };
    } finally {
      sync.kick();
      announce();
    }
  }

  async function setSetting(key: SettingKey, value: string | undefined) {
    await meta.set(key, value || undefined);
  }

  return {
    status: async () => context.status(),
    settings: async (): Promise<Settings> => ({
      deviceId,
      deviceName: settings.deviceName,
      relayUrl: target().url,
      signedIn: Boolean(settings.token),
      user: settings.user,
      modelEndpoint: settings.modelEndpoint ?? '',
      modelKeySet: Boolean(settings.modelKey),
      modelName: settings.modelName ?? '',
    }),
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
        const { iterationId, report } = await serial(() => engine.runNow({ missionId }));
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
      }),
    dryRun: (input) =>
      call('dryRun', input, async ({ missionId }) => {
        const result = await serial(() => engine.dryRun({ missionId }));
        return {
          status: result.status,
          summary: result.plan?.summary ?? '',
          steps: (result.plan?.steps ?? []).map((step) => ({
            tool: step.tool,
            params: step.params,
            rationale: step.rationale,
          })),
          dropped: (result.plan?.dropped ?? []).map((step) => ({
            tool: step.tool,
            reason: step.reason,
          })),
          error: result.error?.message ?? null,
          usage: {
            promptTokens: result.usage.promptTokens,
            completionTokens: result.usage.completionTokens,
            model: result.usage.model,
          },
        };
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
    signIn: (input) =>
      call('signIn', input, async ({ relayUrl, token }) => {
        const url = relayUrl.replace(/\/+$/, '') || context.origin;
        try {
          new URL(url);
        } catch {
          throw new EngineError('invalid', 'enter an address such as http://localhost:8787', {
            field: 'relayUrl',
          });
        }
        let body: unknown;
        try {
          ({ body } = await relayFetch({ url, token }, '/v1/me'));
        } catch (error) {
          if (error instanceof EngineError && error.kind === 'unauthorized') {
            throw new EngineError(
              'unauthorized',
              'The relay did not accept this token. Copy it again from the relay’s start output.',
              { field: 'token' },
            );
          }
          throw new EngineError(
            'unavailable',
            `Could not reach the relay at ${url}: ${(error as Error).message}`,
            { field: 'relayUrl' },
          );
        }
        const me = (body ?? {}) as {
          user?: { name?: string; id?: string } | string;
          name?: string;
          userId?: string;
        };
        const user =
          typeof me.user === 'string'
            ? me.user
            : (me.user?.name ?? me.user?.id ?? me.name ?? me.userId ?? 'signed in');
        if (token !== settings.token) await meta.set('cursor', undefined);
        settings.relayUrl = url === context.origin ? '' : url;
        settings.token = token;
        settings.user = user;
        await setSetting('relayUrl', settings.relayUrl);
        await setSetting('token', token);
        await setSetting('user', user);
        if (context.isLeader()) sync.start();
        return { user };
      }),
    signOut: async () => {
      settings.token = undefined;
      settings.user = null;
      await setSetting('token', undefined);
      await setSetting('user', undefined);
      if (context.isLeader()) sync.start();
      announce();
      return { ok: true, value: null };
    },
    saveDevice: (input) =>
      call('saveDevice', input, async ({ deviceName }) => {
        settings.deviceName = deviceName || defaultDeviceName();
        await setSetting('deviceName', deviceName);
        if (context.isLeader()) sync.start();
        return null;
      }),
    saveModel: (input) =>
      call('saveModel', input, async ({ endpoint, apiKey, model: modelName }) => {
        if (endpoint) {
          try {
            const parsed = new URL(endpoint);
            if (!/^https?:$/.test(parsed.protocol)) throw new Error('not http');
          } catch {
            throw new EngineError(
              'invalid',
              'enter an http(s) address, such as http://localhost:11434/v1',
              { field: 'endpoint' },
            );
          }
          if (!modelName)
            throw new EngineError('invalid', 'name the model to use at this endpoint', {
              field: 'model',
            });
        }
        settings.modelEndpoint = endpoint || undefined;
        settings.modelName = endpoint ? modelName : undefined;
        // An empty key field keeps the stored key unless the endpoint is cleared.
        if (!endpoint) settings.modelKey = undefined;
        else if (apiKey) settings.modelKey = apiKey;
        await setSetting('modelEndpoint', settings.modelEndpoint);
        await setSetting('modelName', settings.modelName);
        await setSetting('modelKey', settings.modelKey);
        return null;
      }),
    markSeen: (input) =>
      call('markSeen', input, async ({ at }) => {
        await meta.set('lastSeenAt', String(at));
        return null;
      }),
    poke: async () => {
      await Promise.all([
        tickLoop.runTick(),
        context.isLeader() ? sync.syncNow() : Promise.resolve(),
      ]);
    },
    debugState: async (): Promise<DebugState> => ({
      ...context.status(),
      cursor: sync.state.cursor,
      ticks: tickLoop.ticks,
      plannedByThisDevice: tickLoop.plannedByThisDevice,
      pushes: sync.state.pushes,
      pulls: sync.state.pulls,
      liveConnected: sync.state.liveConnected,
    }),
  };
}
