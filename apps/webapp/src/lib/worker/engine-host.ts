import { ulid } from 'ulid';
import { createEngine, createHlc, type Actor } from '@baton/engine';
import type { BatonDatabase } from '../db/database.ts';
import { createDexieStore } from '../db/dexie-store.ts';
import type { EngineApi, EngineStatus } from './engine-api.ts';
import { createHostApi } from './host-api.ts';
import { loadHostSettings } from './host-settings.ts';
import { createHostStatus } from './host-status.ts';
import { createMetaStore } from './meta.ts';
import { createOpenAiModel } from './openai-model.ts';
import { createRelayClaims } from './relay-claims.ts';
import type { RelayTarget } from './relay-http.ts';
import { createSyncClient } from './sync-client.ts';
import { createTickLoop } from './tick-loop.ts';

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

/**
 * The worker's composition root: Dexie store, engine, sync client, tick loop and the model,
 * exposed as the EngineApi (host-api.ts). Importing this module starts nothing;
 * `createEngineHost` does.
 */
export async function createEngineHost(options: HostOptions): Promise<EngineHost> {
  const { db } = options;
  const meta = createMetaStore(db);
  const { deviceId, settings, deviceNames } = await loadHostSettings({ db, meta });
  const actor: Actor = { kind: 'user', deviceId };
  const target = (): RelayTarget => ({
    url: settings.relayUrl || options.origin,
    token: settings.token,
  });
  const now = () => Date.now();
  let leader = false;
  let planning: EngineStatus['planning'] = null;

  // The HLC's last stamp survives restarts, so stamps never go backwards with the wall clock.
  const lastStamp = await meta.get('hlc');
  const hlc = createHlc({ nodeId: deviceId, ...(lastStamp ? { last: lastStamp } : {}) });
  const hostStatus = createHostStatus({
    deviceId,
    settings,
    relayUrl: () => target().url,
    host: options.host,
    sync: () => sync,
    isLeader: () => leader,
    planning: () => planning,
    lastTickAt: () => tickLoop.lastTickAt,
    hlc,
    meta,
    lastStamp,
    deviceNames,
  });
  const { announce } = hostStatus;

  const model = createOpenAiModel({
    settings: () => ({
      endpoint: settings.modelEndpoint,
      apiKey: settings.modelKey,
      model: settings.modelName,
    }),
    relay: target,
  });
  const engine = createEngine({
    hlc,
    store: createDexieStore(db),
    clock: { now },
    ids: { ulid: () => ulid() },
    model,
    claims: createRelayClaims({ target, now }),
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

  const tickLoop = createTickLoop({
    engine,
    now,
    isLeader: () => leader,
    onWork: () => sync.kick(),
    onTick: () => announce(),
  });

  const api = createHostApi({
    deviceId,
    origin: options.origin,
    settings,
    target,
    actor,
    engine,
    sync,
    meta,
    tickLoop,
    isLeader: () => leader,
    status: () => hostStatus.status(),
    announce,
  });

  return {
    api,
    setLeader(next) {
      if (next === leader) return;
      leader = next;
      tickLoop.stop();
      if (leader) {
        sync.start();
        tickLoop.start();
      } else {
        sync.close();
      }
      announce();
    },
    close() {
      tickLoop.stop();
      sync.close();
      hostStatus.close();
    },
  };
}
