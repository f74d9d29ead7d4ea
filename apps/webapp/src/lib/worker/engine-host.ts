import { ulid } from 'ulid';
import {
  createEngine,
  createHlc,
  EngineError,
  type Actor,
  type Decision,
  type EngineErrorData,
  type MissionDraft,
} from '@baton/engine';
import type { z } from 'zod';
import type { BatonDatabase } from '../db/database.ts';
import { createDexieStore } from '../db/dexie-store.ts';
import {
  inputSchemas,
  statusChannelName,
  type DebugState,
  type EngineApi,
  type EngineStatus,
  type Result,
  type Settings,
} from './engine-api.ts';
import { createMetaStore, newDeviceId } from './meta.ts';
import { createOpenAiModel } from './openai-model.ts';
import { createRelayClaims } from './relay-claims.ts';
import { relayFetch, type RelayTarget } from './relay-http.ts';
import { createSyncClient } from './sync-client.ts';

const tickEveryMs = 5_000;

export interface HostOptions {
  db: BatonDatabase;
  /** The page origin: the relay serves the app, so it is the default relay address. */
  origin: string;
  host: 'shared' | 'dedicated';
}

export interface EngineHost {
  api: EngineApi;
  /** Starts or stops planning and sync (a dedicated worker does both only while it leads). */
  setLeader(leader: boolean): void;
  close(): void;
}

function errorData(error: unknown): EngineErrorData {
  if (error instanceof EngineError) return error.toJSON();
  const issues = (error as { issues?: Array<{ path: PropertyKey[]; message: string }> })?.issues;
  if (Array.isArray(issues)) {
    const issue = issues[0];
    const field = issue?.path.map(String).join('.') ?? '';
    return {
      kind: 'invalid',
      message: issue ? `${field ? `${field}: ` : ''}${issue.message}` : 'invalid input',
      ...(field ? { field } : {}),
    };
  }
  return { kind: 'internal', message: (error as Error)?.message ?? String(error) };
}

function defaultDeviceName(): string {
  const agent = typeof navigator === 'undefined' ? '' : navigator.userAgent;
  const browser = /Firefox\//.test(agent)
    ? 'Firefox'
    : /Edg\//.test(agent)
      ? 'Edge'
      : /Chrom(e|ium)\//.test(agent)
        ? 'Chromium'
        : /Safari\//.test(agent)
          ? 'Safari'
          : 'Browser';
  const system = /Android/.test(agent)
    ? 'Android'
    : /iPhone|iPad/.test(agent)
      ? 'iOS'
      : /Mac OS/.test(agent)
        ? 'macOS'
        : /Windows/.test(agent)
          ? 'Windows'
          : /Linux/.test(agent)
            ? 'Linux'
            : 'this system';
  return `${browser} on ${system}`;
}

/**
 * The worker's composition root: Dexie store, engine, sync client, tick loop and the model,
 * exposed as the EngineApi. Importing this module starts nothing; `createEngineHost` does.
 */
export async function createEngineHost(options: HostOptions): Promise<EngineHost> {
  const { db } = options;
  const meta = createMetaStore(db);
  // Get-or-create in one transaction: per-tab workers starting together agree on one id.
  const deviceId: string = await db.transaction('rw', db.meta, async () => {
    const existing = await db.meta.get('deviceId');
    if (typeof existing?.value === 'string') return existing.value;
    const created = newDeviceId();
    await db.meta.put({ key: 'deviceId', value: created });
    return created;
  });
  const settings = {
    deviceName: (await meta.get('deviceName')) ?? defaultDeviceName(),
    relayUrl: (await meta.get('relayUrl')) ?? '',
    token: await meta.get('token'),
    user: (await meta.get('user')) ?? null,
    modelEndpoint: await meta.get('modelEndpoint'),
    modelKey: await meta.get('modelKey'),
    modelName: await meta.get('modelName'),
  };
  const actor: Actor = { kind: 'user', deviceId };
  const target = (): RelayTarget => ({
    url: settings.relayUrl || options.origin,
    token: settings.token,
  });
  const now = () => Date.now();

  const store = createDexieStore(db);
  const model = createOpenAiModel({
    settings: () => ({
      endpoint: settings.modelEndpoint,
      apiKey: settings.modelKey,
      model: settings.modelName,
    }),
    relay: target,
  });
  const claims = createRelayClaims({ target, now });
  let planning: EngineStatus['planning'] = null;
  // The HLC's last stamp survives restarts, so stamps never go backwards with the wall clock.
  const lastStamp = await meta.get('hlc');
  const hlc = createHlc({ nodeId: deviceId, ...(lastStamp ? { last: lastStamp } : {}) });
  const engine = createEngine({
    hlc,
    store,
    clock: { now },
    ids: { ulid: () => ulid() },
    model,
    claims,
    nodeId: deviceId,
    runner: { kind: 'device', deviceId },
    onProgress: (progress) => {
      planning = progress.phase === 'done' ? null : { ...progress };
      announce();
    },
  });

  const sync = createSyncClient({
    db,
    meta,
    deviceId,
    deviceName: () => settings.deviceName,
    target,
    applyRemote: async (changes) => {
      const report = await engine.applyRemote(changes);
      if (report.refused.length > 0) console.warn('[baton] refused remote changes', report.refused);
      return report.applied;
    },
    onChange: () => announce(),
  });

  let leader = false;
  let ticks = 0;
  let lastTickAt: number | null = null;
  let plannedByThisDevice = 0;
  let tickTimer: ReturnType<typeof setInterval> | undefined;
  // One planning operation at a time: a tick, a run-now or a dry run.
  let planningQueue: Promise<unknown> = Promise.resolve();
  function serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = planningQueue.then(fn, fn);
    planningQueue = next.catch(() => undefined);
    return next;
  }

  async function runTick(): Promise<void> {
    if (!leader) return;
    await serial(async () => {
      const report = await engine.tick({ now: now() });
      ticks += 1;
      lastTickAt = now();
      plannedByThisDevice += report.planned.length;
      if (
        report.planned.length +
          report.failed.length +
          report.skipped.length +
          report.paused.length >
        0
      )
        sync.kick();
    }).catch((error: unknown) => {
      console.error('[baton] tick failed', error);
    });
    announce();
  }

  const channel =
    typeof BroadcastChannel === 'undefined' ? undefined : new BroadcastChannel(statusChannelName);
  let announceTimer: ReturnType<typeof setTimeout> | undefined;
  let savedStamp = lastStamp;
  function announce(): void {
    if (announceTimer !== undefined) return;
    announceTimer = setTimeout(() => {
      announceTimer = undefined;
      channel?.postMessage(status());
      const stamp = hlc.last();
      if (stamp !== savedStamp) {
        savedStamp = stamp;
        void meta.set('hlc', stamp);
      }
    }, 50);
  }

  function batonHolder(): string {
    const state = sync.state;
    if (!leader) return 'another tab of this browser';
    if (state.connection === 'signed_out') return 'this device (not signed in)';
    if (state.connection !== 'online' && !state.liveConnected)
      return 'this device (offline, plans without a claim)';
    const others = state.devices.filter((device) => device.deviceId !== deviceId).length;
    if (!state.liveConnected) return 'this device';
    return others > 0 ? `your devices (this one and ${others} more)` : 'this device';
  }

  function status(): EngineStatus {
    return {
      deviceId,
      deviceName: settings.deviceName,
      connection: sync.state.connection,
      relayUrl: target().url,
      outboxSize: sync.state.outboxSize,
      lastError: sync.state.lastError,
      devices: sync.state.devices,
      covered: sync.state.covered,
      baton: batonHolder(),
      planning,
      lastTickAt,
      host: options.host,
      leader,
    };
  }

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

  async function setSetting(
    key: 'relayUrl' | 'token' | 'user' | 'modelEndpoint' | 'modelKey' | 'modelName' | 'deviceName',
    value: string | undefined,
  ) {
    await meta.set(key, value || undefined);
  }

  const api: EngineApi = {
    status: async () => status(),
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
        plannedByThisDevice += report.planned.length;
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
        const url = relayUrl.replace(/\/+$/, '') || options.origin;
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
        settings.relayUrl = url === options.origin ? '' : url;
        settings.token = token;
        settings.user = user;
        await setSetting('relayUrl', settings.relayUrl);
        await setSetting('token', token);
        await setSetting('user', user);
        if (leader) sync.start();
        return { user };
      }),
    signOut: async () => {
      settings.token = undefined;
      settings.user = null;
      await setSetting('token', undefined);
      await setSetting('user', undefined);
      if (leader) sync.start();
      announce();
      return { ok: true, value: null };
    },
    saveDevice: (input) =>
      call('saveDevice', input, async ({ deviceName }) => {
        settings.deviceName = deviceName || defaultDeviceName();
        await setSetting('deviceName', deviceName);
        if (leader) sync.start();
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
      await Promise.all([runTick(), leader ? sync.syncNow() : Promise.resolve()]);
    },
    debugState: async (): Promise<DebugState> => ({
      ...status(),
      cursor: sync.state.cursor,
      ticks,
      plannedByThisDevice,
      pushes: sync.state.pushes,
      pulls: sync.state.pulls,
      liveConnected: sync.state.liveConnected,
    }),
  };

  return {
    api,
    setLeader(next) {
      if (next === leader) return;
      leader = next;
      clearInterval(tickTimer);
      if (leader) {
        sync.start();
        tickTimer = setInterval(() => void runTick(), tickEveryMs);
        void runTick();
      } else {
        sync.close();
      }
      announce();
    },
    close() {
      clearInterval(tickTimer);
      sync.close();
      channel?.close();
    },
  };
}
